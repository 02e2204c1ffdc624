// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vbh loader: late launch of the vbh hypervisor on every online CPU.
 *
 * insmod either leaves a machine where every online CPU runs Linux in guest mode
 * under a sealed hypervisor, or fails and leaves the machine as it was. After a
 * successful launch the module cannot be unloaded: the hypervisor's memory is never
 * given back. Sequence and formats: docs/loader.md.
 */
#include <linux/cpu.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "loader.h"

static unsigned int hyp_mem_mb;
module_param(hyp_mem_mb, uint, 0444);
MODULE_PARM_DESC(hyp_mem_mb, "hypervisor memory in MiB (0: sized by part, docs/loader.md)");

static bool launch = true;
module_param(launch, bool, 0444);
MODULE_PARM_DESC(launch, "launch the hypervisor (0: load only, state=off)");

/*
 * The test loader (make VBH_TEST=1, embedding vbh-test.bin) alone has attackable=; the
 * production loader has no such parameter, and its vbh.bin ignores the boot flag.
 */
#ifdef VBH_TEST_HOOKS
static bool attackable;
module_param(attackable, bool, 0444);
MODULE_PARM_DESC(attackable, "test loader only: ask vbh-test.bin not to hide its memory (VBH_BOOT_DEMO_ATTACKABLE)");
#define VBH_BOOT_FLAGS (attackable ? VBH_BOOT_DEMO_ATTACKABLE : 0)
#define VBH_BUILD " (test build: TEST_* hypercalls, attackable=)"
#else
#define VBH_BOOT_FLAGS 0
#define VBH_BUILD ""
#endif

struct vbh_loader vbh_loader;

static int vbh_mem_size(const struct vbh_image_header *img, const struct vbh_ram_map *ram,
			u64 *bytes, u64 *br_offset)
{
	u64 min;

	*br_offset = PAGE_ALIGN(img->mem_size);
	min = *br_offset + PAGE_ALIGN(sizeof(struct vbh_boot_record)) + SZ_1M;
	*bytes = hyp_mem_mb ? (u64)hyp_mem_mb << 20 :
			      vbh_hypmem_default_size(min - SZ_1M, ram, VBH_BUDGET_RANGES);
	if (*bytes < min) {
		pr_err(VBH_PFX "hyp_mem_mb=%u is too small: the image needs at least %llu MiB\n",
		       hyp_mem_mb, DIV_ROUND_UP(min, SZ_1M));
		return -EINVAL;
	}
	return 0;
}

/* The automatic size counts on at most VBH_BUDGET_RANGES ranges; memory that came in
 * more is given back and reserved once more with their splits budgeted. */
static int vbh_mem_alloc(struct vbh_hypmem *m, const struct vbh_ram_map *ram, u64 *bytes,
			 u64 br_offset)
{
	int err = vbh_hypmem_alloc(m, *bytes);
	u32 seen = m->nr_ranges;

	if (err || hyp_mem_mb || seen <= VBH_BUDGET_RANGES)
		return err;
	vbh_hypmem_free(m);
	*bytes = vbh_hypmem_default_size(br_offset + PAGE_ALIGN(sizeof(struct vbh_boot_record)),
					 ram, seen);
	return vbh_hypmem_alloc(m, *bytes);
}

/* The boot log's account of hypervisor memory by part (boot.h, vbh_footprint). */
static void vbh_log_footprint(const struct vbh_footprint *fp, u64 total, u64 ram_bytes)
{
	char line[384];
	int n = 0;
	u32 i;
	u64 bp = (total * 10000 + ram_bytes / 2) / ram_bytes; /* hundredths of a percent */

	for (i = 0; i < VBH_FOOTPRINT_NR; i++)
		n += scnprintf(line + n, sizeof(line) - n, "%s%s %llu KiB", i ? ", " : "",
			       vbh_footprint_name(i), fp->bytes[i] >> 10);
	pr_info(VBH_PFX "hypervisor memory %llu KiB, %llu.%02llu %% of %llu MiB RAM: %s\n",
		total >> 10, bp / 100, bp % 100, ram_bytes >> 20, line);
}

/* init runs once, on this CPU, with interrupts and preemption off (boot.h). */
static int vbh_call_init(const struct vbh_image_header *img, u64 br_offset)
{
	struct vbh_hypmem *m = &vbh_loader.mem;
	vbh_init_fn init = (vbh_init_fn)(m->virt + img->init_offset);
	unsigned long flags;
	s64 st;

	preempt_disable();
	local_irq_save(flags);
	st = init(m->virt + br_offset);
	local_irq_restore(flags);
	preempt_enable();
	if (st != VBH_OK) {
		pr_err(VBH_PFX "hypervisor init failed: %s (%lld)\n", vbh_status_name(st), st);
		return -EIO;
	}
	return 0;
}

