// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * /sys/kernel/vbh/stats, exit_cycles and log: the hypervisor's exit counters
 * (vbh/stats.h, VBH_HC_STATS_READ), time per exit (VBH_HC_CYCLES_READ) and event log
 * (vbh/log.h, VBH_HC_LOG_READ, VBH_HC_LOG_SUMMARY). The calls copy into the loader's
 * one output frame, which the boot record names: the hypervisor writes no other host
 * frame (VBH_E_DENIED). The loader never reads hypervisor memory. Formats:
 * docs/loader.md.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>
#include <vbh/log.h>
#include <vbh/stats.h>

#include "loader.h"

/* Allocated before init and never freed while the hypervisor may write it. */
static struct page *vbh_out_page;
static DEFINE_MUTEX(vbh_out_lock);

int vbh_out_alloc(void)
{
	if (!vbh_out_page)
		vbh_out_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!vbh_out_page)
		return -ENOMEM;
	/* The containment suite reads this line to borrow the frame, as a hostile
	 * kernel could (tests/scenarios/containment/msr.sh). */
	pr_info(VBH_PFX "output frame pfn %#lx\n", page_to_pfn(vbh_out_page));
	return 0;
}

void vbh_out_free(void)
{
	if (vbh_out_page)
		__free_page(vbh_out_page);
	vbh_out_page = NULL;
}

void vbh_out_register(struct vbh_boot_record *br)
{
	br->out_pfn = page_to_pfn(vbh_out_page);
	br->out_count = 1;
}

struct page *vbh_out_get(void)
{
	mutex_lock(&vbh_out_lock);
	return vbh_out_page;
}

void vbh_out_put(void)
{
	mutex_unlock(&vbh_out_lock);
}

/* Lines are at most ~600 bytes: a 4 KiB sysfs page holds about six CPUs. */
#define VBH_EXIT_NAME_(name, value, text) [VBH_EXIT_##name] = "exit_" #text,
static const char *const vbh_exit_names[VBH_EXIT_KIND_COUNT] = { VBH_EXIT_KINDS(VBH_EXIT_NAME_) };
#undef VBH_EXIT_NAME_

static ssize_t vbh_emit_cpu(char *buf, ssize_t n, const void *data)
{
	const struct vbh_cpu_stats *s = data;
	unsigned int k;

	n += sysfs_emit_at(buf, n, "cpu=%u launched=%u total_exits=%llu", s->cpu,
			   s->launched, s->total_exits);
	for (k = 0; k < VBH_EXIT_KIND_COUNT; k++)
		n += sysfs_emit_at(buf, n, " %s=%llu", vbh_exit_names[k], s->exits[k]);
	n += sysfs_emit_at(buf, n,
			   " flushes=%llu kicks_sent=%llu kicks_taken=%llu nmis_reflected=%llu faults_reflected=%llu dma_faults=%llu",
			   s->flushes, s->kicks_sent, s->kicks_taken, s->nmis_reflected,
			   s->faults_reflected, s->dma_faults);
	n += sysfs_emit_at(buf, n, " l2_entries=%llu l2_exits=%llu l2_reflected=%llu",
			   s->l2_entries, s->l2_exits, s->l2_reflected);
	n += sysfs_emit_at(buf, n, " l2_shadow_fills=%llu l2_shadow_drops=%llu",
			   s->l2_shadow_fills, s->l2_shadow_drops);
	n += sysfs_emit_at(buf, n,
			   " l2_state_drops=%llu l2_asids=%llu l2_shadow_pages=%llu l2_vmcb12=%llu l2_running=%llu host_svme=%llu host_hsave=%llu\n",
			   s->l2_state_drops, s->l2_asids, s->l2_shadow_pages, s->l2_vmcb12,
			   s->l2_running, s->host_svme, s->host_hsave);
	return n;
}

/* One hypercall into a frame; a text reason in *why when it did not work. */
static bool vbh_read_into(struct page *pg, struct vbh_hc *hc, const char **why)
{
	memset(page_address(pg), 0, PAGE_SIZE);
	if (!vbh_hypercall(hc)) {
		*why = "no hypervisor on this CPU";
		return false;
	}
	if (hc->status != VBH_OK) {
		*why = vbh_status_name(hc->status);
		return false;
	}
	return true;
}

