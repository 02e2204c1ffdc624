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
 *
 * VBH_IOCTL_LOG_READ copies the hypervisor's event log from sequence number `from`
 * on: VBH_HC_LOG_READ into the loader's output frame, then that whole struct
 * vbh_log_page (vbh/log.h: up to VBH_LOG_PAGE_ENTRIES entries, oldest first) to the
 * user buffer at `page`. A follower that asks again from the last seq + 1 misses only
 * what the ring overwrote, which the page reports as `lost`. Returns 0 with `status`
 * set (the page is written only when it is VBH_OK); -ENODEV (also: no output frame,
 * launch=0), -EPERM, -EFAULT as above.
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

struct vbh_ioctl_log_read {
	__u64 from;     /* in: first sequence number wanted */
	__u64 page;     /* in: user address of a struct vbh_log_page */
	__u64 status;   /* out: enum vbh_status of VBH_HC_LOG_READ */
};

#ifdef __cplusplus
static_assert(sizeof(struct vbh_ioctl_hypercall) == 64, "ioctl ABI");
static_assert(sizeof(struct vbh_ioctl_log_read) == 24, "ioctl ABI");
#else
_Static_assert(sizeof(struct vbh_ioctl_hypercall) == 64, "ioctl ABI");
_Static_assert(sizeof(struct vbh_ioctl_log_read) == 24, "ioctl ABI");
#endif

#define VBH_IOCTL_MAGIC 0xb5
#define VBH_IOCTL_HYPERCALL _IOWR(VBH_IOCTL_MAGIC, 0x01, struct vbh_ioctl_hypercall)
#define VBH_IOCTL_LOG_READ _IOWR(VBH_IOCTL_MAGIC, 0x02, struct vbh_ioctl_log_read)

#endif /* VBH_IOCTL_H */
