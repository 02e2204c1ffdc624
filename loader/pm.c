// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Suspend and hibernation are refused while the hypervisor runs. S3 resumes the boot
 * CPU through firmware in host mode, with the hypervisor's per-CPU state lost, and a
 * hibernation image would hold frames the host cannot read (they are outside its
 * NPT); neither has a safe path back into a sealed hypervisor. s2idle is refused too:
 * the notifier cannot tell the states apart before the prepare step.
 */
#include <linux/notifier.h>
#include <linux/suspend.h>

#include "loader.h"

static int vbh_pm_event(struct notifier_block *nb, unsigned long event, void *unused)
{
	if (vbh_loader.state != VBH_STATE_RUNNING)
		return NOTIFY_DONE;
	switch (event) {
	case PM_SUSPEND_PREPARE:
	case PM_HIBERNATION_PREPARE:
	case PM_RESTORE_PREPARE:
		pr_warn(VBH_PFX "suspend/hibernation refused: the hypervisor cannot survive it\n");
		return notifier_from_errno(-EBUSY);
	default:
		return NOTIFY_DONE;
	}
}

static struct notifier_block vbh_pm_nb = { .notifier_call = vbh_pm_event };
static bool vbh_pm_registered;

int vbh_pm_register(void)
{
	int err = register_pm_notifier(&vbh_pm_nb);

	if (err)
		pr_err(VBH_PFX "cannot register a PM notifier (%d)\n", err);
	vbh_pm_registered = !err;
	return err;
}

void vbh_pm_unregister(void)
{
	if (vbh_pm_registered)
		unregister_pm_notifier(&vbh_pm_nb);
	vbh_pm_registered = false;
}
