/* RSB stuffing for the hypervisor's assembly (AMD "Software Techniques for Managing
 * Speculation on AMD Processors", return stack buffer; the same fill Linux and KVM do
 * on #VMEXIT). After #VMEXIT the return stack buffer still holds the guest's return
 * addresses: the host chose them, and a RET in the hypervisor that underflows its own
 * entries would speculatively run at one of them. FILL_RSB overwrites all 32 entries
 * with return addresses whose only code is a PAUSE/LFENCE trap, then drops the 32
 * pushed addresses from the stack. Cost: 66 instructions (MOV, 16 x (CALL, CALL, DEC,
 * JNZ), ADD), no memory but the 256 bytes of stack it writes. Clobbers \reg and flags.
 * Use before the first RET after the guest ran. Assembly only. */
#ifndef VBH_ARCH_RSB_H
#define VBH_ARCH_RSB_H

.macro FILL_RSB reg
	mov $16, \reg
.Lrsb_loop\@:
	call .Lrsb_a\@
.Lrsb_trap_a\@:
	pause
	lfence
	jmp .Lrsb_trap_a\@
.Lrsb_a\@:
	call .Lrsb_b\@
.Lrsb_trap_b\@:
	pause
	lfence
	jmp .Lrsb_trap_b\@
.Lrsb_b\@:
	dec \reg
	jnz .Lrsb_loop\@
	add $(32 * 8), %rsp
.endm

#endif
