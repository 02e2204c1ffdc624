/* SPDX-License-Identifier: MIT */
/*
 * vbh hypercall ABI: the one header shared by the hypervisor, the loader (kernel
 * module), user tools and tests. C-compatible; no C++ in here. The written spec is
 * docs/hypercalls.md; keep both in step.
 *
 * Register convention (VMMCALL on AMD, VMCALL on Intel), issued from ring 0 only:
 *   in:  rax = call number, rdi = arg0, rsi = arg1, rdx = arg2, rcx = arg3
 *   out: rax = status (enum vbh_status), rdi = out0, rsi = out1
 *   Every other register is preserved. A call that fails changes no hypervisor,
 *   ownership or page-table state.
 * Frames are named by page frame number (physical address >> 12) and counted in 4 KiB
 * frames.
 */
#ifndef VBH_ABI_H
#define VBH_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define VBH_ABI_VERSION_MAJOR 0u
#define VBH_ABI_VERSION_MINOR 1u
#define VBH_ABI_VERSION ((VBH_ABI_VERSION_MAJOR << 16) | VBH_ABI_VERSION_MINOR)

/* Domain 0 is the host; protected domains are 1 .. VBH_MAX_DOMAINS - 1. */
#define VBH_HOST_DOMAIN 0u
#define VBH_MAX_DOMAINS 64u

/*
 * Every name table of the ABI is an X-macro, written once here and expanded by the
 * hypervisor, the loader, vbhctl and the attack module (as Linux's uapi
 * SVM_EXIT_REASONS); tools/report/vbhlog.py parses the X(...) lines at run time, so
 * keep each entry on its own line. VBH_CALLS: X(NAME, number) -> VBH_HC_NAME.
 */
#define VBH_CALLS(X) \
	X(VERSION, 0x00)          /* out0 = VBH_ABI_VERSION */ \
	X(DOMAIN_CREATE, 0x10)    /* arg0 = flags (VBH_DOMAIN_*); out0 = domain id */ \
	X(DOMAIN_DESTROY, 0x11)   /* arg0 = dom; every frame it owns is scrubbed and \
	                             returned to the host, its shares end */ \
	X(HOST_SHARE, 0x20)       /* arg0 = pfn, arg1 = count, arg2 = dom: the host \
	                             lends frames it owns; it keeps access */ \
	X(HOST_UNSHARE, 0x21)     /* arg0 = pfn, arg1 = count, arg2 = dom */ \
	X(HOST_DONATE, 0x22)      /* arg0 = pfn, arg1 = count, arg2 = dom: ownership \
	                             moves to dom; the host loses access */ \
	X(HOST_RECLAIM, 0x23)     /* arg0 = pfn, arg1 = count, arg2 = dom: frames dom \
	                             owns are scrubbed and returned to the host */ \
	X(HYP_DONATE, 0x24)       /* arg0 = pfn, arg1 = count: host frames become \
	                             hypervisor memory (never returned) */ \
	X(HOST_DONATE_LIST, 0x25) /* arg0 = physical address of an array of \
	                             struct vbh_frame_range (16-byte aligned, inside \
	                             one host-owned frame), arg1 = entries (1 .. \
	                             VBH_MAX_LIST_ENTRIES), arg2 = dom: donate every \
	                             range, all or nothing; ranges must not overlap */ \
	X(TEST_FILL, 0x30)        /* test image only (vbh-test.bin; vbh.bin answers \
	                             VBH_E_UNKNOWN_CALL): arg0 = dom, arg1 = pfn, \
	                             arg2 = count, arg3 = seed: fill frames owned by a \
	                             VBH_DOMAIN_TEST domain */ \
	X(TEST_HASH, 0x31)        /* test image only: arg0 = dom, arg1 = pfn, \
	                             arg2 = count: out0 = FNV-1a 64 of those frames */ \
	X(STATS_READ, 0x40)       /* exit counters (stats.h) */ \
	X(LOG_READ, 0x41)         /* violation and launch log (log.h) */ \
	X(CYCLES_READ, 0x42)      /* time in the hypervisor per exit (stats.h) */ \
	X(LAUNCH_SEAL, 0xf0)      /* loader: every CPU is launched; from now on \
	                             VBH_HC_DEVIRT is refused */ \
	X(DEVIRT, 0xf1)           /* loader, before seal only: leave guest mode on \
	                             this CPU (launch rollback) */ \
	X(LOG_SUMMARY, 0x43)      /* per-kind log counters and first entries (log.h) */ \
	X(DOMAIN_BIND_ROOT, 0x12) /* arg0 = dom, arg1 = physical address of a nested page \
	                             table root (4 KiB aligned, host-owned RAM): VMRUNs \
	                             whose VMCB12 N_CR3 is that root get dom's shadow */ \
	X(DOMAIN_UNBIND_ROOT, 0x13) /* arg0 = dom, arg1 = root bound to dom */ \
	X(GUEST_DONATE, 0x26)     /* arg0 = pfn, arg1 = count, arg2 = dom, arg3 = gfn: \
	                             host frames become dom's private memory at gfn .. \
	                             gfn + count - 1; the host loses access */ \
	X(GUEST_RECLAIM, 0x27)    /* arg0 = pfn, arg1 = count: frames a domain holds \
	                             as private memory are scrubbed and returned */

#define VBH_CALL_ENUM_(name, nr) VBH_HC_##name = nr,
enum vbh_call { VBH_CALLS(VBH_CALL_ENUM_) };
#undef VBH_CALL_ENUM_

/* A domain whose frames the TEST_* calls may touch. Test image only: vbh.bin refuses
 * DOMAIN_CREATE with this flag as with any unknown flag bit (VBH_E_INVALID). */
#define VBH_DOMAIN_TEST 0x1u

/* One entry of VBH_HC_HOST_DONATE_LIST's array. */
struct vbh_frame_range {
	uint64_t pfn;
	uint64_t count;
};

#define VBH_MAX_LIST_ENTRIES 64u

/*
 * VBH_STATUSES: X(NAME, value, name) -> VBH_NAME; the lower-case name is what tools
 * print and what the C++ core calls it (vbh::Status::name).
 */
#define VBH_STATUSES(X) \
	X(OK, 0, ok) \
	X(E_UNKNOWN_CALL, 1, unknown_call) /* no such call number (and, in vbh.bin, \
	                                      the test image's TEST_* calls) */ \
	X(E_INVALID, 2, invalid)           /* malformed argument: zero count, unknown \
	                                      flag bits */ \
	X(E_RANGE, 3, range)               /* a frame beyond RAM or in a hole (MMIO, \
	                                      reserved) */ \
	X(E_OVERFLOW, 4, overflow)         /* pfn + count overflows */ \
	X(E_STATE, 5, state)               /* a frame is not in the state the transition \
	                                      needs (double donate, reclaim of a frame dom \
	                                      does not own, hypervisor frame passed as an \
	                                      argument) */ \
	X(E_NO_DOMAIN, 6, no_domain)       /* no such domain */ \
	X(E_NO_MEMORY, 7, no_memory)       /* hypervisor pool exhausted (no state \
	                                      changed) */ \
	X(E_DENIED, 8, denied)             /* caller may not make this call (ring 3, \
	                                      after seal) */

#define VBH_STATUS_ENUM_(name, value, text) VBH_##name = value,
enum vbh_status {
	VBH_STATUSES(VBH_STATUS_ENUM_)
	VBH_STATUS_COUNT
};
#undef VBH_STATUS_ENUM_

#endif /* VBH_ABI_H */
