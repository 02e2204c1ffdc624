/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's event log (blocked accesses, launch events), read with
 * VBH_HC_LOG_READ. C-compatible. Spec: docs/launch.md.
 *
 * The log is a ring of VBH_LOG_RING_ENTRIES entries shared by all CPUs. Every entry
 * gets a sequence number (from 0, never reused); when the ring is full the oldest
 * entries are overwritten.
 *
 * VBH_HC_LOG_READ (ring 0): arg0 = pfn of a host-owned RAM frame, arg1 = first
 *   sequence number wanted. The hypervisor fills the frame with a struct
 *   vbh_log_page holding the entries with seq >= arg1 that are still in the ring,
 *   oldest first, at most VBH_LOG_PAGE_ENTRIES.
 *   out0 = number of entries copied, out1 = the sequence number to ask for next.
 *   Errors: VBH_E_RANGE (frame not RAM), VBH_E_STATE (frame not owned by the host).
 */
#ifndef VBH_LOG_H
#define VBH_LOG_H

#include "abi.h"

enum vbh_log_kind {
	VBH_LOG_NPF = 1,        /* blocked host access: addr = GPA, info = error code */
	VBH_LOG_LAUNCH = 2,     /* CPU deprivileged: info = APIC id */
	VBH_LOG_DEVIRT = 3,     /* CPU returned to host mode (rollback) */
	VBH_LOG_SEAL = 4,       /* VBH_HC_LAUNCH_SEAL accepted */
	VBH_LOG_LAUNCH_FAIL = 5,/* first VMRUN failed: info = exit code */
	VBH_LOG_MSR_DENIED = 6, /* WRMSR/RDMSR refused with #GP: addr = MSR, info = value */
	VBH_LOG_VIRT_INSN = 7,  /* SVM/VMX instruction refused with #UD: info = exit code */
	VBH_LOG_SHUTDOWN = 8,   /* guest triple fault */
};

struct vbh_log_entry {
	uint64_t seq;
	uint64_t addr;  /* GPA for VBH_LOG_NPF, MSR number, ... */
	uint64_t rip;   /* guest RIP at the event */
	uint64_t info;  /* kind-specific: NPF error code (exit_info_1), status, ... */
	uint32_t kind;  /* enum vbh_log_kind */
	uint32_t cpu;
};

#define VBH_LOG_RING_ENTRIES 256u
#define VBH_LOG_PAGE_ENTRIES 100u

struct vbh_log_page {
	uint64_t first_seq; /* seq of entries[0] (valid when count > 0) */
	uint64_t next_seq;  /* the hypervisor's next sequence number at the copy */
	uint64_t lost;      /* entries with seq >= the requested one that were overwritten */
	uint32_t count;
	uint32_t reserved;
	struct vbh_log_entry entries[VBH_LOG_PAGE_ENTRIES];
};

#endif /* VBH_LOG_H */
