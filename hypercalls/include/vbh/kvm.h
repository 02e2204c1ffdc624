/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What the vbh loader offers a patched kvm.ko (loader/kvm/, docs/protected-vm.md):
 * one table of the hypercalls a software-protected KVM VM needs. vbh.ko exports it
 * (loader/kvm_ops.c, EXPORT_SYMBOL_GPL); kvm.ko takes it with symbol_get(vbh_kvm_ops)
 * when a protected VM is created and puts it back at teardown, so kvm.ko has no link
 * dependency on vbh.ko and loads on a kernel without it.
 *
 * Every call returns the hypervisor's status (enum vbh_status, >= 0) or -ENODEV when
 * no vbh hypervisor runs (vbh.ko loaded with launch=0, or the VMMCALL raised #UD).
 * None sleeps: the root calls run under KVM's MMU spinlocks.
 */
#ifndef VBH_KVM_H
#define VBH_KVM_H

#include <linux/types.h>
#include <vbh/abi.h>

struct vbh_kvm_ops {
	u32 abi_version;  /* VBH_ABI_VERSION the loader was built with */
	s64 (*domain_create)(u64 *dom);
	s64 (*domain_destroy)(u64 dom);
	s64 (*bind_root)(u64 dom, u64 root_pa);
	s64 (*unbind_root)(u64 dom, u64 root_pa);
	s64 (*guest_donate)(u64 dom, u64 pfn, u64 count, u64 gfn);
	s64 (*guest_reclaim)(u64 pfn, u64 count);
	const char *(*status_name)(s64 status); /* "VBH_E_STATE", ... */
};

extern const struct vbh_kvm_ops vbh_kvm_ops;

#endif /* VBH_KVM_H */
