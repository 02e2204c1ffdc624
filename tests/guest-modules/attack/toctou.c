// SPDX-License-Identifier: GPL-2.0
/*
 * TOCTOU on a hypercall argument buffer (attack 4 of docs/containment.md). The only
 * call with an in-memory argument is VBH_HC_HOST_DONATE_LIST: an array of
 * struct vbh_frame_range in a host frame. While CPU 0 issues the call, CPU 1 flips
 * entry 0's pfn between a good host frame and a forbidden one (a hypervisor frame, or
 * a frame another domain owns). Copy-then-validate means every call either donates
 * the good frame or fails; a double fetch can validate "good" and donate "forbidden",
 * which shows as the target domain owning the forbidden frame afterwards.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include "attack.h"
#include "probe.h"

struct flip {
	struct vbh_frame_range *list;
	u64 good, bad;
	bool stop;
	u64 flips;
	struct completion done;
};

static int flipper(void *arg)
{
	struct flip *f = arg;

	while (!READ_ONCE(f->stop)) {
		WRITE_ONCE(f->list[0].pfn, f->bad);
		WRITE_ONCE(f->list[0].pfn, f->good);
		if (!(++f->flips & 0xfff))
			cond_resched();
	}
	complete(&f->done);
	return 0;
}

static void flip_stop(struct flip *f)
{
	WRITE_ONCE(f->stop, true);
	wait_for_completion(&f->done);
}

static bool flip_start(struct flip *f, u64 listpfn, u64 good, u64 bad)
{
	struct task_struct *t;
	int i;

	if (num_online_cpus() < 2 || !cpu_online(1) || smp_processor_id() == 1) {
		out("result=error reason=needs_cpu1_free\n");
		return false;
	}
	*f = (struct flip){ .list = phys_to_virt(PFN_PHYS(listpfn)), .good = good,
			    .bad = bad };
	f->list[0] = (struct vbh_frame_range){ .pfn = good, .count = 1 };
	init_completion(&f->done);
	t = kthread_create_on_cpu(flipper, f, 1, "vbh_attack_flip");
	if (IS_ERR(t)) {
		out("result=error err=%ld\n", PTR_ERR(t));
		return false;
	}
	wake_up_process(t);
	/* The host may not schedule CPU 1 at once (TCG vCPUs share busy host cores): only
	 * start the calls once the flipper is visibly running. */
	for (i = 0; i < 1000 && READ_ONCE(f->flips) < 1000; i++)
		msleep(1);
	if (READ_ONCE(f->flips) < 1000) {
		flip_stop(f);
		out("result=error reason=flipper_not_running\n");
		return false;
	}
	return true;
}

/*
 * toctou LISTPFN GOOD BAD DOM MS: calls for up to MS milliseconds, until both outcomes
 * (donated, refused) were seen 50 times: then the flipper demonstrably raced the calls.
 */
int cmd_toctou(int argc, const u64 *a)
{
	u64 i, ok = 0, refused = 0, other = 0, won = 0, stuck = 0;
	ktime_t end = ktime_add_ms(ktime_get(), a[4]);
	struct flip f;
	struct hc_ret r;

	if (!flip_start(&f, a[0], a[1], a[2]))
		return 0;
	for (i = 0; ktime_before(ktime_get(), end) && (ok < 50 || refused < 50); i++) {
		r = hc(VBH_HC_HOST_DONATE_LIST, PFN_PHYS(a[0]), 1, a[3], 0);
		if (r.trap == PROBE_OK && r.status == VBH_E_STATE) {
			refused++;
		} else if (r.trap != PROBE_OK || r.status != VBH_OK) {
			other++;
		} else {
			ok++;
			if (hc(VBH_HC_TEST_HASH, a[3], a[2], 1, 0).status == VBH_OK)
				won++;	/* the forbidden frame now belongs to dom */
			if (hc(VBH_HC_HOST_RECLAIM, a[1], 1, a[3], 0).status != VBH_OK)
				stuck++; /* "OK" but the good frame was not donated */
		}
		cond_resched();
	}
	flip_stop(&f);
	out("calls=%llu flips=%llu ok=%llu e_state=%llu other=%llu won=%llu stuck=%llu "
	    "result=%s\n", i, f.flips, ok, refused, other, won, stuck,
	    won || stuck ? "won" : "lost");
	return 0;
}

/*
 * toctou_sim LISTPFN GOOD BAD MS: the same flipper against a consumer that fetches the
 * pfn, validates it, spends ~1 us "working" and fetches it again to use it, for up to
 * MS milliseconds or 10 wins. It proves the flipper runs concurrently and wins such
 * windows; it says nothing about how wide vbh's window would be, which is why vbh
 * must not have one.
 */
int cmd_toctou_sim(int argc, const u64 *a)
{
	u64 i, v1, v2, ok = 0, refused = 0, won = 0;
	ktime_t end = ktime_add_ms(ktime_get(), a[3]);
	struct flip f;

	if (!flip_start(&f, a[0], a[1], a[2]))
		return 0;
	for (i = 0; ktime_before(ktime_get(), end) && won < 10; i++) {
		v1 = READ_ONCE(f.list[0].pfn);
		ndelay(1000);
		v2 = READ_ONCE(f.list[0].pfn);
		if (v1 != a[1])
			refused++;
		else if (v2 != v1)
			won++;
		else
			ok++;
		if (!(i & 0xff))
			cond_resched();
	}
	flip_stop(&f);
	out("iters=%llu flips=%llu ok=%llu refused=%llu won=%llu result=%s\n", i,
	    f.flips, ok, refused, won, won ? "won" : "lost");
	return 0;
}
