/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest code for the crafted-VMCB attack (svm.c, vmrun_attack). It runs as the L2
 * guest of whatever executes our VMRUN: it loads one word from the address in rbx
 * into rcx and exits with VMMCALL (intercepted in the crafted VMCB). VMRUN and
 * #VMEXIT do not switch rbx/rcx (APM vol. 2 §15.5.1), so the host sees the word.
 */
#include <linux/linkage.h>
#include <asm/ibt.h>
#include <asm/unwind_hints.h>
#include <linux/version.h>

	.text
SYM_CODE_START(vbh_attack_l2_stub)
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
	UNWIND_HINT_EMPTY	/* Linux 6.4 renamed it UNWIND_HINT_UNDEFINED */
#else
	UNWIND_HINT_UNDEFINED
#endif
	ENDBR	/* only to keep objtool quiet: VMRUN enters here, no indirect branch */
	movq (%rbx), %rcx
	vmmcall
	ud2
SYM_CODE_END(vbh_attack_l2_stub)
