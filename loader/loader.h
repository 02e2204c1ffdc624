/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * vbh loader: the kernel module that late-launches the vbh hypervisor image.
 * Internal declarations shared by the loader's files. The hand-off contract is
 * hypercalls/include/vbh/boot.h; the design is described in docs/loader.md.
 */
#ifndef VBH_LOADER_H
#define VBH_LOADER_H

#include <linux/cpumask.h>
#include <linux/types.h>
#include <asm/pgtable_types.h>
#include <vbh/boot.h>

#define VBH_PFX "vbh: "

typedef s64 (*vbh_init_fn)(struct vbh_boot_record *br);
typedef s64 (*vbh_launch_fn)(u32 cpu, const struct vbh_guest_entry *entry);

/* image.c / image.S: the embedded vbh.bin. */
extern const u8 vbh_image_start[];
extern const u8 vbh_image_end[];
int vbh_image_check(const struct vbh_image_header **out);

/* preflight.c: every online CPU can run SVM with NPT and nobody else owns it. */
int vbh_preflight(void);

/* hypmem.c: hypervisor memory, physically in chunks, virtually contiguous. */
struct vbh_hypmem {
	struct page **pages;       /* every 4 KiB page, in virtual order */
	pte_t *saved_ptes;         /* host PTEs while the mapping is hidden */
	u8 *orders;                /* allocation order at each chunk's first page */
	unsigned long nr_pages;
	void *virt;                /* hyp_virt_base */
	u32 nr_ranges;
	struct vbh_mem_range ranges[VBH_MAX_HYP_RANGES];
	bool hidden;
};
int vbh_hypmem_alloc(struct vbh_hypmem *m, u64 bytes);
void vbh_hypmem_free(struct vbh_hypmem *m);
int vbh_hypmem_hide(struct vbh_hypmem *m);
void vbh_hypmem_reveal(struct vbh_hypmem *m);

/* bootrec.c: fill the boot record from what Linux knows about the machine. */
struct vbh_ram_map {
	u32 nr;
	struct vbh_mem_range r[VBH_MAX_RAM_RANGES];
};
/* The automatic size budgets table splits for this many hypervisor ranges; a
 * reservation that came in more is made again with VBH_FRAMES_PER_RANGE frames more
 * for each extra range (the edges of a range split a directory and a leaf table in
 * the NPT, the DMA mirror and the hypervisor's own tables). */
#define VBH_BUDGET_RANGES 8u
#define VBH_FRAMES_PER_RANGE 16u
u64 vbh_hypmem_default_size(u64 base_bytes, const struct vbh_ram_map *ram, u32 nr_ranges);
int vbh_ram_map_read(struct vbh_ram_map *map);
/* The VT-d units of the DMAR table; -EBUSY if the host's IOMMU driver runs one. */
int vbh_dmar_read(void);
u32 vbh_dmar_units(void);
/* ivrs.c: the AMD-Vi units of the IVRS table; -EBUSY if the host's driver runs one. */
int vbh_ivrs_read(void);
u32 vbh_amdvi_units(void);
u64 vbh_amdvi_budget(void);
void vbh_ivrs_fill(struct vbh_boot_record *br);
void vbh_bootrec_fill(struct vbh_boot_record *br, const struct vbh_hypmem *m,
		      const struct vbh_ram_map *ram, u64 br_offset, u64 flags);

/* hypercall.c: VMMCALL from ring 0, #UD-safe. */
struct vbh_hc {
	u64 call, args[4];
	u64 status, out[2];
};
/* Returns false if this CPU is not in guest mode under a hypervisor (VMMCALL #UD). */
bool vbh_hypercall(struct vbh_hc *hc);
bool vbh_cpu_is_guest(u32 *abi_version);
const char *vbh_status_name(s64 status);

/* enter.S: launch the current CPU; returns VBH_OK in guest mode or the error. */
s64 vbh_enter(vbh_launch_fn launch, u32 cpu);

/* launch.c */
struct vbh_launcher {
	vbh_launch_fn launch;
	cpumask_t launched;         /* CPUs this loader saw enter guest mode */
	bool sealed;
};
int vbh_launch_all(struct vbh_launcher *l);
int vbh_launch_this_cpu(struct vbh_launcher *l);
int vbh_seal(struct vbh_launcher *l);

/* hotplug.c */
int vbh_hotplug_register(void);
void vbh_hotplug_unregister(void); /* caller holds cpus_read_lock */

/* pm.c: no suspend or hibernation while the hypervisor runs. */
int vbh_pm_register(void);
void vbh_pm_unregister(void);

/* dev.c, sysfs.c */
int vbh_dev_register(void);
void vbh_dev_unregister(void);
int vbh_sysfs_register(void);
ssize_t vbh_stats_show(char *buf);  /* stats.c */
ssize_t vbh_cycles_show(char *buf);
ssize_t vbh_log_show(char *buf);
/* sysfs.c: the footprint's part names, lower case (VBH_FOOTPRINT_PARTS). */
const char *vbh_footprint_name(u32 part);
/* stats.c: the one frame the hypervisor writes hypercall output into, registered in
 * the boot record (out_pfn); vbh_out_get() locks it for one user, vbh_out_put()
 * unlocks. */
int vbh_out_alloc(void);
void vbh_out_free(void);
void vbh_out_register(struct vbh_boot_record *br);
struct page *vbh_out_get(void);
void vbh_out_put(void);
void vbh_sysfs_unregister(void);

/* main.c: the one loader instance. */
enum vbh_state { VBH_STATE_OFF, VBH_STATE_RUNNING };
struct vbh_loader {
	enum vbh_state state;
	struct vbh_hypmem mem;
	struct vbh_launcher launcher;
	/* Copies of hypervisor-memory facts taken before launch: after launch the
	 * host may not read hypervisor memory. */
	u32 nr_hyp_ranges;
	struct vbh_mem_range hyp_ranges[VBH_MAX_HYP_RANGES];
	struct vbh_hyp_layout layout; /* init()'s report, copied after it returned */
	struct vbh_footprint footprint; /* the same */
	u64 ram_bytes;                /* System RAM the boot record listed */
	int cpuhp_state;
};
extern struct vbh_loader vbh_loader;

#endif /* VBH_LOADER_H */
