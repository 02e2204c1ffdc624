// SPDX-License-Identifier: GPL-2.0
/*
 * donatebench: what giving a frame to a protected domain and taking it back costs, from
 * the host kernel, through the whole hypercall path (docs/benchmarks.md, "Donate and
 * scrub"; issue 11 asks for it with and without the IOMMU owned).
 *
 *   echo "PAGES ITERS" > /sys/kernel/donatebench/run
 *   cat /sys/kernel/donatebench/result
 *
 * One domain is created (DOMAIN_CREATE) and PAGES contiguous host frames (1 or a power
 * of two up to 512, naturally aligned) go back and forth ITERS times: GUEST_DONATE at
 * gfn = PAGES (the host NPT and, when vbh owns an IOMMU, its DMA table lose the frames;
 * the IOTLB invalidation has completed before the call returns), then GUEST_RECLAIM
 * (scrubbed, mapped for the host and the devices again). That is kvm.ko's path for a
 * protected guest's private page (docs/protected-vm.md), without KVM. Then the domain
 * is destroyed and the frames freed. Each donate + reclaim pair is timed with
 * lfence;rdtsc; the result is one line:
 *   pages=P iters=N ns=TOTAL cycles=SUM min=C p50=C max=C errors=E status=S scrubbed=Y tsc_khz=F
 * status: the first call that failed and its vbh status ("ok" when none did;
 * "no_hypervisor" when VMMCALL raised #UD). scrubbed: 1 when the frames, filled with a
 * pattern before the first donation, read back all zero after the last reclaim.
 */
#include <linux/gfp.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <asm/asm.h>
#include <asm/tsc.h>

#include <vbh/abi.h>

#define MAX_ITERS 100000u
#define MAX_ORDER_PAGES 512u /* 2 MiB: one host NPT leaf */
#define PATTERN 0xa5

/* vbh ABI (hypercalls/include/vbh/abi.h): rax = call, rdi/rsi/rdx/rcx = arg0..3; out
 * rax = status, rdi = out0. Returns the status, or -1 when VMMCALL raised #UD (no
 * hypervisor: the exception-table entry skips it). */
static long hc(unsigned long call, unsigned long a0, unsigned long a1, unsigned long a2,
	       unsigned long a3, unsigned long *out0)
{
	unsigned long rax = call, rdi = a0, rsi = a1, rdx = a2, rcx = a3;
	u32 ud = 1;

	asm volatile("1: vmmcall\n\t"
		     "movl $0, %[ud]\n\t"
		     "2:\n\t" _ASM_EXTABLE(1b, 2b)
		     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+c"(rcx), [ud] "+r"(ud)
		     : : "memory");
	if (ud)
		return -1;
	if (out0)
		*out0 = rdi;
	return (long)rax;
}

struct run {
	u64 pages, want, iters, ns, cycles, min, max, p50, errors;
	const char *failed;  /* the call that failed first, or NULL */
	long status;
	bool scrubbed;
	u64 *samples;
};

static const char *status_name(long s)
{
	switch (s) {
#define X(name, value, text) case value: return #text;
	VBH_STATUSES(X)
#undef X
	case -1: return "no_hypervisor";
	default: return "unknown";
	}
}

static bool call_ok(struct run *r, const char *what, long status)
{
	if (status == VBH_OK)
		return true;
	if (!r->failed) {
		r->failed = what;
		r->status = status;
	}
	r->errors++;
	return false;
}

static bool all_zero(struct page *p, unsigned int pages)
{
	unsigned int i;

	for (i = 0; i < pages; i++)
		if (memchr_inv(page_address(p + i), 0, PAGE_SIZE))
			return false;
	return true;
}

/* Returns false when the frames may still be vbh's (DOMAIN_DESTROY failed): they must
 * then never go back to the page allocator, where the host would fault on them. */
