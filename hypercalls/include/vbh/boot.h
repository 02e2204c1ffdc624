/* SPDX-License-Identifier: MIT */
/*
 * Loader -> hypervisor hand-off. C-compatible; included by the loader (kernel module)
 * and the hypervisor image. Spec: docs/launch.md.
 *
 * Memory. The loader reserves hypervisor memory as physically contiguous chunks
 * (hyp_ranges, in virtual order) and maps them back to back, executable, at
 * hyp_virt_base in the kernel's address space (vmap). The image is copied to the start;
 * the boot record is placed at boot_record_offset; everything after the boot record up
 * to hyp_size is the hypervisor's free pool (page tables, stacks, control blocks,
 * ownership metadata). The hypervisor runs at the same virtual addresses in its own page
 * tables, so code that switches CR3 keeps executing. All of hyp_ranges is removed from
 * the host's nested page tables at launch.
 *
 * Entry points (System V ABI, called from kernel context with interrupts and preemption
 * disabled; image base = hyp_virt_base):
 *   int64_t init(struct vbh_boot_record *br);            once, on one CPU, before any
 *       launch. Self-relocates, builds the hypervisor's page tables, the host NPT, the
 *       ownership map and per-CPU state. Returns enum vbh_status. Runs on the caller's
 *       stack; calls nothing outside the image.
 *   int64_t launch(uint32_t cpu, const struct vbh_guest_entry *entry);   on CPU `cpu`.
 *       On success it does not return: this CPU continues as a guest at entry->rip with
 *       rsp = entry->rsp, rflags = entry->rflags, rax = VBH_OK and every other
 *       general-purpose register zero; the rest of the CPU state (CRs, EFER with SVME
 *       set, segments, descriptor tables, MSRs) is what it was at the call. On failure it
 *       returns a vbh_status with this CPU unchanged.
 * Rollback: before VBH_HC_LAUNCH_SEAL, VBH_HC_DEVIRT on a launched CPU returns it to
 * host mode with the state it has in the guest at the hypercall (rip after VMMCALL,
 * rax = VBH_OK).
 */
#ifndef VBH_BOOT_H
#define VBH_BOOT_H

#include "abi.h"

#define VBH_IMAGE_MAGIC 0x4d494856u  /* "VHIM" little-endian */
#define VBH_BOOT_MAGIC 0x54425856u   /* "VXBT" */
#define VBH_MAX_CPUS 64u
#define VBH_MAX_HYP_RANGES 64u
#define VBH_MAX_RAM_RANGES 128u
#define VBH_MAX_DMAR_UNITS 8u
#define VBH_MAX_AMDVI_UNITS 8u

/* At offset 0 of the flat image file (vbh.bin). */
struct vbh_image_header {
	uint32_t magic;          /* VBH_IMAGE_MAGIC */
	uint32_t abi_version;    /* VBH_ABI_VERSION the image was built with */
	uint64_t file_size;      /* bytes to copy from the file */
	uint64_t mem_size;       /* bytes the image occupies, .bss included, 4 KiB aligned */
	uint64_t init_offset;    /* entry points, offsets from the image base */
	uint64_t launch_offset;
};

struct vbh_mem_range {
	uint64_t base;           /* physical, 4 KiB aligned */
	uint64_t size;           /* bytes, 4 KiB multiple */
};

/*
 * Where the hypervisor keeps each kind of its state (CPU 0's copy of per-CPU kinds):
 * for debugging and for the containment suite, which attacks every kind, not only the
 * image's first page. All of it lies in hyp_ranges, which the host NPT never maps.
 * X(name): VBH_LAYOUT_name indexes vbh_hyp_layout.kind[].
 */
#define VBH_LAYOUT_KINDS(X) \
	X(IMAGE)          /* code, data and .bss of the image */ \
	X(LOG)            /* the violation log ring (in .bss) */ \
	X(STACK)          /* CPU 0's hypervisor stack */ \
	X(PERCPU)         /* CPU 0's per-CPU page (saved registers, counters) */ \
	X(CONTROL_BLOCKS) /* CPU 0's backend pages (SVM: host VMCB, VMSAVE area, \
	                     host save area) */ \
	X(NPT_ROOT)       /* the host nested page table's root */ \
	X(HYP_PT_ROOT)    /* the hypervisor's own page table root (its CR3) */ \
	X(FRAME_TABLE)    /* the ownership table */

enum vbh_layout_kind {
#define VBH_LAYOUT_ENUM(name) VBH_LAYOUT_##name,
	VBH_LAYOUT_KINDS(VBH_LAYOUT_ENUM)
#undef VBH_LAYOUT_ENUM
	VBH_LAYOUT_NR
};

struct vbh_layout_entry {
	uint64_t pfn;            /* first frame */
	uint64_t count;          /* frames, physically contiguous; 0 = not reported */
};

struct vbh_hyp_layout {
	struct vbh_layout_entry kind[VBH_LAYOUT_NR];
};

/*
 * Hypervisor memory by part: written by init() (bytes; the parts add up to hyp_size),
 * shown by the loader's kernel log, sysfs `footprint` and `vbhctl status`.
 * X(NAME, name): VBH_FOOTPRINT_NAME indexes vbh_footprint.bytes[]; name is its name in
 * sysfs and logs.
 */
