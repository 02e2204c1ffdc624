/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * s64 vbh_enter(vbh_launch_fn launch, u32 cpu)
 *
 * Late launch of the calling CPU (boot.h). Saves the callee-saved registers and
 * RFLAGS on this stack, describes the point to resume at in a struct vbh_guest_entry
 * and calls the image's launch(cpu, &entry).
 *  - Success: launch does not return. The CPU continues in guest mode at .Lresume
 *    with rsp = the saved frame, rflags as saved, rax = VBH_OK and every other GPR
 *    zero; the callee-saved registers are restored from the frame and vbh_enter
 *    returns VBH_OK to its C caller as if launch had returned.
 *  - Failure: launch returns a vbh_status with the CPU unchanged; the same epilogue
 *    returns it.
 * The resume point is loader text, not hypervisor text: from the guest's point of
 * view hypervisor memory is gone (removed from the host NPT) the moment launch
 * succeeds. Both paths reach .Lresume with the same stack depth.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

#define ENTRY_RIP 0
#define ENTRY_RSP 8
#define ENTRY_RFLAGS 16
#define ENTRY_FRAME 32 /* sizeof(struct vbh_guest_entry) rounded to 16 */

	.text
SYM_FUNC_START(vbh_enter)
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	movq	%rsp, %rdx			/* the guest's rsp at .Lresume */
	subq	$ENTRY_FRAME, %rsp		/* keeps the SysV 16-byte call alignment */
	leaq	.Lresume(%rip), %rax
	movq	%rax, ENTRY_RIP(%rsp)
	movq	%rdx, ENTRY_RSP(%rsp)
	movq	(%rdx), %rax
	movq	%rax, ENTRY_RFLAGS(%rsp)
	movq	%rdi, %rax
	movl	%esi, %edi
	movq	%rsp, %rsi
	CALL_NOSPEC rax
	addq	$ENTRY_FRAME, %rsp		/* launch failed: rax = status */
.Lresume:
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	RET
SYM_FUNC_END(vbh_enter)
