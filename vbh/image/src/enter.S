/* The image's vendor-neutral way in and out of the hypervisor's own context on one
 * CPU (x86-64 only: descriptor tables, CR3, stack). The backend's world switch is its
 * own (svm/src/vmrun.S). */
	.text

/* void vbh_enter_hyp(PerCpu *pc, DescPtr *gdtr, DescPtr *idtr, uint64_t cr3,
 *                    uint64_t stack_top)   -- does not return
 * Moves this CPU onto the hypervisor's GDT (CS 0x08, SS/DS/ES 0x10, TR 0x18), IDT,
 * page tables and stack, then calls vbh_vcpu_start(pc). Runs from hypervisor memory,
 * which both the kernel's and our page tables map at the same address (boot.h). */
	.globl vbh_enter_hyp
	.type vbh_enter_hyp, @function
vbh_enter_hyp:
	lgdt (%rsi)
	pushq $0x08
	lea 1f(%rip), %rax
	push %rax
	lretq
1:	mov $0x10, %eax
	mov %eax, %ss
	mov %eax, %ds
	mov %eax, %es
	mov $0x18, %eax
	ltr %ax
	lidt (%rdx)
	mov %rcx, %cr3
	/* Drop the kernel's global TLB entries (CR4.PGE toggle, APM vol. 2 §5.5.2):
	 * from now on only our tables translate for the hypervisor. */
	mov %cr4, %rax
	mov %rax, %r9
	and $~0x80, %r9
	mov %r9, %cr4
	mov %rax, %cr4
	mov %r8, %rsp
	xor %ebp, %ebp
	call vbh_vcpu_start
	ud2
	.size vbh_enter_hyp, . - vbh_enter_hyp

/* void vbh_launch_return(uint64_t linux_rsp, int64_t status, uint16_t cs, uint16_t ss)
 * Failed launch: the kernel's tables/GDT/IDT/TR are back; reload CS and SS from the
 * kernel's GDT and return from launch() to its caller (see vbh_launch_entry). */
	.globl vbh_launch_return
	.type vbh_launch_return, @function
vbh_launch_return:
	mov %cx, %ss
	push %rdx
	lea 1f(%rip), %rax
	push %rax
	lretq
1:	mov %rdi, %rsp
	mov %rsi, %rax
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size vbh_launch_return, . - vbh_launch_return

	.section .note.GNU-stack, "", @progbits
