/* SPDX-License-Identifier: MIT */
/*
 * benchmod's one-shot interface, shared by the module and tests/guest-bench:
 *   fd = open("/dev/benchmod", O_RDONLY); ioctl(fd, BENCHMOD_IOC_ONE, BENCHMOD_OP_CPUID);
 * runs ONE operation on the calling CPU, with preemption off, and returns 0, or -1 with
 * errno EIO when the instruction faulted or answered wrongly (a VMMCALL without a
 * hypervisor raises #UD; an unimplemented MSR raises #GP) and EINVAL for an unknown op.
 * User space times many calls (Google Benchmark) and subtracts BENCHMOD_OP_NOP, the
 * ioctl path alone. The in-kernel loops (/sys/kernel/benchmod/run) use the same ops.
 */
#ifndef VBH_BENCHMOD_UAPI_H
#define VBH_BENCHMOD_UAPI_H

#ifdef __KERNEL__
#include <linux/ioctl.h>
#else
#include <sys/ioctl.h>
#endif

enum benchmod_op {
	BENCHMOD_OP_NOP,        /* nothing: the call's own cost */
	BENCHMOD_OP_CPUID,      /* CPUID leaf 0 (vbh does not intercept CPUID) */
	BENCHMOD_OP_VMMCALL,    /* VBH_HC_VERSION, the null hypercall */
	BENCHMOD_OP_RDMSR,      /* RDMSR of the module's `msr` (VM_CR: intercepted) */
	BENCHMOD_OP_WRMSR_EFER, /* WRMSR EFER with its current value (writes intercepted) */
	BENCHMOD_OPS
};

#define BENCHMOD_IOC_ONE _IO('v', 0x42) /* arg: enum benchmod_op */

#endif
