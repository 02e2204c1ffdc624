/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm.ko's side of vbh protected VMs (vbh's loader/kvm/, docs/protected-vm.md): a
 * KVM_X86_SW_PROTECTED_VM gets a vbh domain, its TDP MMU roots are bound to it and its
 * guest_memfd frames are donated to it at their gfn. Every other VM type passes
 * through untouched, and without vbh a protected VM is upstream's.
 */
#ifndef ARCH_X86_KVM_VBH_H
#define ARCH_X86_KVM_VBH_H

#include <linux/kvm_host.h>

int kvm_vbh_vm_init(struct kvm *kvm);
void kvm_vbh_vm_destroy(struct kvm *kvm);
int kvm_vbh_bind_root(struct kvm *kvm, hpa_t root);
void kvm_vbh_unbind_root(struct kvm *kvm, hpa_t root);
int kvm_vbh_gmem_prepare(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int order);
void kvm_vbh_gmem_invalidate(kvm_pfn_t start, kvm_pfn_t end);

#endif /* ARCH_X86_KVM_VBH_H */
