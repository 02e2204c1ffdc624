// SPDX-License-Identifier: GPL-2.0
/*
 * vbh protected VMs, kvm.ko's side (docs/protected-vm.md). Built into kvm.ko by vbh's
 * loader/kvm/build.sh next to protected-vm.patch, whose hooks call these functions.
 *
 * A KVM_X86_SW_PROTECTED_VM created while vbh runs gets a vbh domain; every TDP MMU
 * root KVM allocates for it is bound to that domain before any vCPU can use it, and
 * unbound before its page goes back to the allocator; every guest_memfd folio it
 * prepares is donated to the domain at the folio's gfn, and reclaimed when the folio
 * is freed. vbh itself decides what enters the VM's nested page tables; this file only
 * tells it which roots, frames and gfns belong to the VM.
 *
 * kvm.ko must load and run on a kernel without vbh, so it does not link against
 * vbh.ko: it takes vbh's one table of calls (struct vbh_kvm_ops, vbh/kvm.h) with
 * symbol_get() for each protected VM and puts it back at teardown. Without vbh (or
 * with vbh.ko loaded but not launched) a protected VM is upstream's software-protected
 * VM, logged once: KVM's own private-memory selftests run bare unchanged.
 */
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>

#include <vbh/kvm.h>

#include "vbh.h"

/*
 * A call vbh refused fails KVM's operation with -EPERM, never -EIO: KVM reads -EIO from
 * a fault as its own bug (kvm_vcpu_pre_fault_memory() WARNs on it). The kernel log has
 * vbh's exact status.
 */
#define KVM_VBH_REFUSED (-EPERM)

/* One protected VM with a vbh domain. At most one per domain vbh can hold. */
struct kvm_vbh_vm {
	struct kvm *kvm;
	const struct vbh_kvm_ops *ops;
	u64 dom;
	atomic_long_t donated, reclaimed;  /* frames, through GUEST_DONATE/RECLAIM */
	atomic_long_t bound, unbound;      /* TDP MMU roots */
};

static struct kvm_vbh_vm kvm_vbh_vms[VBH_MAX_DOMAINS];
static DEFINE_SPINLOCK(kvm_vbh_vms_lock); /* taken under KVM's MMU locks: a spinlock */

/*
 * Every frame donated and not yet reclaimed: pfn -> xa_mk_value(dom).
 * kvm_arch_gmem_invalidate() gives pfns only, and also runs for folios of a VM that
 * is already gone (a guest_memfd's pages are freed when its inode is evicted, after
 * the file dropped its VM reference), so the frames to reclaim are looked up here:
 * only what was donated is reclaimed, and never twice. kvm_vbh_gmem_lock orders
 * donate, reclaim and DOMAIN_DESTROY against each other (all three may sleep:
 * guest_memfd calls the hooks with the folio and the mapping's lock held).
 */
static DEFINE_XARRAY(kvm_vbh_frames);
static DEFINE_MUTEX(kvm_vbh_gmem_lock);

static bool kvm_vbh_wanted(struct kvm *kvm)
{
	return kvm->arch.vm_type == KVM_X86_SW_PROTECTED_VM;
}

/* The VM's record, or NULL: not protected, or protected without vbh. */
static struct kvm_vbh_vm *kvm_vbh_find(struct kvm *kvm)
{
	struct kvm_vbh_vm *vm = NULL;
	u32 i;

	if (!kvm_vbh_wanted(kvm))
		return NULL;
	spin_lock(&kvm_vbh_vms_lock);
	for (i = 0; i < ARRAY_SIZE(kvm_vbh_vms) && !vm; i++)
		if (kvm_vbh_vms[i].kvm == kvm)
			vm = &kvm_vbh_vms[i];
	spin_unlock(&kvm_vbh_vms_lock);
	return vm;
}

static struct kvm_vbh_vm *kvm_vbh_slot(struct kvm *kvm, const struct vbh_kvm_ops *ops, u64 dom)
{
	struct kvm_vbh_vm *vm = NULL;
	u32 i;

	spin_lock(&kvm_vbh_vms_lock);
	for (i = 0; i < ARRAY_SIZE(kvm_vbh_vms) && !vm; i++)
		if (!kvm_vbh_vms[i].kvm)
			vm = &kvm_vbh_vms[i];
	if (vm) {
		*vm = (struct kvm_vbh_vm){ .kvm = kvm, .ops = ops, .dom = dom };
	}
	spin_unlock(&kvm_vbh_vms_lock);
	return vm;
}

