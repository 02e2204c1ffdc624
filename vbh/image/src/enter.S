/* The image's vendor-neutral way into the hypervisor's own context on one CPU (x86-64
 * only: descriptor tables, CR3, stack); the way back after a failed launch unwinds the
 * launch entry's frame (header.S, vbh_launch_return). The backend's world switch is its
 * own (svm/src/vmrun.S). */
#include <vbh/arch/rsb.h>

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
	/* The kernel's return addresses out of the RSB before any hypervisor RET. */
	FILL_RSB %ecx
	call vbh_vcpu_start
	ud2
	.size vbh_enter_hyp, . - vbh_enter_hyp

	.section .note.GNU-stack, "", @progbits
