// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * /sys/kernel/vbh: status, hyp_ranges, hyp_layout, footprint, stats, exit_cycles, log. Formats are specified in
 * docs/loader.md; tests parse them, so change both together.
 */
#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/ctype.h>
#include <linux/kobject.h>
#include <linux/smp.h>
#include <linux/sysfs.h>

#include "loader.h"

static struct kobject *vbh_kobj;

static void vbh_count_guest(void *arg)
{
	if (vbh_cpu_is_guest(NULL))
		atomic_inc(arg);
}

/* Asks every online CPU, through a real hypercall, whether it is in guest mode. */
static ssize_t status_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	atomic_t guests = ATOMIC_INIT(0);
	unsigned int online;
	const char *state;
	u32 ver;
	bool here;

	cpus_read_lock();
	on_each_cpu(vbh_count_guest, &guests, 1);
	online = num_online_cpus();
	cpus_read_unlock();
	here = vbh_cpu_is_guest(&ver);
	if (vbh_loader.state == VBH_STATE_OFF)
		state = "off";
	else
		state = atomic_read(&guests) == online && here ? "running" : "failed";
	if (!here)
		return sysfs_emit(buf, "state=%s cpus=%d/%u backend=svm version=none iommu=none\n",
				  state, atomic_read(&guests), online);
	/* The seal succeeds only once vbh owns every VT-d or AMD-Vi unit (docs/iommu.md). */
	if (vbh_loader.launcher.sealed && vbh_amdvi_units())
		return sysfs_emit(buf, "state=%s cpus=%d/%u backend=svm version=%u.%u iommu=amdvi:%u\n",
				  state, atomic_read(&guests), online, ver >> 16, ver & 0xffff,
				  vbh_amdvi_units());
	if (vbh_loader.launcher.sealed && vbh_dmar_units())
		return sysfs_emit(buf, "state=%s cpus=%d/%u backend=svm version=%u.%u iommu=vtd:%u\n",
				  state, atomic_read(&guests), online, ver >> 16, ver & 0xffff,
				  vbh_dmar_units());
	return sysfs_emit(buf, "state=%s cpus=%d/%u backend=svm version=%u.%u iommu=none\n", state,
			  atomic_read(&guests), online, ver >> 16, ver & 0xffff);
}

/* One range per line, physical, inclusive end, as in /proc/iomem. */
static ssize_t hyp_ranges_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t n = 0;
	u32 i;

	for (i = 0; i < vbh_loader.nr_hyp_ranges; i++) {
		const struct vbh_mem_range *r = &vbh_loader.hyp_ranges[i];

		n += sysfs_emit_at(buf, n, "%016llx-%016llx\n", r->base, r->base + r->size - 1);
	}
	return n;
}

static const char *const vbh_layout_names[VBH_LAYOUT_NR] = {
#define VBH_LAYOUT_NAME(name) #name,
	VBH_LAYOUT_KINDS(VBH_LAYOUT_NAME)
#undef VBH_LAYOUT_NAME
};

/* "KIND FIRST_PFN COUNT" per kind the hypervisor reported (boot.h, vbh_hyp_layout);
 * kind names in lower case. */
static ssize_t hyp_layout_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t n = 0;
	const char *c;
	u32 i;

	for (i = 0; i < VBH_LAYOUT_NR; i++) {
		const struct vbh_layout_entry *e = &vbh_loader.layout.kind[i];

		if (!e->count)
			continue;
		for (c = vbh_layout_names[i]; *c; c++)
			n += sysfs_emit_at(buf, n, "%c", tolower(*c));
		n += sysfs_emit_at(buf, n, " %#llx %llu\n", e->pfn, e->count);
	}
	return n;
}

static const char *const vbh_footprint_names[VBH_FOOTPRINT_NR] = {
#define VBH_FOOTPRINT_NAME(NAME, name) #name,
	VBH_FOOTPRINT_PARTS(VBH_FOOTPRINT_NAME)
#undef VBH_FOOTPRINT_NAME
};

const char *vbh_footprint_name(u32 part)
{
	return vbh_footprint_names[part];
}

/* "PART BYTES" per part the hypervisor reported at init (boot.h, vbh_footprint), then
 * "total BYTES" (their sum: every byte of hyp_ranges) and "ram BYTES" (System RAM). */
static ssize_t footprint_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	ssize_t n = 0;
	u64 total = 0;
	u32 i;

	for (i = 0; i < VBH_FOOTPRINT_NR; i++)
		total += vbh_loader.footprint.bytes[i];
	if (!total)
		return 0;
	for (i = 0; i < VBH_FOOTPRINT_NR; i++)
		n += sysfs_emit_at(buf, n, "%s %llu\n", vbh_footprint_name(i),
				   vbh_loader.footprint.bytes[i]);
	n += sysfs_emit_at(buf, n, "total %llu\nram %llu\n", total, vbh_loader.ram_bytes);
	return n;
}

static ssize_t stats_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	return vbh_stats_show(buf);
}

static ssize_t exit_cycles_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	return vbh_cycles_show(buf);
}

static ssize_t log_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	return vbh_log_show(buf);
}

static struct kobj_attribute vbh_status_attr = __ATTR_RO(status);
/* Physical addresses and guest RIPs (KASLR) are for root only. */
static struct kobj_attribute vbh_hyp_ranges_attr = __ATTR(hyp_ranges, 0400, hyp_ranges_show, NULL);
static struct kobj_attribute vbh_hyp_layout_attr = __ATTR(hyp_layout, 0400, hyp_layout_show, NULL);
static struct kobj_attribute vbh_footprint_attr = __ATTR_RO(footprint);
static struct kobj_attribute vbh_stats_attr = __ATTR_RO(stats);
static struct kobj_attribute vbh_exit_cycles_attr = __ATTR_RO(exit_cycles);
static struct kobj_attribute vbh_log_attr = __ATTR(log, 0400, log_show, NULL);

static struct attribute *vbh_attrs[] = {
	&vbh_status_attr.attr,
	&vbh_hyp_ranges_attr.attr,
	&vbh_hyp_layout_attr.attr,
	&vbh_footprint_attr.attr,
	&vbh_stats_attr.attr,
	&vbh_exit_cycles_attr.attr,
	&vbh_log_attr.attr,
	NULL,
};

static const struct attribute_group vbh_group = { .attrs = vbh_attrs };

int vbh_sysfs_register(void)
{
	int err;

	vbh_kobj = kobject_create_and_add("vbh", kernel_kobj);
	if (!vbh_kobj)
		return -ENOMEM;
	err = sysfs_create_group(vbh_kobj, &vbh_group);
	if (err) {
		pr_err(VBH_PFX "cannot create /sys/kernel/vbh (%d)\n", err);
		vbh_sysfs_unregister();
	}
	return err;
}

void vbh_sysfs_unregister(void)
{
	if (vbh_kobj)
		kobject_put(vbh_kobj);
	vbh_kobj = NULL;
}
