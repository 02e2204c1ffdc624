/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nested SVM attacks (issue 12 point 6, docs/containment.md "Nested SVM"): a hostile
 * host builds a VMCB12 that vbh should refuse or contain, runs VMRUN, and reports
 * what came back. Shared by nested.c (one VMRUN per command) and nested_race.c
 * (VMCB12 rewritten from another CPU during VMRUNs).
 */
#ifndef VBH_ATTACK_NESTED_H
#define VBH_ATTACK_NESTED_H

#include <linux/types.h>
#include <asm/svm.h>

/* rcx of an L2 that took an exception through its own IDT (nested_stub.S). */
#define NEST_FAULT_MARK 0xfa017ed0fa017ed0ull

/* A sane VMCB12: every intercept a careful host (and vbh) requires, ASID 1, nested
 * paging off, an L2 on the host's CR3 running `stub` with rbx-independent state and
 * an IDT whose every vector ends in nested_stub.S's fault stub. */
void nest_craft(struct vmcb *v, void *stub);

struct desc_ptr;
/* vmrun.c: a 64-bit L2's save area on the host's GDT, CR3, PAT and control registers,
 * at rip, with idt, IF = 0. */
void vmcb_l2_save(struct vmcb *v, void *rip, const struct desc_ptr *idt);

enum nest_result {
	NEST_FAULT,   /* the host's VMRUN itself faulted (trap) */
	NEST_RAN,     /* the L2 read its word and exited with VMMCALL */
	NEST_FAULTED, /* the L2 took an exception (its IDT's stub exited with VMMCALL) */
	NEST_INVALID, /* VMEXIT_INVALID: the VMCB12 was refused */
	NEST_EXITED,  /* any other exit */
};

struct nest_out {
	enum nest_result res;
	int trap;
	u64 word;  /* rcx at the exit */
	u64 exit, info1, info2;
};

/* VMRUN of the VMCB at vmcb_pa (v: where the host sees it, for the exit code) with
 * VM_HSAVE_PA = hsave_pa and rbx = the L2's read address; an INTR or NMI exit is
 * resumed (up to 100 times). Interrupts must be off and EFER.SVME set. */
void nest_vmrun(struct vmcb *v, u64 vmcb_pa, u64 hsave_pa, const void *rbx, struct nest_out *o);
void nest_out_print(const struct nest_out *o);

/* What "nest CASE ARG PFN" changes in the sane VMCB12 (nested.c). */
enum nest_case {
	NC_READ,     /* ARG 0: L2 reads PFN, nested paging off; 1: through identity NPT
		      * tables the host built (1 GiB leaves); 2: NPT root placed on PFN */
	NC_VMCB,     /* VMCB12 itself at PFN */
	NC_MSRPM,    /* MSR permission map at PFN (MSR_PROT set) */
	NC_IOPM,     /* I/O permission map at PFN (IOIO_PROT set) */
	NC_HSAVE,    /* VM_HSAVE_PA = PFN for this VMRUN */
	NC_ICPT,     /* intercept number ARG (asm/svm.h INTERCEPT_*) cleared */
	NC_ASID,     /* ASID = ARG */
	NC_EVENT,    /* EVENTINJ = ARG */
	NC_NPCTL,    /* nested_ctl |= ARG (SEV bits 1-2) */
	NC_INTCTL,   /* int_ctl |= ARG (AVIC bit 31) */
	NC_VIRTEXT,  /* virt_ext |= ARG (LBR virtualization bit 0) */
	NC_L2VMRUN,  /* the L2 executes VMRUN of PFN; ARG 0 clears the VMRUN intercept */
	NC_VMLOAD,   /* the host's VMLOAD from PFN (any frame, MMIO too), no VMRUN */
	NC_VMSAVE,   /* the host's VMSAVE to PFN */
};

/* "nest CASE ARG PFN": one VMRUN, its reply printed (nested.c). */
int nest_one(u64 c, u64 arg, u64 pfn);
/* "nest_all PFN" (nested_changes.c). */
int nest_all(int argc, const u64 *a);
/* "nest_race ITERS PFN" (nested_race.c). */
int nest_race_cmd(int argc, const u64 *a);

/* This CPU's l2_entries (VMRUNs vbh accepted), or ~0 without a hypervisor. */
u64 nest_l2_entries(void);

extern char vbh_attack_l2_stub[], vbh_attack_l2_vmrun[], vbh_attack_l2_fault[];

#endif
