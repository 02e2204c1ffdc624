// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The hypercalls a patched kvm.ko makes for its software-protected VMs (vbh/kvm.h,
 * docs/protected-vm.md). Each is one VMMCALL of abi.h on the calling CPU; the table
 * only fixes which calls kvm.ko can make and how their arguments are laid out. The
 * hypervisor checks every argument itself (docs/hypercalls.md): nothing here is a
 * security boundary, kvm.ko runs in the same ring 0 as this module.
 */
#include <linux/export.h>
#include <linux/errno.h>

#include <vbh/kvm.h>

#include "loader.h"

static s64 vbh_kvm_call(u64 call, u64 a0, u64 a1, u64 a2, u64 a3, u64 *out0)
{
	struct vbh_hc hc = { .call = call, .args = { a0, a1, a2, a3 } };

	/* launch=0, or a failed launch: no hypervisor answers, and a VMMCALL would #UD. */
	if (READ_ONCE(vbh_loader.state) != VBH_STATE_RUNNING || !vbh_hypercall(&hc))
		return -ENODEV;
	if (out0)
		*out0 = hc.out[0];
	return hc.status;
}

static s64 vbh_kvm_domain_create(u64 *dom)
{
	return vbh_kvm_call(VBH_HC_DOMAIN_CREATE, 0, 0, 0, 0, dom);
}

static s64 vbh_kvm_domain_destroy(u64 dom)
{
	return vbh_kvm_call(VBH_HC_DOMAIN_DESTROY, dom, 0, 0, 0, NULL);
}

static s64 vbh_kvm_bind_root(u64 dom, u64 root_pa)
{
	return vbh_kvm_call(VBH_HC_DOMAIN_BIND_ROOT, dom, root_pa, 0, 0, NULL);
}

static s64 vbh_kvm_unbind_root(u64 dom, u64 root_pa)
{
	return vbh_kvm_call(VBH_HC_DOMAIN_UNBIND_ROOT, dom, root_pa, 0, 0, NULL);
}

static s64 vbh_kvm_guest_donate(u64 dom, u64 pfn, u64 count, u64 gfn)
{
	return vbh_kvm_call(VBH_HC_GUEST_DONATE, pfn, count, dom, gfn, NULL);
}

static s64 vbh_kvm_guest_reclaim(u64 pfn, u64 count)
{
	return vbh_kvm_call(VBH_HC_GUEST_RECLAIM, pfn, count, 0, 0, NULL);
}

const struct vbh_kvm_ops vbh_kvm_ops = {
	.abi_version = VBH_ABI_VERSION,
	.domain_create = vbh_kvm_domain_create,
	.domain_destroy = vbh_kvm_domain_destroy,
	.bind_root = vbh_kvm_bind_root,
	.unbind_root = vbh_kvm_unbind_root,
	.guest_donate = vbh_kvm_guest_donate,
	.guest_reclaim = vbh_kvm_guest_reclaim,
	.status_name = vbh_status_name,
};
EXPORT_SYMBOL_GPL(vbh_kvm_ops);
