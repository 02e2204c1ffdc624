// SPDX-License-Identifier: GPL-2.0
/*
 * Attacks 4, 5 and 6 of docs/containment.md, which need two CPUs at once.
 *
 * race: CPU 0 donates, fills (TEST_FILL) and reclaims a few frames in a loop while
 * CPU 1 races reclaims and donates on the same frames and reads every word of them
 * through the direct map. A word the reader sees must be the host's own pattern, zero
 * (scrubbed on reclaim) or a fault; anything else is the domain's secret: a leak.
 * race_sim proves that reader: it runs the same loop with the "hypervisor" replaced
 * by plain host writes of a secret, which the reader must catch.
 *
 * (toctou.c has the argument-buffer race.)
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include "attack.h"
#include "probe.h"

struct race {
	u64 pfn, count, dom, iters, hseed;
	bool sim;
	bool stop;
	struct completion done;
	u64 status[VBH_STATUS_COUNT + 1]; /* last slot: a status outside the ABI */
	u64 traps, words, faults, leaks, leak_word;
	u64 scans; /* full scans by the reader, for the hand-shake in race_run */
};

static void count_status(struct race *r, struct hc_ret h)
{
	if (h.trap != PROBE_OK)
		r->traps++;
	else
		r->status[min_t(u64, h.status, VBH_STATUS_COUNT)]++;
}

/* One donate or reclaim; in sim mode the host plays a hypervisor that protects nothing. */
static void mutate(struct race *r, bool donate, u64 seed)
{
	u64 n;
	unsigned int i;

	if (!r->sim) {
		count_status(r, hc(donate ? VBH_HC_HOST_DONATE : VBH_HC_HOST_RECLAIM,
				   r->pfn, r->count, r->dom, 0));
		if (donate)
			count_status(r, hc(VBH_HC_TEST_FILL, r->dom, r->pfn, r->count, seed));
		return;
	}
	for (n = 0; n < r->count; n++) {
		u64 *w = phys_to_virt(PFN_PHYS(r->pfn + n));

		for (i = 0; i < PAGE_SIZE / 8; i++)
			WRITE_ONCE(w[i], donate ? pattern_word(seed, i) | 1 : 0);
	}
}

static void scan(struct race *r)
{
	u64 n, v;
	unsigned int i;

	for (n = 0; n < r->count; n++) {
		u64 *w = phys_to_virt(PFN_PHYS(r->pfn + n));

		for (i = 0; i < PAGE_SIZE / 8; i++) {
			r->words++;
			if (probe_read64(&w[i], &v) != PROBE_OK) {
				r->faults++;
			} else if (v && v != pattern_word(r->hseed + n, i)) {
				r->leaks++;
				r->leak_word = v;
			}
		}
	}
}

/* Statuses a racing donate/reclaim must never return. */
static u64 other_statuses(const struct race *r)
{
	u64 sum = 0;
	int i;

	for (i = 0; i <= VBH_STATUS_COUNT; i++)
		if (i != VBH_OK && i != VBH_E_STATE)
			sum += r->status[i];
	return sum;
}

static int racer(void *arg)
{
	struct race *r = arg;
	u64 i = 0;

	while (!READ_ONCE(r->stop)) {
		i++;
		if (!r->sim)
			mutate(r, i & 1, 0x5eed0000 + i);
		scan(r);
		WRITE_ONCE(r->scans, r->scans + 1);
		cond_resched();
	}
	complete(&r->done);
	return 0;
}

/* Wait (at most 2 ms) until the reader has finished a scan that started after now. */
static void wait_scans(struct race *r)
{
	u64 s0 = READ_ONCE(r->scans);
	ktime_t end = ktime_add_us(ktime_get(), 2000);

	while (READ_ONCE(r->scans) < s0 + 2 && ktime_before(ktime_get(), end))
		cpu_relax();
}

static void race_run(struct race *r)
{
	struct task_struct *t;
	u64 i;

	if (num_online_cpus() < 2 || !cpu_online(1) || smp_processor_id() == 1) {
		out("result=error reason=needs_cpu1_free\n");
		return;
	}
	init_completion(&r->done);
	t = kthread_create_on_cpu(racer, r, 1, "vbh_attack_race");
	if (IS_ERR(t)) {
		out("result=error err=%ld\n", PTR_ERR(t));
		return;
	}
	wake_up_process(t);
	for (i = 0; i < 1000 && !READ_ONCE(r->scans); i++)
		msleep(1);	/* CPU 1 may not be scheduled at once under TCG */
	for (i = 0; i < r->iters; i++) {
		mutate(r, true, 0x5ec0000 + i);
		wait_scans(r);	/* the reader must look while the frames are "donated" */
		mutate(r, false, 0);
		cond_resched();
	}
	WRITE_ONCE(r->stop, true);
	wait_for_completion(&r->done);
	if (!r->sim)	/* leave the frames with the host, whoever won the last round */
		hc(VBH_HC_HOST_RECLAIM, r->pfn, r->count, r->dom, 0);
	scan(r);	/* and every word must be readable again */
	out("iters=%llu ok=%llu e_state=%llu other=%llu traps=%llu ", r->iters,
	    r->status[VBH_OK], r->status[VBH_E_STATE], other_statuses(r), r->traps);
	out("words=%llu faults=%llu leaks=%llu leak_word=0x%llx result=%s\n", r->words,
	    r->faults, r->leaks, r->leak_word, r->leaks ? "leaked" : "clean");
}

static struct race race_state;

/* race PFN COUNT DOM ITERS HSEED (HSEED: the seed the host filled the frames with) */
static int cmd_race(int argc, const u64 *a)
{
	struct race *r = &race_state;

	memset(r, 0, sizeof(*r));
	*r = (struct race){ .pfn = a[0], .count = a[1], .dom = a[2], .iters = a[3],
			    .hseed = a[4] };
	race_run(r);
	return 0;
}

/* race_sim PFN COUNT ITERS HSEED */
static int cmd_race_sim(int argc, const u64 *a)
{
	struct race *r = &race_state;

	memset(r, 0, sizeof(*r));
	*r = (struct race){ .pfn = a[0], .count = a[1], .iters = a[2], .hseed = a[3],
			    .sim = true };
	race_run(r);
	return 0;
}

const struct atk_cmd race_cmds[] = {
	{ "race", 5, cmd_race, "PFN COUNT DOM ITERS HSEED" },
	{ "race_sim", 4, cmd_race_sim, "PFN COUNT ITERS HSEED" },
	{ "toctou", 5, cmd_toctou, "LISTPFN GOODPFN BADPFN DOM MS" },
	{ "toctou_sim", 4, cmd_toctou_sim, "LISTPFN GOODPFN BADPFN MS" },
	{ }
};