/* One line per CPU and exit kind that has exits:
 * cpu=C kind=KIND count=N cycles=SUM max=M hist=B:COUNT,... (non-empty buckets). */
static ssize_t vbh_emit_cycles(char *buf, ssize_t n, const void *data)
{
	const struct vbh_cpu_cycles *c = data;
	unsigned int k, b;
	const char *sep;

	for (k = 0; k < VBH_EXIT_KIND_COUNT; k++) {
		const struct vbh_exit_cycles *e = &c->kind[k];

		if (!e->count)
			continue;
		n += sysfs_emit_at(buf, n, "cpu=%u kind=%s count=%llu cycles=%llu max=%llu hist=",
				   c->cpu, vbh_exit_names[k] + strlen("exit_"), e->count, e->sum,
				   e->max);
		sep = "";
		for (b = 0; b < VBH_CYCLE_BUCKETS; b++) {
			if (!e->hist[b])
				continue;
			n += sysfs_emit_at(buf, n, "%s%u:%llu", sep, b, e->hist[b]);
			sep = ",";
		}
		n += sysfs_emit_at(buf, n, "\n");
	}
	return n;
}

/* A per-CPU read (STATS_READ, CYCLES_READ: arg0 = cpu, arg1 = pfn) and the struct it
 * returns, which starts with its u32 version. */
struct vbh_percpu_read {
	u64 call;
	const char *what;
	u32 version;
	size_t size;
	ssize_t (*emit)(char *buf, ssize_t n, const void *data);
};

/* Every CPU the hypervisor counts, one read each. CPU 0's answer also gives the count
 * and is checked against the version and size this loader was built for. */
static ssize_t vbh_percpu_emit(char *buf, struct page *pg, const struct vbh_percpu_read *r)
{
	const u32 *version = page_address(pg);
	struct vbh_hc hc = { .call = r->call, .args = { 0, page_to_pfn(pg) } };
	const char *why = NULL;
	u64 cpu, nr;
	ssize_t n;

	if (!vbh_read_into(pg, &hc, &why))
		return sysfs_emit(buf, "unavailable: %s\n", why);
	if (hc.out[1] < r->size || *version != r->version)
		return sysfs_emit(buf, "unavailable: %s version %u size %llu, want %u %zu\n",
				  r->what, *version, hc.out[1], r->version, r->size);
	nr = min_t(u64, hc.out[0], VBH_MAX_CPUS);
	n = r->emit(buf, 0, page_address(pg));
	for (cpu = 1; cpu < nr; cpu++) {
		hc = (struct vbh_hc){ .call = r->call, .args = { cpu, page_to_pfn(pg) } };
		if (!vbh_read_into(pg, &hc, &why))
			n += sysfs_emit_at(buf, n, "cpu=%llu unavailable: %s\n", cpu, why);
		else
			n = r->emit(buf, n, page_address(pg));
	}
	return n;
}

static ssize_t vbh_stats_emit(char *buf, struct page *pg)
{
	static const struct vbh_percpu_read r = {
		VBH_HC_STATS_READ, "stats", VBH_STATS_VERSION, sizeof(struct vbh_cpu_stats),
		vbh_emit_cpu,
	};

	return vbh_percpu_emit(buf, pg, &r);
}

static ssize_t vbh_cycles_emit(char *buf, struct page *pg)
{
	static const struct vbh_percpu_read r = {
		VBH_HC_CYCLES_READ, "cycles", VBH_CYCLES_VERSION, sizeof(struct vbh_cpu_cycles),
		vbh_emit_cycles,
	};

	return vbh_percpu_emit(buf, pg, &r);
}

static const char *vbh_log_kind(u32 kind)
{
#define VBH_LOG_NAME_(name, value, text) [VBH_LOG_##name] = #text,
	static const char *const names[] = { VBH_LOG_KINDS(VBH_LOG_NAME_) };
#undef VBH_LOG_NAME_

	return kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "unknown";
}

