// SPDX-License-Identifier: GPL-2.0
/*
 * benchmod: in-kernel round-trip timing loops for the vbh benchmark (docs/benchmarks.md).
 *
 *   echo "LOOP ITERS [CPU]" > /sys/kernel/benchmod/run
 *   cat /sys/kernel/benchmod/result
 *   ioctl(open("/dev/benchmod"), BENCHMOD_IOC_ONE, op)   one op per call (benchmod_uapi.h)
 *
 * LOOP is nop (the rdtsc pair alone: the baseline to subtract), cpuid (leaf 0),
 * vmmcall (VBH_HC_VERSION, the null hypercall), rdmsr (MSR `msr`, default VM_CR
 * 0xC0010114, which vbh intercepts to report SVMDIS) or wrmsr_efer (EFER rewritten with
 * its current value: vbh intercepts EFER writes to keep SVME set; its reads are not
 * intercepted, so the RDMSR that fetches the value costs no exit). Each iteration is timed with
 * lfence;rdtsc on both sides, so cycles include that pair; `ns` is ktime over the whole
 * loop. The result is one line:
 *   LOOP cpu=C iters=N ns=TOTAL cycles=SUM min=C p50=C p99=C max=C errors=E tsc_khz=F hist=B:COUNT,...
 * where hist bucket B counts iterations with 2^B <= cycles < 2^(B+1). The median (p50)
 * is the robust figure: the mean also carries timer interrupts and, under TCG, host
 * preemption of the vCPU thread.
 *
 * VMMCALL and RDMSR are issued through exception-table entries: without a hypervisor
 * VMMCALL raises #UD (AMD APM vol. 3, VMMCALL) and an unimplemented MSR raises #GP; both
 * are then counted as errors instead of oopsing, and the loop stops at the first one.
 */
#include <linux/fs.h>	/* struct file_operations: 6.12 gets it through miscdevice.h, 6.1 not */
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <asm/asm.h>
#include <asm/msr.h>
#include <asm/tsc.h>

#include <vbh/abi.h>

#include "benchmod_uapi.h"

static uint msr = 0xc0010114; /* VM_CR, AMD APM vol. 2 §15.30.1 */
module_param(msr, uint, 0644);
MODULE_PARM_DESC(msr, "MSR read by the rdmsr loop");

#define MAX_ITERS 200000ull /* samples are kept: 1.6 MB at most */
#define CHUNK 256 /* iterations per preempt-disabled stretch */
#define NBUCKETS 48

struct loop_result {
	u64 iters, ns, cycles, min, max, errors, p50, p99;
	u64 hist[NBUCKETS];
	u64 *samples; /* cycles of each iteration, sorted after the loop */
};

typedef bool (*op_fn)(void);

static bool op_nop(void)
{
	barrier();
	return true;
}

static bool op_cpuid(void)
{
	u32 a = 0, b, c = 0, d;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d) : : "memory");
	return true;
}

/* vbh ABI (hypercalls/include/vbh/abi.h): rax = call, out rax = status, rdi = out0.
 * `ud` stays 1 when the fixup skipped a faulting VMMCALL (no hypervisor). */
static bool op_vmmcall(void)
{
	unsigned long rax = VBH_HC_VERSION, rdi = 0, rsi = 0, rdx = 0, rcx = 0;
	u32 ud = 1;

	asm volatile("1: vmmcall\n\t"
		     "movl $0, %[ud]\n\t"
		     "2:\n\t" _ASM_EXTABLE(1b, 2b)
		     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+c"(rcx), [ud] "+r"(ud)
		     : : "memory");
	return !ud && rax == VBH_OK && rdi == VBH_ABI_VERSION;
}

static bool op_rdmsr(void)
{
	int err;

	(void)native_read_msr_safe(msr, &err);
	return !err;
}

static bool op_wrmsr_efer(void)
{
	int err;
	u64 efer = native_read_msr_safe(MSR_EFER, &err);

	return !err && !native_write_msr_safe(MSR_EFER, (u32)efer, (u32)(efer >> 32));
}

static const struct {
	const char *name;
	op_fn op;
} loops[BENCHMOD_OPS] = {
	[BENCHMOD_OP_NOP] = { "nop", op_nop },
	[BENCHMOD_OP_CPUID] = { "cpuid", op_cpuid },
	[BENCHMOD_OP_VMMCALL] = { "vmmcall", op_vmmcall },
	[BENCHMOD_OP_RDMSR] = { "rdmsr", op_rdmsr },
	[BENCHMOD_OP_WRMSR_EFER] = { "wrmsr_efer", op_wrmsr_efer },
};

/* One op per call, timed from user space. Preemption stays off across the op so the
 * EFER read and write happen on one CPU. */
