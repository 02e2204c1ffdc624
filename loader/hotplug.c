// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * CPU hotplug. Every CPU is launched at insmod (main.c brings offline ones up for it),
 * and after the seal the hypervisor emulates INIT and SIPI for them: a CPU that Linux
 * takes offline waits in guest mode, and when Linux brings it online again its INIT
 * and SIPI start it at the trampoline *in guest mode* (docs/launch.md, "INIT and
 * SIPI"). The online callback (CPUHP_AP_ONLINE_DYN, run on that CPU before it is
 * marked active) only checks that: a CPU that comes online in host mode after the
 * seal got there some other way (a real INIT, e.g. a device's MSI), ran Linux code
 * outside the NPT, and is refused -- Linux takes it offline again. The hypervisor
 * refuses a launch after the seal, so the loader does not try.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>

#include "loader.h"

static int vbh_cpu_online(unsigned int cpu)
{
	struct vbh_loader *v = &vbh_loader;

	if (!v->launcher.sealed)
		return 0;
	if (vbh_cpu_is_guest(NULL)) {
		cpumask_set_cpu(cpu, &v->launcher.launched);
		pr_info(VBH_PFX "CPU %u online, still deprivileged\n", cpu);
		return 0;
	}
	cpumask_clear_cpu(cpu, &v->launcher.launched);
	pr_err(VBH_PFX "CPU %u came online outside guest mode after the seal: refusing it\n", cpu);
	return -EPERM;
}

/* Caller holds cpus_read_lock; no callbacks for CPUs that are online already. */
int vbh_hotplug_register(void)
{
	int state = cpuhp_setup_state_nocalls_cpuslocked(CPUHP_AP_ONLINE_DYN, "vbh:online",
							  vbh_cpu_online, NULL);

	if (state < 0) {
		pr_err(VBH_PFX "cannot register a CPU hotplug state (%d)\n", state);
		return state;
	}
	vbh_loader.cpuhp_state = state;
	return 0;
}

void vbh_hotplug_unregister(void)
{
	if (vbh_loader.cpuhp_state > 0)
		cpuhp_remove_state_nocalls_cpuslocked(vbh_loader.cpuhp_state);
	vbh_loader.cpuhp_state = 0;
}
