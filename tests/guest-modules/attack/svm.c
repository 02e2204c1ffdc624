// SPDX-License-Identifier: GPL-2.0
/*
 * Attacks 7 and 8 of docs/containment.md: SVM control MSRs and SVM instructions from
 * the host kernel. Inside vbh they must be intercepted (VMRUN always is, APM vol. 2
 * §15.5.1; the others need their intercept bits) and refused or emulated. On a bare
 * kernel this module first sets EFER.SVME, as a host that wants SVM would, so each
 * harness shows what the instruction does when nobody stands in the way.
 */
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <asm/desc.h>
#include <asm/msr-index.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/svm.h>
#include <asm/tlbflush.h>
#include <vbh/stats.h>
#include "attack.h"
#include "probe.h"

bool svm_on(u64 *old_efer)
{
	if (probe_rdmsr(MSR_EFER, old_efer) != PROBE_OK)
		return false;
	if (*old_efer & EFER_SVME)
		return true;
	return probe_wrmsr(MSR_EFER, *old_efer | EFER_SVME) == PROBE_OK;
}

void svm_restore(u64 old_efer)
{
	if (!(old_efer & EFER_SVME))
		probe_wrmsr(MSR_EFER, old_efer);
}

/*
 * Write MSR, read it back, put the old value back: did the write land? exits= counts
 * the MSR-write exits of the write alone (interrupts are off around it): under vbh an
 * intercepted write may "land" in the host's shadow copy and never reach the CPU.
 */
static void msr_write_attack(u32 msr, u64 val)
{
	u64 old = 0, back = 0, e0;
	unsigned long flags;
	int rt, wt;

	local_irq_save(flags);
	rt = probe_rdmsr(msr, &old);
	e0 = exits_now(VBH_EXIT_MSR_WRITE);
	wt = probe_wrmsr(msr, val);
	out_exits(VBH_EXIT_MSR_WRITE, e0);
	probe_rdmsr(msr, &back);
	if (wt == PROBE_OK && rt == PROBE_OK && back != old)
		probe_wrmsr(msr, old);
	local_irq_restore(flags);
	out("msr=0x%x old=0x%llx wrote=0x%llx readback=0x%llx ", msr, old, val, back);
	if (wt != PROBE_OK)
		out("result=fault trap=%d\n", wt);
	else
		out("result=%s\n", back == val ? "landed" : "not_landed");
}

/* efer_clear: clearing SVME under a running hypervisor makes the next VMRUN of this
 * CPU fail its consistency checks (APM vol. 2 §15.5.1): the host would kill vbh. */
static int efer_clear(int argc, const u64 *a)
{
	u64 efer;
	unsigned long flags;

	local_irq_save(flags);
	if (!svm_on(&efer)) {
		local_irq_restore(flags);
		out("result=error reason=cannot_set_svme\n");
		return 0;
	}
	msr_write_attack(MSR_EFER, efer & ~EFER_SVME);
	probe_wrmsr(MSR_EFER, efer);	/* whatever happened, put EFER back */
	local_irq_restore(flags);
	return 0;
}

/* hsave_write PFN: point VM_HSAVE_PA at a frame; a later VMRUN would dump host state
 * into it (APM vol. 2 §15.30.4), a write primitive into protected memory. */
static int hsave_write(int argc, const u64 *a)
{
	msr_write_attack(MSR_VM_HSAVE_PA, PFN_PHYS(a[0]));
	return 0;
}

/* vmcr_write VAL: VM_CR.SVMDIS (bit 4) would pull SVM from under the hypervisor. */
static int vmcr_write(int argc, const u64 *a)
{
	msr_write_attack(MSR_VM_CR, a[0]);
	return 0;
}

static int msr_read(int argc, const u64 *a)
{
	u64 v = 0;
	int t = probe_rdmsr(a[0], &v);

	if (t == PROBE_OK)
		out("result=read value=0x%llx\n", v);
	else
		out("result=fault trap=%d\n", t);
	return 0;
}

static int msr_write(int argc, const u64 *a)
{
	msr_write_attack(a[0], a[1]);
	return 0;
}

void *svm_page(int i)
{
	static void *pages[SVM_PAGES];

	if (!pages[i])
		pages[i] = (void *)get_zeroed_page(GFP_KERNEL);
	return pages[i];
}

/* clgi: CLGI then STGI; a guest that may clear GIF can hold off the hypervisor's NMIs. */
static int clgi_attack(int argc, const u64 *a)
{
	unsigned long flags;
	u64 efer, e0;
	int t;

	local_irq_save(flags);
	svm_on(&efer);
	e0 = exits_now(VBH_EXIT_VIRT_INSN);
	t = probe_clgi();
	if (t == PROBE_OK)
		t = probe_stgi();
	out_exits(VBH_EXIT_VIRT_INSN, e0);
	svm_restore(efer);
	local_irq_restore(flags);
	if (t != PROBE_OK)
		out("result=fault trap=%d\n", t);
	else
		out("result=executed\n");
	return 0;
}

/* skinit PFN: never on real hardware (it would reinitialise the CPU into a secure
 * loader); only when CPUID says a hypervisor (QEMU, vbh) is underneath. */
static int skinit_attack(int argc, const u64 *a)
{
	unsigned long flags;
	u64 efer;
	int t;

	if (refuse_on_bare_metal())
		return 0;
	local_irq_save(flags);
	svm_on(&efer);
	t = probe_skinit(PFN_PHYS(a[0]));
	svm_restore(efer);
	local_irq_restore(flags);
	if (t != PROBE_OK)
		out("result=fault trap=%d\n", t);
	else
		out("result=executed\n");
	return 0;
}

const struct atk_cmd svm_cmds[] = {
	{ "efer_clear", 0, efer_clear, "" },
	{ "hsave_write", 1, hsave_write, "PFN" },
	{ "vmcr_write", 1, vmcr_write, "VAL" },
	{ "msr_read", 1, msr_read, "MSR" },
	{ "msr_write", 2, msr_write, "MSR VAL" },
	{ "vmload", 1, vmload_attack, "PFN" },	/* vmload.c */
	{ "vmload_byhand", 1, vmload_byhand, "PFN" },
	{ "vmsave", 1, vmsave_attack, "PFN" },
	{ "clgi", 0, clgi_attack, "" },
	{ "skinit", 1, skinit_attack, "PFN" },
	{ "vmrun", 1, vmrun_attack, "PFN" },
	{ "vmsave_roundtrip", 0, vmsave_roundtrip, "" },	/* vmload.c */
	{ }
};
