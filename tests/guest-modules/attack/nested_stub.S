/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest code for the nested attacks (nested.c). vbh_attack_l2_vmrun: the L2 executes
 * VMRUN with the rAX its VMCB12 gave it (save.rax); intercepted, the host sees exit
 * 0x80, and nothing else may run it. vbh_attack_l2_fault: every vector of the L2's
 * own IDT lands here, so an exception injected into the L2 (vbh's #GP for a blocked
 * nested access) ends in VMMCALL with a marker in rcx instead of running a host
 * handler in guest context.
 */
#include <linux/linkage.h>
#include <asm/ibt.h>
#include <asm/unwind_hints.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define NEST_HINT UNWIND_HINT_EMPTY
#else
#define NEST_HINT UNWIND_HINT_UNDEFINED
#endif

	.text
SYM_CODE_START(vbh_attack_l2_vmrun)
	NEST_HINT
	ENDBR
	vmrun %rax
	vmmcall
	ud2
SYM_CODE_END(vbh_attack_l2_vmrun)

SYM_CODE_START(vbh_attack_l2_fault)
	NEST_HINT
	ENDBR	/* an IDT entry: ENDBR as in every Linux vector */
	movabsq $0xfa017ed0fa017ed0, %rcx
	vmmcall
	ud2
SYM_CODE_END(vbh_attack_l2_fault)
