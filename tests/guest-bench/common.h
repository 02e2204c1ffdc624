/* SPDX-License-Identifier: MIT */
/*
 * In-guest workloads for the vbh exit-overhead benchmark (docs/benchmarks.md).
 * Each workload does a fixed amount of work, so the bare and the deprivileged run of one
 * boot do exactly the same; workloads.cpp registers each with Google Benchmark as many
 * short repetitions (one batch each); each repetition's time is printed, and the report
 * (tools/report) takes their median and 10th percentile next to the mean, because
 * under QEMU TCG on a busy host the vCPU thread is preempted at random and only a
 * robust statistic survives that.
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

/* setup/op/teardown return 0, or -1 with a message already printed to stderr. */
struct workload {
	const char *name;
	uint64_t iters; /* default number of iterations (sized for TCG) */
	uint64_t batch; /* iterations per repetition: 0.1-1 ms under TCG, or one */
	int (*setup)(void **ctx);
	int (*op)(void *ctx); /* one iteration */
	int (*teardown)(void *ctx);
};

extern const struct workload wl_calib;    /* control: ALU loop (host drift) */
extern const struct workload wl_exec;     /* fork + execve + wait */
extern const struct workload wl_syscall;  /* getppid */
extern const struct workload wl_switch;   /* pipe round trip on CPU 0 */
extern const struct workload wl_pingpong; /* pipe round trip CPU 0 <-> CPU 1 */
extern const struct workload wl_memrand;  /* 4 KiB read, random page */
extern const struct workload wl_memseq;   /* 4 KiB read, next page */
extern const struct workload wl_fault;    /* anonymous page fault */

#endif