static long one_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	bool ok;

	if (cmd != BENCHMOD_IOC_ONE)
		return -ENOTTY;
	if (arg >= BENCHMOD_OPS)
		return -EINVAL;
	arg = array_index_nospec(arg, BENCHMOD_OPS);
	preempt_disable();
	ok = loops[arg].op();
	preempt_enable();
	return ok ? 0 : -EIO;
}

static const struct file_operations one_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = one_ioctl,
};

static struct miscdevice one_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "benchmod",
	.fops = &one_fops,
	.mode = 0666,
};

static bool time_one(op_fn op, struct loop_result *r)
{
	u64 t0 = rdtsc_ordered();
	bool ok = op();
	u64 c = rdtsc_ordered() - t0;

	r->samples[r->iters++] = c;
	r->cycles += c;
	r->min = min(r->min, c);
	r->max = max(r->max, c);
	r->hist[min_t(u32, ilog2(c | 1), NBUCKETS - 1)]++;
	return ok;
}

struct loop_job {
	op_fn op;
	u64 iters;
	struct loop_result *r;
};

/* Runs in a kworker bound to the requested CPU (work_on_cpu). */
static long run_loop(void *arg)
{
	struct loop_job *job = arg;
	struct loop_result *r = job->r;
	u64 t0 = ktime_get_ns(), done = 0;

	r->min = U64_MAX;
	while (done < job->iters && !r->errors) {
		u64 end = min(done + CHUNK, job->iters);

		preempt_disable();
		for (; done < end; done++)
			if (!time_one(job->op, r)) {
				r->errors++;
				done++;
				break;
			}
		preempt_enable();
		cond_resched();
	}
	r->ns = ktime_get_ns() - t0;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void percentiles(struct loop_result *r)
{
	if (!r->iters)
		return;
	sort(r->samples, r->iters, sizeof(u64), cmp_u64, NULL);
	r->p50 = r->samples[r->iters / 2];
	r->p99 = r->samples[r->iters * 99 / 100];
}

static DEFINE_MUTEX(lock);
static char result[64 + 24 * NBUCKETS] = "none\n";

static void format_result(const char *name, int cpu, const struct loop_result *r)
{
	size_t n;
	int b;

	n = scnprintf(result, sizeof(result),
		      "%s cpu=%d iters=%llu ns=%llu cycles=%llu min=%llu p50=%llu p99=%llu max=%llu errors=%llu tsc_khz=%u hist=",
		      name, cpu, r->iters, r->ns, r->cycles, r->min, r->p50, r->p99, r->max,
		      r->errors, tsc_khz);
	for (b = 0; b < NBUCKETS; b++)
		if (r->hist[b])
			n += scnprintf(result + n, sizeof(result) - n, "%d:%llu,", b, r->hist[b]);
	scnprintf(result + n - 1, sizeof(result) - n + 1, "\n"); /* replace the last ',' */
}

static ssize_t run_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	char name[16];
	unsigned long long iters;
	int cpu = raw_smp_processor_id(), i, n;
	struct loop_result *r;
	struct loop_job job;

	n = sscanf(buf, "%15s %llu %d", name, &iters, &cpu);
	if (n < 2 || !iters || iters > MAX_ITERS || cpu < 0 || cpu >= nr_cpu_ids ||
	    !cpu_online(cpu))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(loops) && strcmp(name, loops[i].name); i++)
		;
	if (i == ARRAY_SIZE(loops))
		return -EINVAL;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->samples = kvmalloc_array(iters, sizeof(u64), GFP_KERNEL);
	if (!r->samples) {
		kfree(r);
		return -ENOMEM;
	}
	job = (struct loop_job){ .op = loops[i].op, .iters = iters, .r = r };
	mutex_lock(&lock);
	work_on_cpu(cpu, run_loop, &job);
	percentiles(r);
	format_result(name, cpu, r);
	pr_info("benchmod: %s", result);
	mutex_unlock(&lock);
	kvfree(r->samples);
	kfree(r);
	return count;
}

static ssize_t result_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	ssize_t n;

	mutex_lock(&lock);
	n = sysfs_emit(buf, "%s", result);
	mutex_unlock(&lock);
	return n;
}

static struct kobj_attribute run_attr = __ATTR_WO(run);
static struct kobj_attribute result_attr = __ATTR_RO(result);
static struct attribute *attrs[] = { &run_attr.attr, &result_attr.attr, NULL };
static const struct attribute_group group = { .attrs = attrs };
static struct kobject *dir;

static int __init benchmod_init(void)
{
	int err;

	dir = kobject_create_and_add("benchmod", kernel_kobj);
	if (!dir)
		return -ENOMEM;
	err = sysfs_create_group(dir, &group);
	if (!err)
		err = misc_register(&one_dev);
	if (err)
		kobject_put(dir);
	return err;
}

static void __exit benchmod_exit(void)
{
	misc_deregister(&one_dev);
	kobject_put(dir);
}

module_init(benchmod_init);
module_exit(benchmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vbh benchmark: CPUID / VMMCALL / RDMSR / WRMSR EFER round trips");
