/* SPDX-License-Identifier: MIT */
/*
 * /dev/vbh ioctl ABI (loader <-> user tools). C-compatible; included by the loader
 * module and by tools/vbhctl. Spec: docs/loader.md.
 *
 * VBH_IOCTL_HYPERCALL issues one hypercall (abi.h register convention) with VMMCALL
 * on the CPU the calling thread runs on (pin the thread to choose the CPU). The
 * loader passes every call number and argument through unchanged; the hypervisor
 * decides. The ioctl returns 0 when the hypervisor answered (its answer is in
 * status/out), -ENODEV when this CPU is not running under vbh, -EPERM without
 * CAP_SYS_ADMIN, -EFAULT for a bad pointer.
 */
#ifndef VBH_IOCTL_H
#define VBH_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define VBH_DEVICE_PATH "/dev/vbh"

struct vbh_ioctl_hypercall {
	__u64 call;     /* in: rax, enum vbh_call */
	__u64 args[4];  /* in: rdi, rsi, rdx, rcx */
	__u64 status;   /* out: rax, enum vbh_status */
	__u64 out[2];   /* out: rdi, rsi */
};

#ifdef __cplusplus
static_assert(sizeof(struct vbh_ioctl_hypercall) == 64, "ioctl ABI");
#else
_Static_assert(sizeof(struct vbh_ioctl_hypercall) == 64, "ioctl ABI");
#endif

#define VBH_IOCTL_MAGIC 0xb5
#define VBH_IOCTL_HYPERCALL _IOWR(VBH_IOCTL_MAGIC, 0x01, struct vbh_ioctl_hypercall)

#endif /* VBH_IOCTL_H */