/* Reserve, copy the image, fill the boot record, init. Nothing launched yet. */
static int vbh_prepare(const struct vbh_image_header *img, struct vbh_ram_map *ram)
{
	struct vbh_hypmem *m = &vbh_loader.mem;
	u64 bytes, br_offset;
	int err;
	u32 i;

	err = vbh_out_alloc();
	if (!err)
		err = vbh_ram_map_read(ram);
	if (!err)
		err = vbh_mem_size(img, ram, &bytes, &br_offset);
	if (!err)
		err = vbh_mem_alloc(m, ram, &bytes, br_offset);
	if (err)
		return err;
	memcpy(m->virt, img, img->file_size);
	vbh_bootrec_fill(m->virt + br_offset, m, ram, br_offset, VBH_BOOT_FLAGS);
	vbh_out_register(m->virt + br_offset);
	/* After launch the host may not read hypervisor memory: keep our own copy. */
	vbh_loader.nr_hyp_ranges = m->nr_ranges;
	memcpy(vbh_loader.hyp_ranges, m->ranges, sizeof(m->ranges));
	vbh_loader.launcher.launch = (vbh_launch_fn)(m->virt + img->launch_offset);
	pr_info(VBH_PFX "%llu KiB of hypervisor memory in %u range(s) at %p, image %s %llu KiB%s\n",
		bytes >> 10, m->nr_ranges, m->virt, VBH_IMAGE_NAME, img->mem_size >> 10, VBH_BUILD);
	err = vbh_call_init(img, br_offset);
	if (err) {
		vbh_hypmem_free(m);
		return err;
	}
	memcpy(&vbh_loader.layout, &((struct vbh_boot_record *)(m->virt + br_offset))->layout,
	       sizeof(vbh_loader.layout));
	memcpy(&vbh_loader.footprint,
	       &((struct vbh_boot_record *)(m->virt + br_offset))->footprint,
	       sizeof(vbh_loader.footprint));
	vbh_loader.ram_bytes = 0;
	for (i = 0; i < ram->nr; i++)
		vbh_loader.ram_bytes += ram->r[i].size;
	vbh_log_footprint(&vbh_loader.footprint, bytes, vbh_loader.ram_bytes);
	return 0;
}

/* Launch every online CPU, seal. On failure the machine is back in host mode. */
static int vbh_go(struct vbh_loader *v)
{
	int err = vbh_hotplug_register();

	if (!err)
		err = vbh_launch_all(&v->launcher);
	if (!err)
		err = vbh_seal(&v->launcher);
	if (err) {
		vbh_hotplug_unregister();
		if (err == -EBUSY)
			pr_crit(VBH_PFX "rollback incomplete: hypervisor memory stays reserved\n");
		else
			vbh_hypmem_free(&v->mem);
		return err;
	}
	if (vbh_hypmem_hide(&v->mem))
		pr_warn(VBH_PFX "hypervisor memory left mapped in the host page tables\n");
	return 0;
}

static int vbh_start(const struct vbh_image_header *img)
{
	struct vbh_ram_map *ram = kzalloc(sizeof(*ram), GFP_KERNEL);
	int err;

	if (!ram)
		return -ENOMEM;
	cpus_read_lock();
	err = vbh_preflight();
	if (!err)
		err = vbh_prepare(img, ram);
	if (!err)
		err = vbh_go(&vbh_loader);
	cpus_read_unlock();
	kfree(ram);
	return err;
}

static int __init vbh_loader_init(void)
{
	const struct vbh_image_header *img;
	int err = vbh_image_check(&img);

	if (err)
		return err;
	err = vbh_sysfs_register();
	if (!err)
		err = vbh_dev_register();
	if (!err)
		err = vbh_pm_register();
	if (err)
		goto fail;
	if (!launch) {
		pr_info(VBH_PFX "loaded without launch (launch=0), state=off\n");
		return 0;
	}
	err = vbh_start(img);
	if (err) {
		pr_err(VBH_PFX "launch failed (%d); the machine is unchanged\n", err);
		goto fail;
	}
	vbh_loader.state = VBH_STATE_RUNNING;
	/* Hypervisor memory is never returned to Linux: pin the module. */
	__module_get(THIS_MODULE);
	pr_info(VBH_PFX "hypervisor running and sealed on %u CPU(s); the module cannot be unloaded\n",
		cpumask_weight(&vbh_loader.launcher.launched));
	return 0;
fail:
	vbh_pm_unregister();
	vbh_dev_unregister();
	vbh_sysfs_unregister();
	vbh_out_free();
	return err;
}

/* Reached normally only with launch=0; after a launch only through rmmod --force. */
static void __exit vbh_loader_exit(void)
{
	if (vbh_loader.state != VBH_STATE_OFF) {
		pr_crit(VBH_PFX "forced unload: the hypervisor keeps running and its memory stays reserved; CPUs coming online will not be launched\n");
		cpus_read_lock();
		vbh_hotplug_unregister();
		cpus_read_unlock();
	}
	vbh_pm_unregister();
	vbh_dev_unregister();
	vbh_sysfs_unregister();
	if (vbh_loader.state == VBH_STATE_OFF)
		vbh_out_free(); /* else the hypervisor may still write it: leaked on purpose */
}

module_init(vbh_loader_init);
module_exit(vbh_loader_exit);
MODULE_DESCRIPTION("vbh: late launch of the vbh hypervisor (AMD SVM)");
MODULE_LICENSE("Dual MIT/GPL");
