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

/* X-macro (abi.h): X(NAME, value, name) -> VBH_LOG_NAME; the lower-case name is what
 * the loader (kind= in /sys/kernel/vbh/log), vbhctl and the attack module print. */
#define VBH_LOG_KINDS(X) \
	X(NPF, 1, npf)                 /* blocked host access: addr = GPA, info = error \
	                                  code */ \
	X(LAUNCH, 2, launch)           /* CPU deprivileged: info = APIC id */ \
	X(DEVIRT, 3, devirt)           /* CPU returned to host mode (rollback) */ \
	X(SEAL, 4, seal)               /* VBH_HC_LAUNCH_SEAL accepted */ \
	X(LAUNCH_FAIL, 5, launch_fail) /* first VMRUN failed: info = exit code */ \
	X(MSR_DENIED, 6, msr_denied)   /* WRMSR/RDMSR refused with #GP: addr = MSR, \
	                                  info = value */ \
	X(VIRT_INSN, 7, virt_insn)     /* the host's SVM/VMX instruction refused (#UD, \
	                                  or #GP: VMLOAD/VMSAVE of a page that is not \
	                                  host RAM): addr = rAX, info = exit code */ \
	X(SHUTDOWN, 8, shutdown)       /* guest triple fault */ \
	X(DMA_FAULT, 9, dma_fault)     /* IOMMU blocked a device access: addr = page, \
	                                  rip = unit register base, info = source id \
	                                  (bus:dev.fn) | reason << 16 | write << 24 */ \
	X(IO_DENIED, 10, io_denied)     /* port write refused (sleep request dropped, \
	                                  string I/O #GP): addr = port, info = value | \
	                                  size << 32 | string << 40 */ \
	X(FLUSH_STALL, 11, flush_stall) /* a CPU in guest mode has not answered a \
	                                  flush kick for a long time: addr = that CPU, \
	                                  info = NPT generation (docs/launch.md) */ \
	X(INIT, 12, init)              /* INIT reached a CPU in guest mode: it leaves \
	                                  the hypervisor (info = exit code) */ \
	X(INVD, 13, invd)              /* INVD run as WBINVD (dirty lines kept) */ \
	X(VMRUN_REFUSED, 14, vmrun_refused) /* the host's VMRUN failed vbh's checks: \
	                                  it sees VMEXIT_INVALID; addr = VMCB12, info = \
	                                  reason (docs/nested.md) */

#define VBH_LOG_ENUM_(name, value, text) VBH_LOG_##name = value,
enum vbh_log_kind { VBH_LOG_KINDS(VBH_LOG_ENUM_) };
#undef VBH_LOG_ENUM_

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

/*
 * VBH_HC_LOG_SUMMARY (ring 0): arg0 = pfn of the loader's output frame (as LOG_READ).
 *   The hypervisor writes one struct vbh_log_summary: for each kind, how many events
 *   were ever recorded and the first VBH_LOG_FIRST_PER_KIND of them. Those are kept
 *   apart from the ring and never overwritten, so a flood (of one kind or of all)
 *   cannot erase the record of the first violation of a kind. Kinds from
 *   VBH_LOG_KIND_SLOTS on share slot 0. out0 = next_seq, out1 = sizeof(struct
 *   vbh_log_summary). Errors as VBH_HC_LOG_READ.
 */
#define VBH_LOG_KIND_SLOTS 32u
#define VBH_LOG_FIRST_PER_KIND 2u

struct vbh_log_summary {
	uint64_t next_seq;  /* every event ever recorded, all kinds */
	uint32_t slots;     /* VBH_LOG_KIND_SLOTS */
	uint32_t per_kind;  /* VBH_LOG_FIRST_PER_KIND */
	uint64_t count[VBH_LOG_KIND_SLOTS]; /* events per kind, since init */
	/* first[k][i] is valid for i < min(count[k], VBH_LOG_FIRST_PER_KIND) */
	struct vbh_log_entry first[VBH_LOG_KIND_SLOTS][VBH_LOG_FIRST_PER_KIND];
};

#endif /* VBH_LOG_H */
