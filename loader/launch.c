// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Launch of every online CPU, all or nothing. CPUs are launched one after the other
 * with the caller holding cpus_read_lock, so the set of online CPUs cannot change
 * underneath. If any CPU fails, every CPU already in guest mode is returned to host
 * mode with VBH_HC_DEVIRT (allowed until VBH_HC_LAUNCH_SEAL, boot.h) before the
 * caller frees hypervisor memory: no half-virtualised machine.
 */
#include <linux/cpu.h>
#include <linux/module.h>
#include <linux/smp.h>

#include "loader.h"

struct vbh_launch_req {
	struct vbh_launcher *l;
	s64 status;
	bool guest;  /* VBH_HC_VERSION answered from guest mode afterwards */
};

static void vbh_launch_on_cpu(void *arg)
{
	struct vbh_launch_req *r = arg;
	unsigned int cpu = smp_processor_id();

	r->status = vbh_enter(r->l->launch, cpu);
	if (r->status != VBH_OK)
		return;
	/* Record the CPU before checking it, so a bad launch is still rolled back. */
	cpumask_set_cpu(cpu, &r->l->launched);
	r->guest = vbh_cpu_is_guest(NULL);
}

/* Called on the CPU itself, interrupts off (IPI or hotplug callback). */
int vbh_launch_this_cpu(struct vbh_launcher *l)
{
	struct vbh_launch_req r = { .l = l };
	unsigned int cpu = smp_processor_id();

	vbh_launch_on_cpu(&r);
	if (r.status != VBH_OK) {
		pr_err(VBH_PFX "CPU %u: launch failed: %s (%lld)\n", cpu,
		       vbh_status_name(r.status), r.status);
		return -EIO;
	}
	if (!r.guest) {
		pr_err(VBH_PFX "CPU %u: launch returned VBH_OK but the CPU is not in guest mode\n",
		       cpu);
		return -EIO;
	}
	return 0;
}

/* Fault injection for the rollback test (qemu-nested / docs/loader.md). */
static int inject_fail_cpu = -1;
module_param(inject_fail_cpu, int, 0444);
MODULE_PARM_DESC(inject_fail_cpu, "TEST: treat the launch of this CPU as failed (-1: off)");

static void vbh_launch_ipi(void *arg)
{
	int *err = arg;

	if (smp_processor_id() == inject_fail_cpu) {
		pr_err(VBH_PFX "CPU %d: launch failure injected (inject_fail_cpu)\n",
		       inject_fail_cpu);
		*err = -EIO;
		return;
	}
	*err = vbh_launch_this_cpu(&vbh_loader.launcher);
}

static void vbh_devirt_ipi(void *arg)
{
	struct vbh_hc *hc = arg;

	if (!vbh_hypercall(hc))
		hc->status = VBH_E_STATE; /* not in guest mode: nothing to undo */
}

/* Returns false if some CPU could not be returned to host mode. */
static bool vbh_rollback(struct vbh_launcher *l)
{
	unsigned int cpu;
	bool clean = true;

	for_each_cpu(cpu, &l->launched) {
		struct vbh_hc hc = { .call = VBH_HC_DEVIRT };

		if (smp_call_function_single(cpu, vbh_devirt_ipi, &hc, 1) || hc.status != VBH_OK) {
			pr_crit(VBH_PFX "CPU %u: DEVIRT failed: %s; it stays in guest mode\n",
				cpu, vbh_status_name(hc.status));
			clean = false;
			continue;
		}
		cpumask_clear_cpu(cpu, &l->launched);
		pr_info(VBH_PFX "CPU %u returned to host mode\n", cpu);
	}
	return clean;
}

/* 0: every online CPU is in guest mode. -EIO: none is (rolled back). -EBUSY: the
 * rollback itself failed and hypervisor memory must never be freed. */
/* Caller holds cpus_read_lock. */
int vbh_launch_all(struct vbh_launcher *l)
{
	unsigned int cpu;

	for_each_online_cpu(cpu) {
		int err = -EIO;
		int ipi = smp_call_function_single(cpu, vbh_launch_ipi, &err, 1);

		if (ipi || err) {
			pr_err(VBH_PFX "CPU %u could not be launched, rolling back %u CPU(s)\n",
			       cpu, cpumask_weight(&l->launched));
			return vbh_rollback(l) ? -EIO : -EBUSY;
		}
		pr_info(VBH_PFX "CPU %u deprivileged\n", cpu);
	}
	return 0;
}

int vbh_seal(struct vbh_launcher *l)
{
	struct vbh_hc hc = { .call = VBH_HC_LAUNCH_SEAL };
	int ok = vbh_hypercall(&hc);

	if (!ok || hc.status != VBH_OK) {
		pr_err(VBH_PFX "LAUNCH_SEAL failed: %s, rolling back\n",
		       ok ? vbh_status_name(hc.status) : "no hypervisor on this CPU");
		return vbh_rollback(l) ? -EIO : -EBUSY;
	}
	l->sealed = true;
	return 0;
}
