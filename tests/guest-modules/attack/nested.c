// SPDX-License-Identifier: GPL-2.0
/*
 * Nested SVM attacks, one VMRUN each (docs/containment.md, "Nested SVM"; issue 12
 * point 6). "nest CASE ARG PFN" builds a sane VMCB12 (nest_craft), changes the one
 * thing CASE names, runs VMRUN on this CPU and prints what came back. The L2 reads a
 * word through the host's page tables (the direct map), so whatever maps it (vbh's host
 * NPT with nested paging off, the attacker's nested tables with it on) decides what it
 * sees. On a bare kernel the same command proves each harness: the L2 reads the word,
 * the CPU uses the placed map or save area, or the CPU itself refuses the VMCB.
 *
 * The L2 has its own IDT (every vector ends in VMMCALL, nested_stub.S): vbh answers
 * a blocked nested access with #GP injected into the L2, and injected events are not
 * intercepted (APM vol. 2 §15.20), so without it the host's #GP handler would run in
 * guest context.
 */
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <asm/desc.h>
#include <asm/msr-index.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <vbh/stats.h>
#include "attack.h"
#include "nested.h"
#include "probe.h"

#define BIT32(n) (1u << ((n) % 32))
/* Nested page table entry bits: present, writable, user (NPT walks are user
 * accesses, APM vol. 2 §15.25.5), and PS for a 1 GiB leaf in the PDPT. */
#define NPT_PWU 0x7ull
#define NPT_PS (1ull << 7)


enum { NP_IDT, NP_PML4, NP_PDPT, NP_PAGES };

static void *nest_page(int i)
{
	static void *pages[NP_PAGES];

	if (!pages[i])
		pages[i] = (void *)get_zeroed_page(GFP_KERNEL);
	return pages[i];
}

/* 256 interrupt gates (type 0xe, present, DPL 0) to the fault stub, 16 bytes each. */
static void idt_fill(u64 *idt)
{
	u64 f = (u64)vbh_attack_l2_fault;
	int i;

	for (i = 0; i < 256; i++) {
		idt[2 * i] = (f & 0xffff) | ((u64)__KERNEL_CS << 16) | (0x8e00ull << 32) |
			     (((f >> 16) & 0xffff) << 48);
		idt[2 * i + 1] = f >> 32;
	}
}

void nest_craft(struct vmcb *v, void *stub)
{
	struct desc_ptr idt = { .size = 256 * 16 - 1, .address = (unsigned long)nest_page(NP_IDT) };
	u32 *w = v->control.intercepts;

	memset(v, 0, sizeof(*v));
	w[INTERCEPT_EXCEPTION_OFFSET / 32] = ~0u;
	w[INTERCEPT_INTR / 32] = BIT32(INTERCEPT_INTR) | BIT32(INTERCEPT_NMI) |
				 BIT32(INTERCEPT_SHUTDOWN) | BIT32(INTERCEPT_HLT) |
				 BIT32(INTERCEPT_INVLPGA);
	w[INTERCEPT_VMRUN / 32] = BIT32(INTERCEPT_VMRUN) | BIT32(INTERCEPT_VMMCALL) |
				  BIT32(INTERCEPT_VMLOAD) | BIT32(INTERCEPT_VMSAVE) |
				  BIT32(INTERCEPT_STGI) | BIT32(INTERCEPT_CLGI) |
				  BIT32(INTERCEPT_SKINIT);
	v->control.asid = 1;
	v->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;

	vmcb_l2_save(v, stub, &idt);
	v->save.efer |= EFER_SVME; /* VMRUN requires it of the guest (APM vol. 2 §15.5.1) */
}

void nest_vmrun(struct vmcb *v, u64 vmcb_pa, u64 hsave_pa, const void *rbx, struct nest_out *o)
{
	u64 old_hsave = 0;
	int t_hsave, tries = 0;
	bool faulted = false;

	memset(o, 0, sizeof(*o));
	probe_rdmsr(MSR_VM_HSAVE_PA, &old_hsave);
	t_hsave = probe_wrmsr(MSR_VM_HSAVE_PA, hsave_pa);
	do {
		unsigned long ax = vmcb_pa, cx = 0, flt;

		asm volatile(PROBE_BEGIN "vmrun %%rax" PROBE_END
			     : [flt] "=&r"(flt), "+a"(ax), "+c"(cx)
			     : "b"(rbx) : "memory");
		if (flt) {
			faulted = true;
			o->trap = (int)ax;
			break;
		}
		probe_stgi(); /* #VMEXIT left GIF = 0 (APM vol. 2 §15.6) */
		o->word = cx;
		o->exit = v->control.exit_code;
	} while ((o->exit == SVM_EXIT_INTR || o->exit == SVM_EXIT_NMI) && ++tries < 100);
	if (t_hsave == PROBE_OK)
		probe_wrmsr(MSR_VM_HSAVE_PA, old_hsave);
	if (faulted) {
		o->res = NEST_FAULT;
		return;
	}
	o->info1 = v->control.exit_info_1;
	o->info2 = v->control.exit_info_2;
	if ((u32)o->exit == (u32)SVM_EXIT_ERR)
		o->res = NEST_INVALID;
	else if (o->exit != SVM_EXIT_VMMCALL)
		o->res = NEST_EXITED;
	else
		o->res = o->word == NEST_FAULT_MARK ? NEST_FAULTED : NEST_RAN;
}

