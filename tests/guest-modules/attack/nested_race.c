// SPDX-License-Identifier: GPL-2.0
/*
 * VMCB12 rewritten from another CPU during VMRUN (docs/containment.md, "Nested SVM").
 * "nest_race ITERS PFN": this CPU runs a sane VMCB12 whose L2 reads frame PFN, ITERS
 * times (more, up to 3 s, until both outcomes were seen), while a thread on another CPU flips one field after another to a value vbh
 * must refuse (VMRUN or VMLOAD intercept clear, ASID 0, nested paging on with its root
 * on PFN, an MSR map on PFN) and back, as fast as it can. A hypervisor that checked
 * the host's page and then used it in place would run some L2 on a flipped value.
 *
 * Reported: how many VMRUNs were refused (VMEXIT_INVALID), ran the L2 to its read
 * (ran: the word came back), had the read faulted, or exited otherwise; and vbh's
 * l2_entries over the loop, which must equal the VMRUNs that were not refused: a
 * refusal vbh missed and the CPU caught on the L2 block (l2_invalid) counts as an
 * entry and shows up as a mismatch. On a bare kernel the mix of refused and run
 * VMRUNs shows that the flips reach the CPU's VMRUN.
 */
#include <linux/completion.h>
#include <linux/io.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include "attack.h"
#include "nested.h"
#include "probe.h"

#define BIT32(n) (1u << ((n) % 32))

struct flipper {
	struct vmcb *v;
	u64 target_pa;
	bool stop;
	u64 flips;
	struct completion done;
};

/* One hostile value in, a spin, the sane value back: each field in turn. */
static int flip_thread(void *arg)
{
	struct flipper *f = arg;
	struct vmcb_control_area *c = &f->v->control;
	u32 *w4 = &c->intercepts[INTERCEPT_VMRUN / 32], *w3 = &c->intercepts[INTERCEPT_INTR / 32];
	unsigned int i;

	while (!READ_ONCE(f->stop)) {
		switch (f->flips % 5) {
		case 0: WRITE_ONCE(*w4, *w4 & ~BIT32(INTERCEPT_VMRUN)); break;
		case 1: WRITE_ONCE(*w4, *w4 & ~BIT32(INTERCEPT_VMLOAD)); break;
		case 2: WRITE_ONCE(c->asid, 0); break;
		case 3:
			WRITE_ONCE(c->nested_cr3, f->target_pa);
			WRITE_ONCE(c->nested_ctl, SVM_NESTED_CTL_NP_ENABLE);
			break;
		case 4:
			WRITE_ONCE(c->msrpm_base_pa, f->target_pa);
			WRITE_ONCE(*w3, *w3 | BIT32(INTERCEPT_MSR_PROT));
			break;
		}
		for (i = 0; i < 200; i++)
			cpu_relax();
		WRITE_ONCE(*w4, *w4 | BIT32(INTERCEPT_VMRUN) | BIT32(INTERCEPT_VMLOAD));
		WRITE_ONCE(*w3, *w3 & ~BIT32(INTERCEPT_MSR_PROT));
		WRITE_ONCE(c->asid, 1);
		WRITE_ONCE(c->nested_ctl, 0);
		WRITE_ONCE(c->nested_cr3, 0);
		WRITE_ONCE(c->msrpm_base_pa, 0);
		f->flips++;
		for (i = 0; i < 100; i++)
			cpu_relax();
	}
	complete(&f->done);
	return 0;
}

int nest_race_cmd(int argc, const u64 *a)
{
	struct flipper f = { .target_pa = PFN_PHYS(a[1]) };
	u64 n[NEST_EXITED + 1] = { }, efer, l2_before, l2_after, iters = a[0], last_exit = 0;
	void *read = phys_to_virt(PFN_PHYS(a[1]));
	int other = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	struct task_struct *t;
	struct nest_out o;
	unsigned long flags;
	ktime_t end;
	u64 i;

	f.v = svm_page(SVM_VMCB);
	if (!f.v || !svm_page(SVM_STACK) || iters == 0 || iters > 100000)
		return -EINVAL;
	if (other >= nr_cpu_ids) {
		out("result=error reason=one_cpu\n");
		return 0;
	}
	nest_craft(f.v, vbh_attack_l2_stub);
	init_completion(&f.done);
	t = kthread_create(flip_thread, &f, "vbh_nest_flip");
	if (IS_ERR(t))
		return PTR_ERR(t);
	kthread_bind(t, other);
	wake_up_process(t);
	end = ktime_add_ms(ktime_get(), 3000); /* the loop's cap on a slow CPU */
	/* TCG runs each vCPU in a host thread: on a loaded host the other CPU may start
	 * late or run rarely. Race only once it flips, and go on past ITERS until both
	 * kinds of outcome were seen (a VMRUN that used sane values, one that met a
	 * flipped one), within the cap. */
	while (!READ_ONCE(f.flips) && ktime_before(ktime_get(), end))
		cpu_relax();
	l2_before = nest_l2_entries();
	for (i = 0; ktime_before(ktime_get(), end); i++) {
		if (i >= iters && n[NEST_RAN] + n[NEST_FAULTED] > 0 &&
		    n[NEST_INVALID] + n[NEST_EXITED] + n[NEST_FAULT] > 0)
			break;
		/* the state the previous exit wrote back: the L2 starts over */
		WRITE_ONCE(f.v->save.rip, (u64)vbh_attack_l2_stub);
		WRITE_ONCE(f.v->save.rsp, (u64)svm_page(SVM_STACK) + PAGE_SIZE);
		WRITE_ONCE(f.v->control.event_inj, 0);
		local_irq_save(flags);
		svm_on(&efer);
		nest_vmrun(f.v, __pa(f.v), __pa(svm_page(SVM_HSAVE)), read, &o);
		svm_restore(efer);
		local_irq_restore(flags);
		n[o.res]++;
		if (o.res == NEST_EXITED)
			last_exit = o.exit;
	}
	l2_after = nest_l2_entries();
	WRITE_ONCE(f.stop, true);
	wait_for_completion(&f.done);
	out("iters=%llu flips=%llu other_cpu=%d refused=%llu ran=%llu faulted=%llu exited=%llu "
	    "vmrun_fault=%llu last_exit=0x%llx ", i, f.flips, other, n[NEST_INVALID], n[NEST_RAN],
	    n[NEST_FAULTED], n[NEST_EXITED], n[NEST_FAULT], last_exit);
	if (l2_before == ~0ull || l2_after == ~0ull)
		out("l2_entries=none ");
	else
		out("l2_entries=%llu consistent=%s ", l2_after - l2_before,
		    l2_after - l2_before == i - n[NEST_INVALID] - n[NEST_FAULT] ? "yes" : "no");
	out("result=done\n");
	return 0;
}
