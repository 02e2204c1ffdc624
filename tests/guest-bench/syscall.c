/* SPDX-License-Identifier: MIT */
/* syscall: getppid through syscall(2), so libc can never answer from a cache. The
 * cheapest round trip into the kernel; SYSCALL/SYSRET are not intercepted by vbh, so
 * any difference is the nested-paging cost of the kernel entry path. */
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

int bench_syscall(uint64_t iters, uint64_t *ns)
{
	uint64_t t0 = now_ns(), i;

	for (i = 0; i < iters; i++)
		(void)syscall(SYS_getppid);
	*ns = now_ns() - t0;
	return 0;
}