int kvm_vbh_vm_init(struct kvm *kvm)
{
	const struct vbh_kvm_ops *ops;
	u64 dom = 0;
	s64 st;

	if (!kvm_vbh_wanted(kvm))
		return 0;
	ops = symbol_get(vbh_kvm_ops);
	if (!ops) {
		pr_info_once("kvm: vbh: vbh.ko not loaded: software-protected VMs run without vbh (private memory stays host-accessible)\n");
		return 0;
	}
	if ((ops->abi_version >> 16) != VBH_ABI_VERSION_MAJOR) {
		pr_err_ratelimited("kvm: vbh: ABI %u.%u, kvm.ko built for %u.%u: protected VM refused\n",
				   ops->abi_version >> 16, ops->abi_version & 0xffff,
				   VBH_ABI_VERSION_MAJOR, VBH_ABI_VERSION_MINOR);
		symbol_put(vbh_kvm_ops);
		return -EPROTO;
	}
	st = ops->domain_create(&dom);
	if (st == -ENODEV) {
		pr_info_once("kvm: vbh: vbh.ko loaded but no hypervisor runs: software-protected VMs run without vbh\n");
		symbol_put(vbh_kvm_ops);
		return 0;
	}
	if (st != VBH_OK) {
		pr_warn_ratelimited("kvm: vbh: DOMAIN_CREATE: %s: protected VM refused\n",
				    ops->status_name(st));
		symbol_put(vbh_kvm_ops);
		return -EIO;
	}
	if (!kvm_vbh_slot(kvm, ops, dom)) { /* vbh gave more domains than it has: a bug */
		WARN_ON_ONCE(ops->domain_destroy(dom) != VBH_OK);
		symbol_put(vbh_kvm_ops);
		return -ENOSPC;
	}
	pr_info_ratelimited("kvm: vbh: protected VM (pid %d) is vbh domain %llu\n",
			    task_pid_nr(current), dom);
	return 0;
}

/*
 * After kvm_mmu_uninit_vm(): every root is unbound by now. Frames still donated (folios
 * not yet freed) go back through DOMAIN_DESTROY, scrubbed; their records go here, so a
 * later kvm_arch_gmem_invalidate() of those folios reclaims nothing twice.
 */
void kvm_vbh_vm_destroy(struct kvm *kvm)
{
	struct kvm_vbh_vm *vm = kvm_vbh_find(kvm), copy;
	unsigned long pfn, left = 0;
	void *entry;
	s64 st;

	if (!vm)
		return;
	copy = *vm;
	mutex_lock(&kvm_vbh_gmem_lock);
	xa_for_each(&kvm_vbh_frames, pfn, entry) {
		if (xa_to_value(entry) != copy.dom)
			continue;
		xa_erase(&kvm_vbh_frames, pfn);
		left++;
	}
	st = copy.ops->domain_destroy(copy.dom);
	mutex_unlock(&kvm_vbh_gmem_lock);
	spin_lock(&kvm_vbh_vms_lock);
	vm->kvm = NULL;
	spin_unlock(&kvm_vbh_vms_lock);
	if (st != VBH_OK)
		pr_err("kvm: vbh: DOMAIN_DESTROY %llu: %s: its %lu frames stay with vbh\n",
		       copy.dom, copy.ops->status_name(st), left);
	pr_info_ratelimited("kvm: vbh: domain %llu destroyed: %ld frames donated, %ld reclaimed, %lu returned by DOMAIN_DESTROY; %ld roots bound, %ld unbound\n",
			    copy.dom, atomic_long_read(&copy.donated),
			    atomic_long_read(&copy.reclaimed), left,
			    atomic_long_read(&copy.bound), atomic_long_read(&copy.unbound));
	symbol_put(vbh_kvm_ops);
}

/* A new root, before any vCPU can load it: unbound, vbh would let no private frame in. */
int kvm_vbh_bind_root(struct kvm *kvm, hpa_t root)
{
	struct kvm_vbh_vm *vm = kvm_vbh_find(kvm);
	s64 st;

	if (!vm)
		return 0;
	st = vm->ops->bind_root(vm->dom, root);
	if (st != VBH_OK) {
		pr_warn_ratelimited("kvm: vbh: DOMAIN_BIND_ROOT %llu %#llx: %s\n", vm->dom, root,
				    vm->ops->status_name(st));
		return KVM_VBH_REFUSED;
	}
	atomic_long_inc(&vm->bound);
	return 0;
}

