/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Exception-safe primitives. Every access a hostile host makes may be refused by the
 * hypervisor (an injected #GP, a #PF from a missing mapping, #UD for an intercepted
 * SVM instruction), so each one runs under an exception-table entry of type
 * EX_TYPE_FAULT: on any exception the kernel's fixup jumps past the instruction with
 * rax = trap number instead of oopsing. A flag register tells "faulted" apart from a
 * value that happens to equal a trap number.
 */
#ifndef VBH_ATTACK_PROBE_H
#define VBH_ATTACK_PROBE_H

#include <linux/types.h>
#include <asm/asm.h>

#define PROBE_OK (-1) /* "no exception"; otherwise the x86 trap number */

/* The faulting instruction must be at label 1; fixup lands at 2 with ax = trap. */
#define PROBE_BEGIN "movl $1, %k[flt]\n1: "
#define PROBE_END "\n xorl %k[flt], %k[flt]\n2:\n" _ASM_EXTABLE_FAULT(1b, 2b)

static inline int probe_trap(unsigned long flt, unsigned long ax)
{
	return flt ? (int)ax : PROBE_OK;
}

static inline int probe_read64(const void *addr, u64 *val)
{
	unsigned long ax = 0, flt;
	u64 v = 0;

	asm volatile(PROBE_BEGIN "movq (%[p]), %[v]" PROBE_END
		     : [flt] "=&r"(flt), [v] "+r"(v), "+a"(ax)
		     : [p] "r"(addr) : "memory");
	*val = v;
	return probe_trap(flt, ax);
}

static inline int probe_write64(void *addr, u64 v)
{
	unsigned long ax = 0, flt;

	asm volatile(PROBE_BEGIN "movq %[v], (%[p])" PROBE_END
		     : [flt] "=&r"(flt), "+a"(ax)
		     : [p] "r"(addr), [v] "r"(v) : "memory");
	return probe_trap(flt, ax);
}

/* RDMSR/WRMSR without the paravirt and tracepoint wrappers (no per-CPU data). */
static inline int probe_rdmsr(u32 msr, u64 *val)
{
	unsigned long ax = 0, flt;
	u32 dx = 0;

	asm volatile(PROBE_BEGIN "rdmsr" PROBE_END
		     : [flt] "=&r"(flt), "+a"(ax), "+d"(dx) : "c"(msr) : "memory");
	*val = flt ? 0 : ((u64)dx << 32) | (u32)ax;
	return probe_trap(flt, ax);
}

static inline int probe_wrmsr(u32 msr, u64 val)
{
	unsigned long ax = (u32)val, flt;

	asm volatile(PROBE_BEGIN "wrmsr" PROBE_END
		     : [flt] "=&r"(flt), "+a"(ax)
		     : "c"(msr), "d"((u32)(val >> 32)) : "memory");
	return probe_trap(flt, ax);
}

/* The SVM instructions that take a physical address in rax (APM vol. 3, VMLOAD etc.). */
#define DEFINE_PROBE_RAX_INSN(name, insn)					\
static inline int probe_##name(u64 pa)						\
{										\
	unsigned long ax = pa, flt;						\
	asm volatile(PROBE_BEGIN insn PROBE_END					\
		     : [flt] "=&r"(flt), "+a"(ax) : : "memory");		\
	return probe_trap(flt, ax);						\
}
DEFINE_PROBE_RAX_INSN(vmload, "vmload %%rax")
DEFINE_PROBE_RAX_INSN(vmsave, "vmsave %%rax")
DEFINE_PROBE_RAX_INSN(skinit, "skinit %%eax")

static inline int probe_clgi(void)
{
	unsigned long ax = 0, flt;

	asm volatile(PROBE_BEGIN "clgi" PROBE_END : [flt] "=&r"(flt), "+a"(ax) : : "memory");
	return probe_trap(flt, ax);
}

static inline int probe_stgi(void)
{
	unsigned long ax = 0, flt;

	asm volatile(PROBE_BEGIN "stgi" PROBE_END : [flt] "=&r"(flt), "+a"(ax) : : "memory");
	return probe_trap(flt, ax);
}

/*
 * VMMCALL with the vbh register convention (hypercalls/include/vbh/abi.h): in rax =
 * call, rdi/rsi/rdx/rcx = args; out rax = status, rdi/rsi = out0/out1. Issued
 * directly, not through /dev/vbh: a hostile kernel is not bound by the loader's checks.
 */
struct hc_ret {
	u64 status, out0, out1;
	int trap; /* PROBE_OK, or the exception the VMMCALL raised (#UD without vbh) */
};

static inline struct hc_ret probe_vmmcall(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	unsigned long ax = nr, di = a0, si = a1, dx = a2, cx = a3, flt;
	struct hc_ret r;

	asm volatile(PROBE_BEGIN "vmmcall" PROBE_END
		     : [flt] "=&r"(flt), "+a"(ax), "+D"(di), "+S"(si), "+d"(dx), "+c"(cx)
		     : : "memory");
	r.trap = probe_trap(flt, ax);
	r.status = flt ? ~0ull : ax;
	r.out0 = di;
	r.out1 = si;
	return r;
}

#endif
