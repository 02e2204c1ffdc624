/* SPDX-License-Identifier: MIT */
/* calib: a control. 4096 xorshift64 steps in registers: no memory traffic, no system
 * call, nothing a hypervisor with nested paging can slow down. Its bare/deprivileged
 * ratio is the host's drift between the two halves of a boot (other load on the host
 * cores under TCG); workload ratios within that drift are not differences. */
#include "common.h"

static volatile uint64_t sink;

static int op(void *ctx)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	unsigned i;

	(void)ctx;
	for (i = 0; i < 4096; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	sink = x;
	return 0;
}

const struct workload wl_calib = { "calib", 3000, 10, NULL, op, NULL };
