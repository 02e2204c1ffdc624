/* The SVM world switch (AMD APM vol. 2 §15.5 VMRUN/#VMEXIT, §15.5.2 VMLOAD/VMSAVE).
 * Guest GPRs live in VcpuState.gpr (vbh/core/include/vbh/vcpu.hpp), architectural
 * order: rax 0, rcx 1, rdx 2, rbx 3, rsp 4, rbp 5, rsi 6, rdi 7, r8..r15 8..15.
 * rax and rsp are in the VMCB, not here. */
#include <vbh/arch/rsb.h>

	.text

/* Load the guest GPRs from the array at %rdi, all but rax and rsp; %rdi itself last. */
.macro load_gprs
	mov 8*1(%rdi), %rcx
	mov 8*2(%rdi), %rdx
	mov 8*3(%rdi), %rbx
	mov 8*5(%rdi), %rbp
	mov 8*6(%rdi), %rsi
	mov 8*8(%rdi), %r8
	mov 8*9(%rdi), %r9
	mov 8*10(%rdi), %r10
	mov 8*11(%rdi), %r11
	mov 8*12(%rdi), %r12
	mov 8*13(%rdi), %r13
	mov 8*14(%rdi), %r14
	mov 8*15(%rdi), %r15
	mov 8*7(%rdi), %rdi
.endm

/* The TSC into 8*\idx(\ptr); clobbers rax and rdx. */
.macro store_tsc ptr, idx
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, 8*\idx(\ptr)
.endm

/* void vbh_vmrun(uint64_t *gprs, uint64_t vmcb_pa, uint64_t hyp_state_pa,
 *                uint64_t tsc[2])
 * VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD hypervisor: after #VMEXIT the hypervisor never
 * runs C code with the guest's GS/TR/LDTR/syscall MSRs loaded. tsc[0] is read before
 * the VMLOAD and tsc[1] right after the GPRs are saved, so the hypervisor's time per
 * exit (vbh/exit_cycles.hpp) covers everything but the world switch itself. */
	.globl vbh_vmrun
	.type vbh_vmrun, @function
vbh_vmrun:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rcx
	push %rdx
	push %rdi
	lfence /* earlier work is done before the TSC is read (APM vol. 3, RDTSC) */
	store_tsc %rcx, 0
	mov %rsi, %rax
	vmload %rax
	load_gprs
	vmrun %rax
	/* #VMEXIT: host rsp and rax (= guest VMCB pa) are back, GIF = 0. */
	push %rdi
	mov 8(%rsp), %rdi
	mov %rcx, 8*1(%rdi)
	mov %rdx, 8*2(%rdi)
	mov %rbx, 8*3(%rdi)
	mov %rbp, 8*5(%rdi)
	mov %rsi, 8*6(%rdi)
	mov %r8, 8*8(%rdi)
	mov %r9, 8*9(%rdi)
	mov %r10, 8*10(%rdi)
	mov %r11, 8*11(%rdi)
	mov %r12, 8*12(%rdi)
	mov %r13, 8*13(%rdi)
	mov %r14, 8*14(%rdi)
	mov %r15, 8*15(%rdi)
	pop %rcx
	mov %rcx, 8*7(%rdi)
	mov %rax, %rsi
	mov 16(%rsp), %rcx
	store_tsc %rcx, 1
	/* The guest's return addresses out of the RSB before this function's RET
	 * (vbh/arch/rsb.h). No IBPB: docs/exit-cost.md, "Speculation". */
	FILL_RSB %ecx
	mov %rsi, %rax
	vmsave %rax
	pop %rdi
	pop %rax
	vmload %rax
	pop %rcx
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size vbh_vmrun, . - vbh_vmrun

/* void vbh_devirt_iret(const uint64_t *gprs, const uint64_t frame[5], uint64_t efer)
 * DEVIRT: the kernel's CRs, GDT, IDT and VMLOAD state are back. Build the IRET frame
 * (rip, cs, rflags, rsp, ss), set GIF, restore EFER (SVME as before launch), load
 * the guest's GPRs and return into the kernel at the instruction after VMMCALL. */
	.globl vbh_devirt_iret
	.type vbh_devirt_iret, @function
vbh_devirt_iret:
	pushq 32(%rsi)
	pushq 24(%rsi)
	pushq 16(%rsi)
	pushq 8(%rsi)
	pushq 0(%rsi)
	stgi
	mov $0xc0000080, %ecx
	mov %edx, %eax
	shr $32, %rdx
	wrmsr
	mov 8*0(%rdi), %rax
	load_gprs
	iretq
	.size vbh_devirt_iret, . - vbh_devirt_iret

	.section .note.GNU-stack, "", @progbits
