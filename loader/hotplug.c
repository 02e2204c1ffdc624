// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * CPU hotplug. A CPU that Linux brings (back) online after the seal starts in host
 * mode unless the hypervisor kept it in guest mode across INIT/SIPI. The online
 * callback (CPUHP_AP_ONLINE_DYN, run on that CPU by its hotplug thread before the
 * CPU is marked active for the scheduler) launches it.
 *
 * Window: from the INIT/SIPI that starts the CPU until this callback, the CPU runs
 * Linux code natively (its startup path, the earlier AP hotplug states, interrupt
 * handlers and per-CPU kthreads), outside the NPT. Only a native CPU can call into
 * hypervisor memory, which is exactly why launch works here after the seal: the
 * loader briefly restores the host mapping of hypervisor memory (same virtual
 * address as at init, the hypervisor runs position-dependent after init), calls
 * launch on this CPU, and hides the mapping again. CPUs already in guest mode cannot
 * reach those frames at any time: the NPT excludes them.
 *
 * If the launch fails the callback fails, and Linux takes the CPU offline again: no
 * CPU stays online in host mode.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/irqflags.h>

#include "loader.h"

static int vbh_cpu_online(unsigned int cpu)
{
	struct vbh_loader *v = &vbh_loader;
	unsigned long flags;
	int err;

	if (!v->launcher.sealed)
		return 0;
	/* The hypervisor may have kept this CPU in guest mode while it was offline. */
	if (vbh_cpu_is_guest(NULL)) {
		cpumask_set_cpu(cpu, &v->launcher.launched);
		pr_info(VBH_PFX "CPU %u online, still deprivileged\n", cpu);
		return 0;
	}
	cpumask_clear_cpu(cpu, &v->launcher.launched);
	vbh_hypmem_reveal(&v->mem);
	local_irq_save(flags);
	err = vbh_launch_this_cpu(&v->launcher);
	local_irq_restore(flags);
	if (vbh_hypmem_hide(&v->mem))
		pr_warn(VBH_PFX "CPU %u: hypervisor memory left mapped in the host page tables\n",
			cpu);
	if (err) {
		pr_err(VBH_PFX "CPU %u came online but cannot be deprivileged: refusing it\n",
		       cpu);
		return err;
	}
	pr_info(VBH_PFX "CPU %u online, deprivileged\n", cpu);
	return 0;
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