void nest_out_print(const struct nest_out *o)
{
	switch (o->res) {
	case NEST_FAULT: out("result=fault trap=%d\n", o->trap); break;
	case NEST_RAN: out("result=ran word=0x%llx\n", o->word); break;
	case NEST_FAULTED: out("result=faulted exit=0x%llx\n", o->exit); break;
	case NEST_INVALID: out("result=invalid exit=0x%llx\n", o->exit); break;
	case NEST_EXITED:
		out("result=exited exit=0x%llx info1=0x%llx info2=0x%llx\n", o->exit, o->info1,
		    o->info2);
		break;
	}
}

u64 nest_l2_entries(void)
{
	struct vbh_cpu_stats *s = reply();
	struct hc_ret r;

	if (!s)
		return ~0ull;
	r = hc(VBH_HC_STATS_READ, raw_smp_processor_id(), page_to_pfn(virt_to_page(s)), 0, 0);
	if (r.trap != PROBE_OK || r.status != VBH_OK)
		return ~0ull;
	return s->l2_entries;
}

/* Identity nested tables for the first 512 GiB: one PML4 entry, 512 1 GiB leaves. */
static u64 npt_identity(void)
{
	u64 *pml4 = nest_page(NP_PML4), *pdpt = nest_page(NP_PDPT);
	int i;

	for (i = 0; i < 512; i++)
		pdpt[i] = ((u64)i << 30) | NPT_PWU | NPT_PS;
	pml4[0] = __pa(pdpt) | NPT_PWU;
	return __pa(pml4);
}

/* FNV-1a of a frame through the direct map, or 0 if the host cannot read it. */
static u64 frame_hash(u64 pfn)
{
	u8 *buf = svm_page(SVM_SCRATCH);

	if (!page_is_ram(pfn) || read_frame(phys_to_virt(PFN_PHYS(pfn)), buf) != PROBE_OK)
		return 0;
	return fnv1a64(FNV1A64_INIT, buf, PAGE_SIZE);
}

/* Copy a page into host RAM frame pfn; false if the host cannot write it. */
static bool frame_copy(u64 pfn, const void *page)
{
	const u64 *from = page;
	u64 *to = phys_to_virt(PFN_PHYS(pfn));
	unsigned int i;

	if (!page_is_ram(pfn))
		return false;
	for (i = 0; i < PAGE_SIZE / 8; i++)
		if (probe_write64(to + i, from[i]) != PROBE_OK)
			return false;
	return true;
}

/*
 * VMLOAD or VMSAVE on any physical address, even one the host has no mapping for
 * (vmload.c needs the frame readable to judge it). The host's own state is VMSAVEd
 * first and VMLOADed back after a VMLOAD that went through, so a leak is reported
 * rather than leaving the CPU on foreign FS/GS/TR.
 */
static int vmload_save_any(bool load, u64 pa)
{
	void *mine = svm_page(SVM_HSAVE);
	unsigned long flags;
	int t, t_save;
	u64 efer;

	local_irq_save(flags);
	svm_on(&efer);
	t_save = probe_vmsave(__pa(mine));
	t = t_save != PROBE_OK ? t_save : load ? probe_vmload(pa) : probe_vmsave(pa);
	if (load && t == PROBE_OK)
		probe_vmload(__pa(mine));
	svm_restore(efer);
	local_irq_restore(flags);
	if (t_save != PROBE_OK)
		out("result=error reason=cannot_save_own_state trap=%d\n", t_save);
	else if (t != PROBE_OK)
		out("result=fault trap=%d\n", t);
	else
		out("result=executed\n");
	return 0;
}

