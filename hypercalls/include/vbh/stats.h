/* SPDX-License-Identifier: MIT */
/*
 * Exit statistics, read with VBH_HC_STATS_READ. C-compatible; shared by the
 * hypervisor, the loader (/sys/kernel/vbh/stats) and tools. Spec: docs/launch.md.
 *
 * VBH_HC_STATS_READ (ring 0): arg0 = cpu, arg1 = pfn of a host-owned RAM frame.
 *   The hypervisor writes one struct vbh_cpu_stats for that CPU at the start of the
 *   frame (a snapshot; counters of a running CPU move while it is copied).
 *   out0 = number of CPUs the boot record allows (nr_cpus), out1 = sizeof(struct
 *   vbh_cpu_stats).
 *   Errors: VBH_E_RANGE (cpu >= nr_cpus, frame not RAM), VBH_E_STATE (frame not owned
 *   by the host, e.g. hypervisor or donated memory). Nothing is written on error.
 */
#ifndef VBH_STATS_H
#define VBH_STATS_H

#include "abi.h"

/*
 * Vendor-neutral exit reasons, the index into vbh_cpu_stats.exits. X-macro (abi.h):
 * X(NAME, value, name) -> VBH_EXIT_NAME; the lower-case name is what the loader
 * (exit_NAME= in /sys/kernel/vbh/stats), vbhctl and the report print.
 */
#define VBH_EXIT_KINDS(X) \
	X(HYPERCALL, 0, hypercall) /* VMMCALL / VMCALL */ \
	X(MSR_READ, 1, msr_read)   /* intercepted RDMSR */ \
	X(MSR_WRITE, 2, msr_write) /* intercepted WRMSR */ \
	X(NPF, 3, npf)             /* nested page fault / EPT violation (blocked \
	                              access) */ \
	X(NMI, 4, nmi)             /* NMI while in the guest (kick or real) */ \
	X(VIRT_INSN, 5, virt_insn) /* VMRUN, VMLOAD, VMSAVE, STGI, CLGI, SKINIT, \
	                              INVLPGA */ \
	X(SHUTDOWN, 6, shutdown)   /* triple fault in the guest */ \
	X(OTHER, 7, other)         /* anything else (unexpected) */ \
	X(IO, 8, io)               /* IN/OUT to a trapped reset or sleep port */ \
	X(INIT, 9, init)           /* INIT signal (the CPU then leaves guest mode) */ \
	X(INVD, 10, invd)           /* INVD or WBINVD, run as WBINVD */

#define VBH_EXIT_ENUM_(name, value, text) VBH_EXIT_##name = value,
enum vbh_exit_kind {
	VBH_EXIT_KINDS(VBH_EXIT_ENUM_)
	VBH_EXIT_KIND_COUNT
};
#undef VBH_EXIT_ENUM_

#define VBH_STATS_MAX_KINDS 16u
/* 2: l2_* counters and the nested-state gauges (readers check version and size). */
#define VBH_STATS_VERSION 2u

struct vbh_cpu_stats {
	uint32_t version;        /* VBH_STATS_VERSION */
	uint32_t cpu;
	uint32_t launched;       /* 1 while the CPU runs deprivileged */
	uint32_t apic_id;
	uint64_t exits[VBH_STATS_MAX_KINDS]; /* by enum vbh_exit_kind */
	uint64_t total_exits;    /* the sum of exits[], made by STATS_READ */
	uint64_t flushes;        /* guest TLB flushes done for an NPT generation change */
	uint64_t kicks_sent;     /* NMI IPIs sent to other CPUs for invalidation */
	uint64_t kicks_taken;    /* NMI exits that were kicks (not re-injected) */
	uint64_t nmis_reflected; /* NMI exits re-injected into the host */
	uint64_t faults_reflected; /* #GP injected for blocked accesses */
	uint64_t dma_faults;     /* IOMMU fault records this CPU drained into the log */
	uint64_t l2_entries;     /* the host's VMRUNs accepted: its guest (L2) entered */
	uint64_t l2_exits;       /* exits of the host's guests (L2), vbh's and the host's */
	uint64_t l2_reflected;   /* L2 exits reflected to the host (#VMEXIT into VMCB12) */
	uint64_t l2_shadow_fills; /* pages entered into a shadow NPT (kvm_amd npt=1) */
	uint64_t l2_shadow_drops; /* shadow NPTs dropped with pages in them */
	/*
	 * Nested SVM state vbh holds for this CPU's host, read from the CPU's state at
	 * STATS_READ (gauges, not counters; docs/nested.md, "State and teardown"). All
	 * are 0 once the host has cleared its EFER.SVME and VM_HSAVE_PA (kvm_amd's
	 * hardware disable: rmmod, or its last VM gone with kvm.enable_virt_at_load=0).
	 */
	uint64_t l2_state_drops;  /* counter: SVME clears that dropped nested state */
	uint64_t l2_asids;        /* host ASIDs holding one of vbh's ASIDs */
	uint64_t l2_shadow_pages; /* shadow NPT pool pages holding tables (root kept) */
	uint64_t l2_vmcb12;       /* 1: a VMCB12 copy and its address are held */
	uint64_t l2_running;      /* 1: the L2 block is this CPU's active block */
	uint64_t host_svme;       /* the host's virtual EFER.SVME */
	uint64_t host_hsave;      /* 1: the host's virtual VM_HSAVE_PA is not 0 */
};

/*
 * Time spent in the hypervisor per exit, read with VBH_HC_CYCLES_READ (ring 0):
 *   arg0 = cpu, arg1 = pfn of a host-owned RAM frame; out0 = nr_cpus, out1 =
 *   sizeof(struct vbh_cpu_cycles); errors as VBH_HC_STATS_READ.
 * One exit's time is TSC cycles from just after its #VMEXIT to just before the next
 * VMRUN of that CPU (VMSAVE/VMLOAD, dispatch, TLB flush request included; the
 * hardware world switch itself is not). An exit that never re-enters (DEVIRT, a fatal
 * exit) is not counted. hist[b] counts exits with 2^b <= cycles < 2^(b+1); the last
 * bucket also holds everything longer, and cycles 0 falls in bucket 0.
 */
#define VBH_CYCLE_BUCKETS 29u  /* 2^28 cycles and up share the last bucket */
#define VBH_CYCLES_VERSION 1u

/* 256 bytes, so that the exit path indexes by kind with a shift. */
struct vbh_exit_cycles {
	uint64_t count;          /* exits of this kind timed */
	uint64_t sum;            /* their cycles, summed */
	uint64_t max;            /* the longest one */
	uint64_t hist[VBH_CYCLE_BUCKETS];
};

struct vbh_cpu_cycles {
	uint32_t version;        /* VBH_CYCLES_VERSION */
	uint32_t cpu;
	struct vbh_exit_cycles kind[VBH_EXIT_KIND_COUNT]; /* by enum vbh_exit_kind */
};

#endif /* VBH_STATS_H */
