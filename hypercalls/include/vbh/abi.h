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

enum vbh_call {
	VBH_HC_VERSION = 0x00,        /* out0 = VBH_ABI_VERSION */

	VBH_HC_DOMAIN_CREATE = 0x10,  /* arg0 = flags (VBH_DOMAIN_*); out0 = domain id */
	VBH_HC_DOMAIN_DESTROY = 0x11, /* arg0 = dom; every frame it owns is scrubbed and
	                                 returned to the host, its shares end */

	VBH_HC_HOST_SHARE = 0x20,     /* arg0 = pfn, arg1 = count, arg2 = dom: the host
	                                 lends frames it owns; it keeps access */
	VBH_HC_HOST_UNSHARE = 0x21,   /* arg0 = pfn, arg1 = count, arg2 = dom */
	VBH_HC_HOST_DONATE = 0x22,    /* arg0 = pfn, arg1 = count, arg2 = dom: ownership
	                                 moves to dom; the host loses access */
	VBH_HC_HOST_RECLAIM = 0x23,   /* arg0 = pfn, arg1 = count, arg2 = dom: frames dom
	                                 owns are scrubbed and returned to the host */
	VBH_HC_HYP_DONATE = 0x24,     /* arg0 = pfn, arg1 = count: host frames become
	                                 hypervisor memory (never returned) */
	VBH_HC_HOST_DONATE_LIST = 0x25, /* arg0 = physical address of an array of
	                                 struct vbh_frame_range (16-byte aligned, inside
	                                 one host-owned frame), arg1 = entries (1 ..
	                                 VBH_MAX_LIST_ENTRIES), arg2 = dom: donate every
	                                 range, all or nothing; ranges must not overlap */

	VBH_HC_TEST_FILL = 0x30,      /* arg0 = dom, arg1 = pfn, arg2 = count, arg3 = seed:
	                                 fill frames owned by a VBH_DOMAIN_TEST domain */
	VBH_HC_TEST_HASH = 0x31,      /* arg0 = dom, arg1 = pfn, arg2 = count:
	                                 out0 = FNV-1a 64 of those frames' bytes */

	VBH_HC_STATS_READ = 0x40,     /* exit counters (stats.h) */
	VBH_HC_LOG_READ = 0x41,       /* violation and launch log (log.h) */
	VBH_HC_CYCLES_READ = 0x42,    /* time in the hypervisor per exit (stats.h) */

	VBH_HC_LAUNCH_SEAL = 0xf0,    /* loader: every CPU is launched; from now on
	                                 VBH_HC_DEVIRT is refused */
	VBH_HC_DEVIRT = 0xf1,         /* loader, before seal only: leave guest mode on
	                                 this CPU (launch rollback) */
};

#define VBH_DOMAIN_TEST 0x1u      /* a domain whose frames the TEST_* calls may touch */

/* One entry of VBH_HC_HOST_DONATE_LIST's array. */
struct vbh_frame_range {
	uint64_t pfn;
	uint64_t count;
};

#define VBH_MAX_LIST_ENTRIES 64u

enum vbh_status {
	VBH_OK = 0,
	VBH_E_UNKNOWN_CALL = 1, /* no such call number */
	VBH_E_INVALID = 2,      /* malformed argument: zero count, unknown flag bits */
	VBH_E_RANGE = 3,        /* a frame beyond RAM or in a hole (MMIO, reserved) */
	VBH_E_OVERFLOW = 4,     /* pfn + count overflows */
	VBH_E_STATE = 5,        /* a frame is not in the state the transition needs
	                           (double donate, reclaim of a frame dom does not own,
	                           hypervisor frame passed as an argument) */
	VBH_E_NO_DOMAIN = 6,    /* no such domain */
	VBH_E_NO_MEMORY = 7,    /* hypervisor pool exhausted (no state changed) */
	VBH_E_DENIED = 8,       /* caller may not make this call (ring 3, after seal) */
	VBH_E_BUSY = 9,         /* try again (e.g. a concurrent update of the frames) */
	VBH_STATUS_COUNT
};

#endif /* VBH_ABI_H */