int nest_one(u64 c, u64 arg, u64 pfn)
{
	u64 pa = PFN_PHYS(pfn), efer, want = 0;
	u64 l2_before, l2_after, hash_before = 0, hash_after = 0;
	struct vmcb *v = svm_page(SVM_VMCB), *vr;
	void *hsave = svm_page(SVM_HSAVE), *read = svm_page(SVM_SCRATCH);
	u64 vmcb_pa, hsave_pa;
	struct nest_out o;
	unsigned long flags;

	if (!v || !hsave || !read || !svm_page(SVM_STACK) || !nest_page(NP_IDT) ||
	    !nest_page(NP_PML4) || !nest_page(NP_PDPT))
		return -ENOMEM;
	if (c == NC_VMLOAD || c == NC_VMSAVE)
		return vmload_save_any(c == NC_VMLOAD, pa);
	idt_fill(nest_page(NP_IDT));
	nest_craft(v, c == NC_L2VMRUN ? vbh_attack_l2_vmrun : vbh_attack_l2_stub);
	vr = v;
	vmcb_pa = __pa(v);
	hsave_pa = __pa(hsave);
	switch (c) {
	case NC_READ:
		read = phys_to_virt(pa);
		if (arg == 1 || arg == 2) {
			v->control.nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
			v->control.nested_cr3 = npt_identity();
		}
		if (arg == 2) { /* the root on PFN: a copy of the good one where the host can write */
			v->control.nested_cr3 = pa;
			out("root_copied=%s ", frame_copy(pfn, nest_page(NP_PML4)) ? "yes" : "no");
			read = svm_page(SVM_SCRATCH);
		}
		break;
	case NC_VMCB:
		vmcb_pa = pa;
		if (frame_copy(pfn, v))
			vr = phys_to_virt(pa);
		break;
	case NC_MSRPM:
		v->control.intercepts[INTERCEPT_MSR_PROT / 32] |= BIT32(INTERCEPT_MSR_PROT);
		v->control.msrpm_base_pa = pa;
		break;
	case NC_IOPM:
		v->control.intercepts[INTERCEPT_IOIO_PROT / 32] |= BIT32(INTERCEPT_IOIO_PROT);
		v->control.iopm_base_pa = pa;
		break;
	case NC_HSAVE:
		hsave_pa = pa;
		hash_before = frame_hash(pfn);
		break;
	case NC_ICPT:
		if (arg >= MAX_INTERCEPT * 32)
			return -EINVAL;
		v->control.intercepts[arg / 32] &= ~BIT32(arg);
		break;
	case NC_ASID: v->control.asid = arg; break;
	case NC_EVENT: v->control.event_inj = arg; break;
	case NC_NPCTL: v->control.nested_ctl |= arg; break;
	case NC_INTCTL: v->control.int_ctl |= arg; break;
	case NC_VIRTEXT: v->control.virt_ext |= arg; break;
	case NC_L2VMRUN:
		v->save.rax = pa; /* the L2's rAX: VMRUN loads it from the VMCB */
		if (!arg)
			v->control.intercepts[INTERCEPT_VMRUN / 32] &= ~BIT32(INTERCEPT_VMRUN);
		break;
	default:
		return -EINVAL;
	}
	/* The L2's own accesses are logged with a RIP in its stub: l2_rip tells them apart
	 * from the host's read of the expected word here. */
	if (c == NC_READ) {
		out("l2_rip=0x%llx ", (u64)vbh_attack_l2_stub);
		if (probe_read64(read, &want) == PROBE_OK)
			out("expect=0x%llx ", want);
	}
	local_irq_save(flags);
	svm_on(&efer);
	l2_before = nest_l2_entries();
	nest_vmrun(vr, vmcb_pa, hsave_pa, read, &o);
	l2_after = nest_l2_entries();
	svm_restore(efer);
	local_irq_restore(flags);
	if (c == NC_HSAVE) {
		hash_after = frame_hash(pfn);
		out("hsave_changed=%s ", hash_before == hash_after ? "no" : "yes");
	}
	if (l2_before == ~0ull || l2_after == ~0ull)
		out("l2_entries=none ");
	else
		out("l2_entries=%llu ", l2_after - l2_before);
	nest_out_print(&o);
	return 0;
}

static int nest_cmd(int argc, const u64 *a)
{
	return nest_one(a[0], a[1], a[2]);
}

const struct atk_cmd nest_cmds[] = {
	{ "nest", 3, nest_cmd, "CASE ARG PFN (nested.c enum nest_case)" },
	{ "nest_all", 1, nest_all, "PFN (one VMRUN per one-field change, nested_changes.c)" },
	{ "nest_race", 2, nest_race_cmd, "ITERS PFN" },
	{ }
};