static bool run_pairs(struct run *r, struct page *p)
{
	unsigned long dom = 0, pfn = page_to_pfn(p), n = r->pages;
	u64 t0 = ktime_get_ns();
	unsigned int i;

	r->min = U64_MAX;
	for (i = 0; i < n; i++)
		memset(page_address(p + i), PATTERN, PAGE_SIZE);
	if (!call_ok(r, "DOMAIN_CREATE", hc(VBH_HC_DOMAIN_CREATE, 0, 0, 0, 0, &dom)))
		return true;
	while (r->iters < r->want) {
		u64 c0 = rdtsc_ordered(), c;
		bool ok = call_ok(r, "GUEST_DONATE", hc(VBH_HC_GUEST_DONATE, pfn, n, dom, n, NULL)) &&
			  call_ok(r, "GUEST_RECLAIM", hc(VBH_HC_GUEST_RECLAIM, pfn, n, 0, 0, NULL));

		c = rdtsc_ordered() - c0;
		if (!ok)
			break;
		r->samples[r->iters++] = c;
		r->cycles += c;
		r->min = min(r->min, c);
		r->max = max(r->max, c);
		cond_resched();
	}
	r->ns = ktime_get_ns() - t0;
	/* A failed donate left nothing with the domain; DOMAIN_DESTROY returns whatever a
	 * failed reclaim left, scrubbed. */
	if (!call_ok(r, "DOMAIN_DESTROY", hc(VBH_HC_DOMAIN_DESTROY, dom, 0, 0, 0, NULL)))
		return false;
	r->scrubbed = r->iters && all_zero(p, n);
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static DEFINE_MUTEX(lock);
static char result[256] = "none\n";

static ssize_t run_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	unsigned int pages, iters, order;
	struct page *p;
	struct run *r;
	bool ours;

	if (sscanf(buf, "%u %u", &pages, &iters) != 2 || !pages || pages > MAX_ORDER_PAGES ||
	    !is_power_of_2(pages) || !iters || iters > MAX_ITERS)
		return -EINVAL;
	order = ilog2(pages);
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->pages = pages;
	r->samples = kvmalloc_array(iters, sizeof(u64), GFP_KERNEL);
	p = alloc_pages(GFP_KERNEL, order);  /* naturally aligned: a 2 MiB run is one leaf */
	if (!r->samples || !p) {
		if (p)
			__free_pages(p, order);
		kvfree(r->samples);
		kfree(r);
		return -ENOMEM;
	}
	r->want = iters;
	mutex_lock(&lock);
	ours = run_pairs(r, p);
	if (r->iters) {
		sort(r->samples, r->iters, sizeof(u64), cmp_u64, NULL);
		r->p50 = r->samples[r->iters / 2];
	} else {
		r->min = 0;
	}
	scnprintf(result, sizeof(result),
		  "pages=%llu iters=%llu ns=%llu cycles=%llu min=%llu p50=%llu max=%llu errors=%llu status=%s%s%s scrubbed=%d tsc_khz=%u\n",
		  r->pages, r->iters, r->ns, r->cycles, r->min, r->p50, r->max, r->errors,
		  r->failed ? r->failed : "", r->failed ? ":" : "",
		  r->failed ? status_name(r->status) : "ok", r->scrubbed, tsc_khz);
	pr_info("donatebench: %s", result);
	mutex_unlock(&lock);
	if (ours)
		__free_pages(p, order);
	else
		pr_err("donatebench: DOMAIN_DESTROY failed: %u frames at pfn %#lx leaked\n",
		       pages, page_to_pfn(p));
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

static int __init donatebench_init(void)
{
	int err;

	dir = kobject_create_and_add("donatebench", kernel_kobj);
	if (!dir)
		return -ENOMEM;
	err = sysfs_create_group(dir, &group);
	if (err)
		kobject_put(dir);
	return err;
}

static void __exit donatebench_exit(void)
{
	kobject_put(dir);
}

module_init(donatebench_init);
module_exit(donatebench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vbh benchmark: GUEST_DONATE + GUEST_RECLAIM (scrub) round trips");
