// SPDX-License-Identifier: GPL-2.0
/*
 * Platform MSRs, INVD and the log's flood resistance (docs/containment.md, attacks 11
 * to 13). A single MSR write with its read-back is svm.c's msr_write; here:
 *   invd          INVD, which would throw away dirty cache lines (the hypervisor's
 *                 among them) instead of writing them back
 *   msr_flood     N writes of one MSR: under vbh N refused writes, N log entries
 *   log_summary   the hypervisor's per-kind counter and first entries of one kind
 *                 (VBH_HC_LOG_SUMMARY), which a flood must not overwrite
 */
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <vbh/log.h>
#include <vbh/stats.h>
#include "attack.h"
#include "probe.h"

static inline int probe_invd(void)
{
	unsigned long ax = 0, flt;

	asm volatile(PROBE_BEGIN "invd" PROBE_END : [flt] "=&r"(flt), "+a"(ax) : : "memory");
	return probe_trap(flt, ax);
}

/* invd: only when CPUID says a hypervisor (QEMU, vbh) is underneath: on bare metal
 * INVD drops every dirty line of the kernel too. exits= counts INVD exits of this
 * CPU around the one instruction. */
static int invd_attack(int argc, const u64 *a)
{
	unsigned long flags;
	u64 e0;
	int t;

	if (refuse_on_bare_metal())
		return 0;
	local_irq_save(flags);
	wbinvd(); /* nothing of ours is dirty when INVD runs natively (an exit of its own under vbh) */
	e0 = exits_now(VBH_EXIT_INVD);
	t = probe_invd();
	out_exits(VBH_EXIT_INVD, e0);
	local_irq_restore(flags);
	if (t != PROBE_OK)
		out("result=fault trap=%d\n", t);
	else
		out("result=executed\n");
	return 0;
}

/* msr_flood N MSR VAL: N WRMSRs; faults= how many the CPU (or vbh) refused. */
static int msr_flood(int argc, const u64 *a)
{
	u64 i, faults = 0;

	for (i = 0; i < a[0]; i++) {
		if (probe_wrmsr(a[1], a[2]) != PROBE_OK)
			faults++;
		if (!(i % 64))
			cond_resched();
	}
	out("result=done writes=%llu faults=%llu\n", a[0], faults);
	return 0;
}

/* log_summary KIND: count=, and first0_seq=/first0_addr=/first0_info= per kept entry. */
static int log_summary(int argc, const u64 *a)
{
	struct vbh_log_summary *s = reply();
	struct hc_ret r;
	u32 k = a[0] < VBH_LOG_KIND_SLOTS ? a[0] : 0, i;

	if (!s)
		return -ENOMEM;
	r = hc(VBH_HC_LOG_SUMMARY, page_to_pfn(virt_to_page(s)), 0, 0, 0);
	if (r.trap != PROBE_OK || r.status != VBH_OK) {
		if (r.trap != PROBE_OK)
			out("result=fault trap=%d\n", r.trap);
		else
			out("result=returned status=%llu\n", r.status);
		return 0;
	}
	out("next=%llu count=%llu ", s->next_seq, s->count[k]);
	for (i = 0; i < min_t(u64, s->count[k], VBH_LOG_FIRST_PER_KIND); i++)
		out("first%u_seq=%llu first%u_addr=0x%llx first%u_info=0x%llx ", i,
		    s->first[k][i].seq, i, s->first[k][i].addr, i, s->first[k][i].info);
	out("result=returned status=0\n");
	return 0;
}

const struct atk_cmd msr_cmds[] = {
	{ "invd", 0, invd_attack, "" },
	{ "msr_flood", 3, msr_flood, "N MSR VAL" },
	{ "log_summary", 1, log_summary, "KIND" },
	{ }
};
