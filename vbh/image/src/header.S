/* The launch entry. (The image header at offset 0 of vbh.bin is written by
 * linker.ld.S from link-time values, so it needs no relocation.) */
	.text
/* int64_t launch(uint32_t cpu, const struct vbh_guest_entry *entry)
 * Saves the callee-saved registers on the caller's stack and passes that stack
 * pointer on: a failed launch unwinds to it (vbh_launch_return), a successful one
 * never comes back here (the CPU resumes at entry->rip as a guest). */
	.globl vbh_launch_entry
	.type vbh_launch_entry, @function
vbh_launch_entry:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	sub $8, %rsp
	mov %rsp, %rdx
	call vbh_launch
.Lunwind: /* rsp = the frame above; rax = the status to return */
	add $8, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size vbh_launch_entry, . - vbh_launch_entry

/* void vbh_launch_return(uint64_t linux_rsp, int64_t status, uint16_t cs, uint16_t ss)
 * Failed launch: the kernel's tables/GDT/IDT/TR are back; reload CS and SS from the
 * kernel's GDT and return `status` from vbh_launch_entry's frame at linux_rsp. */
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
	jmp .Lunwind
	.size vbh_launch_return, . - vbh_launch_return

	.section .note.GNU-stack, "", @progbits