#define VBH_LOG_SHOWN 24u /* newest entries that fit in a sysfs page with the summary */
#define VBH_LOG_SUMMARY_KINDS 6u /* at most this many kinds get "total"/"first" lines */

/* After the newest entries: per kind, "total kind=K count=N", then its first entries
 * as "first seq=..." lines, which no flood overwrites (VBH_HC_LOG_SUMMARY). */
static ssize_t vbh_log_summary_emit(char *buf, ssize_t n, struct page *pg)
{
	const struct vbh_log_summary *s = page_address(pg);
	struct vbh_hc hc = { .call = VBH_HC_LOG_SUMMARY, .args = { page_to_pfn(pg) } };
	const char *why = NULL;
	u32 k, i, shown = 0;

	if (!vbh_read_into(pg, &hc, &why))
		return n + sysfs_emit_at(buf, n, "summary unavailable: %s\n", why);
	for (k = 0; k < VBH_LOG_KIND_SLOTS && shown < VBH_LOG_SUMMARY_KINDS; k++) {
		if (!s->count[k])
			continue;
		shown++;
		n += sysfs_emit_at(buf, n, "total kind=%s count=%llu\n", vbh_log_kind(k),
				   s->count[k]);
		for (i = 0; i < min_t(u64, s->count[k], VBH_LOG_FIRST_PER_KIND); i++) {
			const struct vbh_log_entry *e = &s->first[k][i];

			n += sysfs_emit_at(buf, n,
					   "first seq=%llu cpu=%u kind=%s addr=%#llx rip=%#llx info=%#llx\n",
					   e->seq, e->cpu, vbh_log_kind(e->kind), e->addr, e->rip,
					   e->info);
		}
	}
	return n;
}

static ssize_t vbh_log_emit(char *buf, struct page *pg)
{
	const struct vbh_log_page *p = page_address(pg);
	struct vbh_hc hc = { .call = VBH_HC_LOG_READ, .args = { page_to_pfn(pg), U64_MAX } };
	const char *why = NULL;
	u64 next;
	ssize_t n;
	u32 i;

	/* Asking for seq U64_MAX copies no entry but fills in next_seq. */
	if (!vbh_read_into(pg, &hc, &why))
		return sysfs_emit(buf, "unavailable: %s\n", why);
	next = READ_ONCE(p->next_seq);
	hc.args[1] = next > VBH_LOG_SHOWN ? next - VBH_LOG_SHOWN : 0;
	hc.call = VBH_HC_LOG_READ;
	if (!vbh_read_into(pg, &hc, &why))
		return sysfs_emit(buf, "unavailable: %s\n", why);
	n = sysfs_emit(buf, "next_seq=%llu lost=%llu count=%u\n", p->next_seq, p->lost,
		       p->count);
	for (i = 0; i < min_t(u32, p->count, VBH_LOG_PAGE_ENTRIES); i++) {
		const struct vbh_log_entry *e = &p->entries[i];

		n += sysfs_emit_at(buf, n, "seq=%llu cpu=%u kind=%s addr=%#llx rip=%#llx info=%#llx\n",
				   e->seq, e->cpu, vbh_log_kind(e->kind), e->addr, e->rip,
				   e->info);
	}
	return vbh_log_summary_emit(buf, n, pg);
}

/* The hypervisor copies into the output frame, one reader at a time. */
static ssize_t vbh_show_via_page(char *buf, ssize_t (*emit)(char *, struct page *))
{
	struct page *pg;
	ssize_t n;

	if (vbh_loader.state == VBH_STATE_OFF)
		return sysfs_emit(buf, "unavailable: hypervisor not launched\n");
	pg = vbh_out_get();
	n = emit(buf, pg);
	vbh_out_put();
	return n;
}

ssize_t vbh_stats_show(char *buf)
{
	return vbh_show_via_page(buf, vbh_stats_emit);
}

ssize_t vbh_cycles_show(char *buf)
{
	return vbh_show_via_page(buf, vbh_cycles_emit);
}

ssize_t vbh_log_show(char *buf)
{
	return vbh_show_via_page(buf, vbh_log_emit);
}
