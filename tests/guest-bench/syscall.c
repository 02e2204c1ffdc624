/* SPDX-License-Identifier: MIT */
/* syscall: getppid through syscall(2), so libc can never answer from a cache. The
 * cheapest round trip into the kernel; SYSCALL/SYSRET are not intercepted by vbh, so
 * any difference is the nested-paging cost of the kernel entry path. */
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

static int op(void *ctx)
{
	(void)ctx;
	(void)syscall(SYS_getppid);
	return 0;
}

const struct workload wl_syscall = { "syscall", 200000, 200, NULL, op, NULL };
