/* SPDX-License-Identifier: MIT */
/*
 * In-guest workloads for the vbh exit-overhead benchmark (docs/benchmarks.md).
 * Each workload does a fixed amount of work and reports the wall time it took, so that
 * the bare and the deprivileged run of one boot do exactly the same work.
 *
 * Plain C + clock_gettime rather than Google Benchmark: Debian 12's libbenchmark-dev
 * ships only libbenchmark.so (no libbenchmark.a), and the guest initramfs has no
 * shared libraries, so the programs must be fully static.
 */
#ifndef VBH_GUEST_BENCH_COMMON_H
#define VBH_GUEST_BENCH_COMMON_H

#include <stdint.h>
#include <time.h>

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A workload runs `iters` units of work and stores the elapsed wall time in *ns.
 * Returns 0, or -1 with a message already printed to stderr. */
typedef int (*workload_fn)(uint64_t iters, uint64_t *ns);

int bench_exec(uint64_t iters, uint64_t *ns);     /* fork + execve + wait */
int bench_syscall(uint64_t iters, uint64_t *ns);  /* getppid */
int bench_pingpong(uint64_t iters, uint64_t *ns); /* pipe round trip CPU0 <-> CPU1 */
int bench_switch(uint64_t iters, uint64_t *ns);   /* pipe round trip on CPU0 */
int bench_memrand(uint64_t iters, uint64_t *ns);  /* 4 KiB read, random page */
int bench_memseq(uint64_t iters, uint64_t *ns);   /* 4 KiB read, next page */
int bench_fault(uint64_t iters, uint64_t *ns);    /* anonymous page fault */

#endif