/* The root's last reference is gone and its page is about to be freed. */
void kvm_vbh_unbind_root(struct kvm *kvm, hpa_t root)
{
	struct kvm_vbh_vm *vm = kvm_vbh_find(kvm);
	s64 st;

	if (!vm)
		return;
	st = vm->ops->unbind_root(vm->dom, root);
	if (st != VBH_OK) {  /* a root vbh would not bind (bind failed) is not freed here */
		pr_err("kvm: vbh: DOMAIN_UNBIND_ROOT %llu %#llx: %s\n", vm->dom, root,
		       vm->ops->status_name(st));
		return;
	}
	atomic_long_inc(&vm->unbound);
}

/*
 * The folio was just cleared and will be mapped at gfn: donate its frames to the VM's
 * domain there. Any failure fails the fault, so no private page of a VM under vbh is
 * ever host-accessible.
 */
int kvm_vbh_gmem_prepare(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int order)
{
	struct kvm_vbh_vm *vm = kvm_vbh_find(kvm);
	unsigned long i, n = 1ul << order;
	int err = 0;
	s64 st;

	if (!vm)
		return 0;
	mutex_lock(&kvm_vbh_gmem_lock);
	for (i = 0; i < n && !err; i++)
		err = xa_insert(&kvm_vbh_frames, pfn + i, xa_mk_value(vm->dom), GFP_KERNEL);
	if (err) {  /* -EBUSY: already donated (a prepared folio is never prepared again) */
		pr_warn_ratelimited("kvm: vbh: pfn %#llx: %s\n", pfn + i - 1,
				    err == -EBUSY ? "already donated" : "no memory to track it");
		i--;
		goto undo;
	}
	st = vm->ops->guest_donate(vm->dom, pfn, n, gfn);
	if (st != VBH_OK) {
		pr_warn_ratelimited("kvm: vbh: GUEST_DONATE pfn %#llx count %lu dom %llu gfn %#llx: %s\n",
				    pfn, n, vm->dom, gfn, vm->ops->status_name(st));
		err = KVM_VBH_REFUSED;
		goto undo;
	}
	atomic_long_add(n, &vm->donated);
	mutex_unlock(&kvm_vbh_gmem_lock);
	return 0;
undo:
	while (i--)
		xa_erase(&kvm_vbh_frames, pfn + i);
	mutex_unlock(&kvm_vbh_gmem_lock);
	return err;
}

/* One run of frames donated to dom: reclaim it, drop its records. */
static void kvm_vbh_reclaim(u64 dom, kvm_pfn_t pfn, unsigned long n)
{
	struct kvm_vbh_vm *vm = NULL;
	unsigned long i;
	s64 st;
	u32 k;

	spin_lock(&kvm_vbh_vms_lock);
	for (k = 0; k < ARRAY_SIZE(kvm_vbh_vms) && !vm; k++)
		if (kvm_vbh_vms[k].kvm && kvm_vbh_vms[k].dom == dom)
			vm = &kvm_vbh_vms[k];
	spin_unlock(&kvm_vbh_vms_lock);
	if (WARN_ON_ONCE(!vm))  /* records of a destroyed domain go with it */
		return;
	st = vm->ops->guest_reclaim(pfn, n);
	if (st != VBH_OK) {
		pr_err("kvm: vbh: GUEST_RECLAIM pfn %#llx count %lu (dom %llu): %s: the frames stay with vbh\n",
		       pfn, n, dom, vm->ops->status_name(st));
		return;
	}
	for (i = 0; i < n; i++)
		xa_erase(&kvm_vbh_frames, pfn + i);
	atomic_long_add(n, &vm->reclaimed);
}

/* A guest_memfd folio is being freed: reclaim, scrubbed, whatever of it was donated. */
void kvm_vbh_gmem_invalidate(kvm_pfn_t start, kvm_pfn_t end)
{
	kvm_pfn_t pfn, run = 0;
	unsigned long n = 0;
	u64 dom = 0;
	void *entry;

	if (xa_empty(&kvm_vbh_frames))  /* no vbh, or nothing donated: upstream's path */
		return;
	mutex_lock(&kvm_vbh_gmem_lock);
	for (pfn = start; pfn < end; pfn++) {
		entry = xa_load(&kvm_vbh_frames, pfn);
		if (n && (!entry || xa_to_value(entry) != dom)) {
			kvm_vbh_reclaim(dom, run, n);
			n = 0;
		}
		if (!entry)
			continue;
		if (!n) {
			run = pfn;
			dom = xa_to_value(entry);
		}
		n++;
	}
	if (n)
		kvm_vbh_reclaim(dom, run, n);
	mutex_unlock(&kvm_vbh_gmem_lock);
}
