// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * /sys/kernel/vbh/stats, exit_cycles and log: the hypervisor's exit counters
 * (vbh/stats.h, VBH_HC_STATS_READ), time per exit (VBH_HC_CYCLES_READ) and event log
 * (vbh/log.h, VBH_HC_LOG_READ). The calls copy into a host-owned frame the loader
 * allocates per read; the loader never reads hypervisor memory. Formats: docs/loader.md.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sysfs.h>
#include <vbh/log.h>
#include <vbh/stats.h>

#include "loader.h"

/* Lines are at most ~300 bytes: a 4 KiB sysfs page holds about a dozen CPUs. */
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
			   " flushes=%llu kicks_sent=%llu kicks_taken=%llu nmis_reflected=%llu faults_reflected=%llu dma_faults=%llu\n",
			   s->flushes, s->kicks_sent, s->kicks_taken, s->nmis_reflected,
			   s->faults_reflected, s->dma_faults);
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

#define VBH_LOG_SHOWN 40u /* newest entries that fit in a sysfs page */

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
	return n;
}

/* The hypervisor copies into a fresh host page: one per read, freed after. */
static ssize_t vbh_show_via_page(char *buf, ssize_t (*emit)(char *, struct page *))
{
	struct page *pg;
	ssize_t n;

	if (vbh_loader.state == VBH_STATE_OFF)
		return sysfs_emit(buf, "unavailable: hypervisor not launched\n");
	pg = alloc_page(GFP_KERNEL);
	if (!pg)
		return -ENOMEM;
	n = emit(buf, pg);
	__free_page(pg);
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
