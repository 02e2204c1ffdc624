// SPDX-License-Identifier: MIT
/*
 * vbh_ring3: VMMCALL from user space (attack 3 of docs/containment.md, "hypercall from
 * ring 3"). vbh's ABI is ring-0 only: the call must raise #UD (SIGILL here) or return
 * VBH_E_DENIED. Any other status is a ring-3 process talking to the hypervisor.
 * Prints one line: result=sigill | result=signal sig=N | result=returned status=S out0=X
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

static sigjmp_buf env;

static void on_signal(int sig)
{
	siglongjmp(env, sig);
}

int main(void)
{
	uint64_t rax = 0 /* VBH_HC_VERSION */, rdi = 0, rsi = 0;
	int sig;

	signal(SIGILL, on_signal);
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	sig = sigsetjmp(env, 1);
	if (sig) {
		printf(sig == SIGILL ? "result=sigill\n" : "result=signal sig=%d\n", sig);
		return 0;
	}
	asm volatile("vmmcall" : "+a"(rax), "+D"(rdi), "+S"(rsi) : : "rdx", "rcx", "memory");
	printf("result=returned status=%llu out0=0x%llx\n", (unsigned long long)rax,
	       (unsigned long long)rdi);
	return 0;
}