#define VBH_FOOTPRINT_PARTS(X) \
	X(IMAGE, image)             /* code, data and .bss of the image, the log excepted */ \
	X(LOG, log)                 /* the event log ring (in the image's .data) */ \
	X(BOOT_RECORD, boot_record) /* the boot record, to the next page */ \
	X(PERCPU, percpu)           /* every CPU's block (stacks, per-CPU page, control \
	                               blocks) and the backend's per-CPU maps */ \
	X(STATS, stats)             /* every CPU's exit-cycle histogram page */ \
	X(BACKEND, backend)         /* the backend's shared pages (SVM: MSRPM, IOPM) */ \
	X(HYP_TABLES, hyp_tables)   /* the hypervisor's own page tables */ \
	X(NPT, npt)                 /* the host nested page table as init built it */ \
	X(DMA, dma)                 /* VT-d root and context tables or AMD-Vi device \
	                               table and rings, and the DMA table's pool */ \
	X(FRAME_TABLE, frame_table) /* the ownership table */ \
	X(RETIRED, retired)         /* the stack of retired tables (1/1024 of the pool) */ \
	X(POOL, pool)               /* free frames: the host NPT's splits and growth */

enum vbh_footprint_part {
#define VBH_FOOTPRINT_ENUM(NAME, name) VBH_FOOTPRINT_##NAME,
	VBH_FOOTPRINT_PARTS(VBH_FOOTPRINT_ENUM)
#undef VBH_FOOTPRINT_ENUM
	VBH_FOOTPRINT_NR
};

struct vbh_footprint {
	uint64_t bytes[VBH_FOOTPRINT_NR];
};

/*
 * Sizing (docs/loader.md, "Memory sizing"). The host NPT and its DMA mirror each keep
 * vbh_split_reserve_frames(RAM bytes) free page-table frames after init, for the
 * splits of large pages that ownership changes need: a 4 KiB leaf table for any 512
 * 2 MiB regions plus one in four of the rest of RAM (1/2048 of RAM), never more than
 * one per 2 MiB of RAM (up to about 1.3 GiB every region can be split), one directory
 * per GiB, 8 for the tables above. init() refuses (VBH_E_NO_MEMORY) to start with
 * less. A change that needs more than is left is refused with VBH_E_NO_MEMORY and
 * changes nothing (reserve before perform, vbh/engine_stage2.hpp).
 */
static inline uint64_t vbh_split_reserve_frames(uint64_t ram_bytes)
{
	uint64_t leaves = 512u + (ram_bytes >> 23), all = ram_bytes >> 21;

	return (leaves < all ? leaves : all) + (ram_bytes >> 30) + 8u;
}

/* Frames per CPU the loader budgets (image: CpuBlock, the cycles page and the
 * backend's per-CPU pages fit in it, vbh/image/src/init.cpp; SVM: the nested MSRPM
 * and IOPM, 5, and the shadow NPT's pool, 64). */
#define VBH_PERCPU_FRAMES 90u
/* Frames the loader budgets for the tables init() builds (the hypervisor's own, the
 * host NPT's and the DMA mirror's: directories around the holes the hypervisor ranges
 * and MMIO leave), the backend's shared maps and the VT-d root and context tables. */
#define VBH_TABLES_FRAMES 192u

