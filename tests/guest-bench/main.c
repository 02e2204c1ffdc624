/* SPDX-License-Identifier: MIT */
/*
 * vbh-bench: one static binary, one workload per invocation.
 *   vbh-bench list                 names, default iterations, batch size
 *   vbh-bench WORKLOAD [ITERS]     prints "WORKLOAD ITERS ELAPSED_NS MEDIAN_NS P10_NS"
 *   vbh-bench time CMD [ARGS...]   runs CMD, prints "time EXIT_CODE ELAPSED_NS"
 *   vbh-bench now                  prints CLOCK_MONOTONIC in ns (busybox date has no %N)
 * ELAPSED_NS is the whole run; MEDIAN_NS and P10_NS are the median and 10th percentile
 * over the run's batches of the batch time per iteration. Host preemption of the vCPU
 * only ever adds time, so a low percentile is the least disturbed estimate when the
 * host is so loaded that most batches are hit.
 * Defaults are sized for QEMU TCG: 0.1-1 s per run there on an idle host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static const struct workload *const workloads[] = {
	&wl_calib, &wl_exec, &wl_syscall, &wl_switch, &wl_pingpong, &wl_memrand, &wl_memseq,
	&wl_fault,
};

#define NWORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static int run_timed(char **argv)
{
	uint64_t t0 = now_ns();
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("vbh-bench: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		perror("vbh-bench: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("vbh-bench: waitpid");
		return 1;
	}
	printf("time %d %llu\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128,
	       (unsigned long long)(now_ns() - t0));
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs iters iterations in batches; per_iter[i] = batch i's time per iteration. */
static int batches(const struct workload *w, void *ctx, uint64_t iters, double *per_iter)
{
	uint64_t done = 0, i = 0, n, k, t0;

	while (done < iters) {
		n = iters - done < w->batch ? iters - done : w->batch;
		t0 = now_ns();
		for (k = 0; k < n; k++)
			if (w->op(ctx))
				return -1;
		per_iter[i++] = (double)(now_ns() - t0) / (double)n;
		done += n;
	}
	return 0;
}

static int run_workload(const struct workload *w, uint64_t iters)
{
	uint64_t nb = (iters + w->batch - 1) / w->batch, t0, ns;
	double *per_iter = calloc(nb, sizeof(double));
	void *ctx = NULL;
	int rc = -1;

	if (!per_iter || (w->setup && w->setup(&ctx))) {
		free(per_iter);
		return 1;
	}
	t0 = now_ns();
	if (!batches(w, ctx, iters, per_iter)) {
		ns = now_ns() - t0;
		qsort(per_iter, nb, sizeof(double), cmp_double);
		printf("%s %llu %llu %.1f %.1f\n", w->name, (unsigned long long)iters,
		       (unsigned long long)ns, per_iter[nb / 2], per_iter[nb / 10]);
		rc = 0;
	}
	if (w->teardown && w->teardown(ctx))
		rc = -1;
	free(per_iter);
	return rc ? 1 : 0;
}

static int parse_iters(const struct workload *w, const char *arg, uint64_t *iters)
{
	char *end;

	*iters = w->iters;
	if (!arg)
		return 0;
	*iters = strtoull(arg, &end, 0);
	if (*end || *iters == 0) {
		fprintf(stderr, "vbh-bench: bad iteration count '%s'\n", arg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t iters;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: vbh-bench list | now | WORKLOAD [ITERS] | time CMD...\n");
		return 2;
	}
	if (!strcmp(argv[1], "list")) {
		for (i = 0; i < NWORKLOADS; i++)
			printf("%s %llu %llu\n", workloads[i]->name,
			       (unsigned long long)workloads[i]->iters,
			       (unsigned long long)workloads[i]->batch);
		return 0;
	}
	if (!strcmp(argv[1], "now")) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (!strcmp(argv[1], "time") && argc > 2)
		return run_timed(argv + 2);
	for (i = 0; i < NWORKLOADS; i++)
		if (!strcmp(argv[1], workloads[i]->name))
			return parse_iters(workloads[i], argc > 2 ? argv[2] : NULL, &iters)
				       ? 2 : run_workload(workloads[i], iters);
	fprintf(stderr, "vbh-bench: unknown workload '%s'\n", argv[1]);
	return 2;
}
