// SPDX-License-Identifier: GPL-2.0
/*
 * "nest_all PFN" (docs/containment.md, "Nested SVM"): every one-field change of a sane
 * VMCB12 that vbh must refuse, one VMRUN each through nest_one() (nested.c).
 */
#include <linux/kernel.h>
#include <asm/svm.h>
#include "attack.h"
#include "nested.h"

/*
 * The one-field changes a careful host never makes, each a VMRUN of its own, and the
 * check of VBH_VMCB12_ERRORS (vbh/svm/nested.hpp) that must refuse it. One command
 * for all of them: the suite pays one round trip, and the refusals appear in the
 * hypervisor's log in this order.
 */
static const struct nest_change {
	const char *name, *check;
	u8 c;
	u64 arg;
} nest_changes[] = {
	{ "icpt_vmrun", "vmrun_intercept", NC_ICPT, INTERCEPT_VMRUN },
	{ "icpt_intr", "icpt_intr", NC_ICPT, INTERCEPT_INTR },
	{ "icpt_nmi", "icpt_nmi", NC_ICPT, INTERCEPT_NMI },
	{ "icpt_shutdown", "icpt_shutdown", NC_ICPT, INTERCEPT_SHUTDOWN },
	{ "icpt_vmload", "icpt_vmload", NC_ICPT, INTERCEPT_VMLOAD },
	{ "icpt_vmsave", "icpt_vmsave", NC_ICPT, INTERCEPT_VMSAVE },
	{ "icpt_stgi", "icpt_stgi", NC_ICPT, INTERCEPT_STGI },
	{ "icpt_clgi", "icpt_clgi", NC_ICPT, INTERCEPT_CLGI },
	{ "icpt_skinit", "icpt_skinit", NC_ICPT, INTERCEPT_SKINIT },
	{ "icpt_invlpga", "icpt_invlpga", NC_ICPT, INTERCEPT_INVLPGA },
	{ "asid0", "asid_zero", NC_ASID, 0 },
	/* EVENTINJ: valid | type << 8 | vector (APM vol. 2 §15.20) */
	{ "event_type1", "event_type", NC_EVENT, SVM_EVTINJ_VALID | (1u << 8) | 32 },
	{ "event_reserved", "event_reserved", NC_EVENT, SVM_EVTINJ_VALID | (1u << 12) },
	{ "event_vector2", "event_vector", NC_EVENT, SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | 2 },
	{ "sev", "sev", NC_NPCTL, SVM_NESTED_CTL_SEV_ENABLE },
	{ "sev_es", "sev", NC_NPCTL, SVM_NESTED_CTL_SEV_ES_ENABLE },
	{ "avic", "avic", NC_INTCTL, AVIC_ENABLE_MASK },
	{ "lbr", "virt_ext", NC_VIRTEXT, LBR_CTL_ENABLE_MASK },
	{ "l2_vmrun_noicpt", "vmrun_intercept", NC_L2VMRUN, 0 },
};

/* "nest_all PFN": every nest_changes entry in order, one "change NAME check=CHECK
 * ... result=..." line each; the L2 (where one runs) reads PFN. */
int nest_all(int argc, const u64 *a)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(nest_changes); i++) {
		const struct nest_change *n = &nest_changes[i];

		out("change %s check=%s ", n->name, n->check);
		err = nest_one(n->c, n->arg, a[0]);
		if (err)
			return err;
	}
	return 0;
}

