// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * VMMCALL from ring 0 with the register convention of abi.h. Outside SVM guest mode
 * VMMCALL raises #UD (AMD APM vol. 3, VMMCALL: "#UD if SVM is not enabled or the
 * instruction is not intercepted"), so the call is covered by an exception-table
 * entry: a CPU that is not (or no longer) under the hypervisor reports false instead
 * of oopsing. Under a foreign hypervisor the call returns that hypervisor's status,
 * which vbh_cpu_is_guest() does not mistake for vbh.
 */
#include <asm/asm.h>

#include "loader.h"

bool vbh_hypercall(struct vbh_hc *hc)
{
	u64 rax = hc->call, rdi = hc->args[0], rsi = hc->args[1];
	u64 rdx = hc->args[2], rcx = hc->args[3];
	u32 ud = 1;

	asm volatile("1: vmmcall\n\t"
		     "movl $0, %[ud]\n\t"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : "+a"(rax), "+D"(rdi), "+S"(rsi), "+d"(rdx), "+c"(rcx), [ud] "+r"(ud)
		     :
		     : "memory");
	if (ud)
		return false;
	hc->status = rax;
	hc->out[0] = rdi;
	hc->out[1] = rsi;
	return true;
}

bool vbh_cpu_is_guest(u32 *abi_version)
{
	struct vbh_hc hc = { .call = VBH_HC_VERSION };

	if (!vbh_hypercall(&hc) || hc.status != VBH_OK ||
	    (hc.out[0] >> 16) != VBH_ABI_VERSION_MAJOR)
		return false;
	if (abi_version)
		*abi_version = (u32)hc.out[0];
	return true;
}

/* "VBH_E_STATE", ...: the ABI's own spelling, from its one table (abi.h). */
const char *vbh_status_name(s64 status)
{
#define VBH_STATUS_NAME_(name, value, text) [VBH_##name] = "VBH_" #name,
	static const char *const names[VBH_STATUS_COUNT] = { VBH_STATUSES(VBH_STATUS_NAME_) };
#undef VBH_STATUS_NAME_

	return status >= 0 && status < VBH_STATUS_COUNT ? names[status] : "unknown status";
}
