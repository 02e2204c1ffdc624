/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The INIT/SIPI payload (sipi.c; docs/containment.md, "INIT and SIPI"). A CPU that
 * receives INIT and then SIPI with vector V starts in real mode at CS = V << 8, IP = 0
 * (Intel SDM vol. 3 §9.4.4, AMD APM vol. 2 §15.27.9): here. The payload marks that it
 * started, enters 32-bit protected mode without paging (flat GDT; an IDT whose 256
 * vectors each land in a stub that records the vector), and copies 8 bytes from each
 * target physical address the module patched in. Without paging and outside SVM, the
 * address is the physical frame: on a bare kernel the copy succeeds. Under vbh the CPU
 * runs in guest mode under the host's nested page table, where a hypervisor or domain
 * frame is absent: the nested page fault comes back as #GP, the stub records vector 13
 * and the payload moves to the next target. Then it halts with interrupts off.
 *
 * Not executed where it is linked: sipi.c copies it below 1 MiB, so it lives in
 * .rodata (objtool does not look at it) and uses only relative jumps and calls; the
 * absolute addresses it needs (GDT, IDT, far pointer) are filled in by the module.
 */
#include "sipi.h"

	.section .rodata.vbh_sipi, "a"
	.globl vbh_sipi_blob
	.globl vbh_sipi_blob_end
vbh_sipi_blob:
	.code16
	cli
	movw %cs, %ax			/* CS base = P: data below is at DS:offset */
	movw %ax, %ds
	movl $SIPI_STARTED_MAGIC, (SIPI_STARTED)
	xorl %ebx, %ebx			/* ebx = P = CS << 4, kept across the switch: */
	movw %ax, %bx			/* ESP is 0 after INIT, so no CALL/POP trick */
	shll $4, %ebx			/* before the payload has a stack */
	lgdtl (SIPI_GDTR)
	movl %cr0, %eax
	orl $1, %eax			/* PE; paging stays off */
	movl %eax, %cr0
	ljmpl *(SIPI_FARPTR)		/* to SIPI_CS32:P + SIPI_PM32 */

	.org SIPI_PM32
	.code32
pm32:
	movw $SIPI_DS32, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	leal SIPI_STACK_TOP(%ebx), %esp	/* ebx = P for the rest of the run */
	lidtl SIPI_IDTR(%ebx)
next:
	movl SIPI_IDX(%ebx), %ecx
	cmpl SIPI_COUNT(%ebx), %ecx
	jae done
	movl SIPI_TARGET(%ebx,%ecx,8), %esi
	movl (%esi), %eax		/* the attack: both loads, then both stores, */
	movl 4(%esi), %edx		/* so a fault leaves the slot's poison whole */
	movl %eax, SIPI_DATA(%ebx,%ecx,8)
	movl %edx, SIPI_DATA+4(%ebx,%ecx,8)
	movl $SIPI_READ_DONE, SIPI_RESULT(%ebx,%ecx,4)
	incl SIPI_IDX(%ebx)
	jmp next
done:
	movl $SIPI_DONE_MAGIC, SIPI_DONE(%ebx)
halt:
	cli
	hlt
	jmp halt

/*
 * Every IDT vector enters through its stub's CALL: the return address, stub + 5, gives
 * the vector ((addr - stubs) / 8). A fault while a target is being read is that target's
 * result; the payload drops the exception frame (no IRET: nothing to return to) and goes
 * on with the next target. A vector after the last target (an NMI while halted: Linux's
 * shutdown sends one to each CPU) is kept in SIPI_LATE.
 */
fault:					/* ESP is valid here: CALL/POP finds P */
	call 1f
1:	popl %ebx
	subl $(1b - vbh_sipi_blob), %ebx
	popl %eax
	subl %ebx, %eax
	subl $SIPI_STUBS, %eax
	shrl $3, %eax
	movl SIPI_IDX(%ebx), %ecx
	cmpl SIPI_COUNT(%ebx), %ecx
	jae late
	orl $SIPI_FAULT, %eax
	movl %eax, SIPI_RESULT(%ebx,%ecx,4)
	incl SIPI_IDX(%ebx)
	leal SIPI_STACK_TOP(%ebx), %esp
	jmp next
late:
	movl %eax, SIPI_LATE(%ebx)
	jmp halt

	.org SIPI_STUBS
	.rept 256
	call fault
	.balign 8, 0xcc
	.endr
	.org 0x1000			/* page 1 (IDT, stack) is built by the module */
vbh_sipi_blob_end:
