/* The last step of a platform reset (reset.cpp): zero this CPU's own stack, then do
 * the port write that resets or powers off the machine. Uses registers only: the
 * stack it zeroes is the one it runs on, and nothing after the zeroing may push.
 *
 * [[noreturn]] void vbh_scrub_tail(uint64_t stack_base, uint64_t qwords, uint64_t port,
 *                                  uint64_t size, uint64_t value)
 *   rdi = first byte of the stack, rsi = its length in 8-byte words, rdx = port,
 *   rcx = access size (1, 2, 4), r8 = value.
 * If the platform ignores the write, the CPU halts with the stack zeroed. */
	.text
	.globl vbh_scrub_tail
	.type vbh_scrub_tail, @function
vbh_scrub_tail:
	mov %rcx, %r9
	mov %rsi, %rcx
	xor %eax, %eax
	cld
	rep stosq
	xor %esp, %esp          /* nothing of the old stack survives in a register */
	mov %r8, %rax
	cmp $1, %r9
	je 1f
	cmp $2, %r9
	je 2f
	outl %eax, %dx
	jmp 3f
1:	outb %al, %dx
	jmp 3f
2:	outw %ax, %dx
3:	cli
	hlt
	jmp 3b
	.size vbh_scrub_tail, . - vbh_scrub_tail
