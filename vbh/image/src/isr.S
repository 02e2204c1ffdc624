/* Exception entry for the hypervisor's IDT (vectors 0-31, 16-byte stubs at
 * vbh_isr_table + 16 * vector). The hypervisor runs with GIF = 0 and IF = 0: any
 * exception is a hypervisor bug, reported on COM1 by vbh_exception(), which halts.
 * The one exception to that is the NMI (vector 2), taken only while drain_nmi()
 * opens GIF after an NMI exit: count it and return. */
#include <vbh/image/percpu_offsets.h>

	.text
	.balign 16
	.globl vbh_isr_table
vbh_isr_table:
	.set vec, 0
	.rept 32
	.balign 16
	.if vec == 2
	jmp vbh_isr_nmi
	.else
	.if (vec != 8) && (vec != 10) && (vec != 11) && (vec != 12) && (vec != 13) && (vec != 14) && (vec != 17) && (vec != 21) && (vec != 29) && (vec != 30)
	pushq $0
	.endif
	pushq $vec
	jmp vbh_isr_common
	.endif
	.set vec, vec + 1
	.endr

vbh_isr_nmi:
	lock incq %gs:VBH_PERCPU_NMIS
	iretq

vbh_isr_common:
	mov %rsp, %rdi
	and $~0xf, %rsp
	call vbh_exception
	ud2

	.section .note.GNU-stack, "", @progbits
