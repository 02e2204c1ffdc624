// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercalls issued straight from this module with VMMCALL (attacks 2 and 3 of
 * docs/containment.md): a hostile kernel does not go through /dev/vbh, whose checks
 * would hide the hypervisor's own. Also reads the hypervisor's violation log and exit
 * counters, the evidence a "contained" verdict needs.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/cpufeature.h>
#include <vbh/log.h>
#include <vbh/stats.h>
#include "attack.h"
#include "probe.h"

struct hc_ret hc(u64 nr, u64 a0, u64 a1, u64 a2, u64 a3)
{
	return probe_vmmcall(nr, a0, a1, a2, a3);
}

static void out_hc(struct hc_ret r)
{
	if (r.trap != PROBE_OK)
		out("result=fault trap=%d\n", r.trap);
	else
		out("result=returned status=%llu out0=0x%llx out1=0x%llx\n",
		    r.status, r.out0, r.out1);
}

/* hc NR A0 A1 A2 A3: any call with any arguments. */
static int cmd_hc(int argc, const u64 *a)
{
	out_hc(hc(a[0], a[1], a[2], a[3], a[4]));
	return 0;
}

/* A host-owned frame the hypervisor writes the log or statistics into: this
 * module's own page until reply_pfn names the loader's output frame, the only one
 * vbh writes into (boot record out_pfn; any other is VBH_E_DENIED). */
static void *reply_page;

void *reply(void)
{
	return reply_page;
}

/* reply_pfn PFN: use that RAM frame (the loader's output frame) for replies, as
 * any ring-0 code could. */
static int cmd_reply_pfn(int argc, const u64 *a)
{
	if (!pfn_valid(a[0])) {
		out("result=error reason=pfn_invalid\n");
		return 0;
	}
	reply_page = page_address(pfn_to_page(a[0]));
	out("result=ok pfn=0x%llx\n", a[0]);
	return 0;
}

/* At load: the page must exist before any use with interrupts off. */
int hcall_init(void)
{
	reply_page = (void *)get_zeroed_page(GFP_KERNEL);
	return reply_page ? 0 : -ENOMEM;
}

#define LOG_KIND_NAME(name, value, text) [VBH_LOG_##name] = #text,
static const char *const log_kinds[] = { VBH_LOG_KINDS(LOG_KIND_NAME) };
#undef LOG_KIND_NAME

/* log SEQ: a summary line, then the entries with seq >= SEQ, one line each. */
static int cmd_log(int argc, const u64 *a)
{
	struct vbh_log_page *lp = reply();
	struct hc_ret r;
	u32 i, n;

	if (!lp)
		return -ENOMEM;
	r = hc(VBH_HC_LOG_READ, page_to_pfn(virt_to_page(lp)), a[0], 0, 0);
	if (r.trap != PROBE_OK || r.status != VBH_OK) {
		out_hc(r);
		return 0;
	}
	n = min_t(u32, lp->count, VBH_LOG_PAGE_ENTRIES);
	/* next: where the following read should start; end: the log's next sequence
	 * number. Printed first, so a reply cut short by the buffer still has them. */
	out("result=returned status=0 count=%u next=%llu end=%llu lost=%llu\n", n, r.out1,
	    lp->next_seq, lp->lost);
	for (i = 0; i < n; i++) {
		const struct vbh_log_entry *e = &lp->entries[i];

		out("log seq=%llu kind=%s addr=0x%llx rip=0x%llx info=0x%llx cpu=%u\n",
		    e->seq, e->kind < ARRAY_SIZE(log_kinds) && log_kinds[e->kind] ? log_kinds[e->kind] : "?",
		    e->addr, e->rip, e->info, e->cpu);
	}
	return 0;
}

bool refuse_on_bare_metal(void)
{
	if (boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return false;
	out("result=refused reason=bare_metal_guard\n");
	return true;
}

/*
 * exits_now KIND: this CPU's exit counter of KIND, or ~0 without a hypervisor. Read
 * right before and after one instruction with interrupts off, the difference says
 * whether that instruction exited to the hypervisor: evidence for an emulated write.
 */
u64 exits_now(unsigned int kind)
{
	struct vbh_cpu_stats *s = reply();
	struct hc_ret r;

	if (!s || kind >= VBH_EXIT_KIND_COUNT)
		return ~0ull;
	r = hc(VBH_HC_STATS_READ, raw_smp_processor_id(), page_to_pfn(virt_to_page(s)), 0, 0);
	if (r.trap != PROBE_OK || r.status != VBH_OK)
		return ~0ull;
	return s->exits[kind];
}

void out_exits(unsigned int kind, u64 before)
{
	u64 after = exits_now(kind);

	if (before == ~0ull || after == ~0ull)
		out("exits=none ");
	else
		out("exits=%llu ", after - before);
}

#define EXIT_KIND_NAME(name, value, text) [VBH_EXIT_##name] = #text,
static const char *const exit_kinds[VBH_EXIT_KIND_COUNT] = { VBH_EXIT_KINDS(EXIT_KIND_NAME) };
#undef EXIT_KIND_NAME

/* stats CPU: that CPU's exit counters as key=value. */
static int cmd_stats(int argc, const u64 *a)
{
	struct vbh_cpu_stats *s = reply();
	struct hc_ret r;
	int i;

	if (!s)
		return -ENOMEM;
	r = hc(VBH_HC_STATS_READ, a[0], page_to_pfn(virt_to_page(s)), 0, 0);
	if (r.trap != PROBE_OK || r.status != VBH_OK) {
		out_hc(r);
		return 0;
	}
	out("cpu=%u launched=%u", s->cpu, s->launched);
	for (i = 0; i < VBH_EXIT_KIND_COUNT; i++)
		out(" exit_%s=%llu", exit_kinds[i], s->exits[i]);
	out(" faults_reflected=%llu\nresult=returned status=0\n", s->faults_reflected);
	return 0;
}

const struct atk_cmd hc_cmds[] = {
	{ "hc", 5, cmd_hc, "NR A0 A1 A2 A3" },
	{ "log", 1, cmd_log, "SEQ" },
	{ "reply_pfn", 1, cmd_reply_pfn, "PFN" },
	{ "stats", 1, cmd_stats, "CPU" },
	{ }
};