struct vbh_boot_record {
	uint32_t magic;          /* VBH_BOOT_MAGIC */
	uint32_t abi_version;
	uint64_t hyp_virt_base;  /* where the hypervisor memory is mapped (and runs) */
	uint64_t hyp_size;       /* total bytes of hypervisor memory */
	uint64_t boot_record_offset;
	uint32_t nr_hyp_ranges;
	uint32_t nr_ram_ranges;
	struct vbh_mem_range hyp_ranges[VBH_MAX_HYP_RANGES];
	struct vbh_mem_range ram_ranges[VBH_MAX_RAM_RANGES]; /* "System RAM", sorted */
	uint32_t nr_cpus;        /* Linux CPU numbers 0 .. nr_cpus - 1 may be launched */
	uint32_t phys_addr_bits; /* CPUID 0x80000008 EAX[7:0] */
	uint64_t acpi_rsdp;      /* physical, 0 if unknown */
	uint64_t acpi_dmar;      /* physical address of the DMAR table, 0 if none */
	uint64_t acpi_ivrs;      /* physical address of the IVRS table, 0 if none */
	uint64_t flags;          /* VBH_BOOT_* */
	/* VT-d remapping units (DRHD structures of the DMAR table, ACPI 6.5 / VT-d §8.3),
	 * found by the loader; vbh owns every one from VBH_HC_LAUNCH_SEAL on (docs/iommu.md). */
	uint32_t nr_dmar_units;
	uint32_t reserved0;
	struct vbh_dmar_unit {
		uint64_t reg_base;   /* physical, 4 KiB aligned: the unit's register set */
		uint32_t reg_pages;  /* 4 KiB pages of registers (DRHD size field, 1 if 0) */
		uint16_t segment;    /* PCI segment the unit serves */
		uint8_t flags;       /* DRHD flags: bit 0 INCLUDE_PCI_ALL */
		uint8_t reserved;
	} dmar_units[VBH_MAX_DMAR_UNITS];
	/*
	 * Reset and sleep ports from the FADT (ACPI 6.5 §5.2.9), 0 where the platform has
	 * none; the hypervisor traps them (docs/launch.md, "I/O ports"). PM1x_CNT: the
	 * I/O port of the PM1a/PM1b control block. RESET_REG: its address space
	 * (VBH_ACPI_SPACE_*), address and value, valid when the FADT sets RESET_REG_SUP.
	 * SLP_TYPa/b of S3, S4, S5 from the DSDT's \_Sx objects (VBH_SLP_TYP_NONE if the
	 * state is not defined).
	 */
	uint16_t acpi_pm1a_cnt;
	uint16_t acpi_pm1b_cnt;
	uint8_t acpi_reset_space;
	uint8_t acpi_reset_value;
	uint8_t acpi_slp_typ[3][2]; /* [VBH_SLP_S3..S5][a, b] */
	uint64_t acpi_reset_port;
	/* The only frames the hypervisor writes hypercall output into (STATS_READ,
	 * CYCLES_READ, LOG_READ, LOG_SUMMARY): out_count frames from out_pfn, host RAM
	 * the loader allocated and keeps. Any other target: VBH_E_DENIED. */
	uint64_t out_pfn;
	uint64_t out_count;      /* 1 .. VBH_MAX_OUT_FRAMES */
	/* Out: written by init() before it returns VBH_OK, read by the loader before any
	 * launch (sysfs hyp_layout, docs/loader.md). */
	struct vbh_hyp_layout layout;
	struct vbh_footprint footprint; /* out, as layout */
	/*
	 * AMD-Vi units (IVHD blocks of the ACPI IVRS table, AMD IOMMU spec §5.2.2), found
	 * by the loader, one per MMIO base (the type 10h/11h/40h blocks of one unit are
	 * merged); vbh owns every one from VBH_HC_LAUNCH_SEAL on (docs/iommu.md). A boot
	 * record with both DMAR and AMD-Vi units is refused (VBH_E_INVALID).
	 */
	uint32_t nr_amdvi_units;
	uint32_t reserved1;
	struct vbh_amdvi_unit {
		uint64_t mmio_base;  /* physical, 16 KiB aligned: the unit's registers */
		uint16_t segment;    /* PCI segment group the unit serves */
		uint16_t devid;      /* the IOMMU's own PCI bus:dev.fn */
		uint16_t devid_first; /* lowest and highest device id its device entries */
		uint16_t devid_last;  /* name (select, range, alias, special; "all": 0-ffff) */
		uint8_t ivhd_type;   /* highest IVHD type seen for it: 0x10, 0x11, 0x40 */
		uint8_t ivhd_flags;  /* that block's flags */
		uint16_t ioapic_devid; /* first IOAPIC its special-device entries (48h, variety 1)
					* name; 0: none (00:00.0 is the host bridge). Its DTE
					* keeps interrupts unfiltered (docs/iommu.md) */
		uint32_t reserved2;
	} amdvi_units[VBH_MAX_AMDVI_UNITS];
};

/*
 * AMD-Vi memory (docs/iommu.md): one device table for every unit, 32 bytes per device
 * id up to the highest any unit's IVHD names, and per unit a 4 KiB command buffer and
 * a 4 KiB event log, plus one frame for the completion-wait stores. The loader budgets
 * it on top of VBH_TABLES_FRAMES.
 */
#define VBH_AMDVI_MMIO_PAGES 4u /* 16 KiB register set (AMD IOMMU spec §3.4) */

static inline uint32_t vbh_amdvi_devtab_pages(uint32_t devid_last)
{
	return ((devid_last + 1u) * 32u + 4095u) / 4096u;
}

static inline uint64_t vbh_amdvi_frames(uint32_t nr_units, uint32_t devid_last)
{
	return nr_units ? vbh_amdvi_devtab_pages(devid_last) + 2u * nr_units + 1u : 0;
}

#define VBH_MAX_OUT_FRAMES 16u

#define VBH_ACPI_SPACE_NONE 0xffu /* no RESET_REG */
#define VBH_ACPI_SPACE_MEM 0u     /* ACPI generic address space ids */
#define VBH_ACPI_SPACE_IO 1u
#define VBH_SLP_S3 0u
#define VBH_SLP_S4 1u
#define VBH_SLP_S5 2u
#define VBH_SLP_TYP_NONE 0xffu

#define VBH_BOOT_DEMO_ATTACKABLE 0x1u /* honoured by the test image vbh-test.bin only
                                         (set by the test loader's attackable=1):
                                         launch without removing hypervisor memory from
                                         the host NPT, so the containment suite can
                                         prove its harness. vbh.bin ignores it. */

struct vbh_guest_entry {
	uint64_t rip;
	uint64_t rsp;
	uint64_t rflags;
};

#endif /* VBH_BOOT_H */
