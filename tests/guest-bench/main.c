/* SPDX-License-Identifier: MIT */
/*
 * vbh-bench: one static binary, one workload per invocation.
 *   vbh-bench list                 names and default iteration counts
 *   vbh-bench WORKLOAD [ITERS]     prints "WORKLOAD ITERS ELAPSED_NS" on stdout
 *   vbh-bench time CMD [ARGS...]   runs CMD, prints "time EXIT_CODE ELAPSED_NS"
 *   vbh-bench now                  prints CLOCK_MONOTONIC in ns (busybox date has no %N)
 * Defaults are sized for QEMU TCG: 0.1-1 s per run there on an idle host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

struct workload {
	const char *name;
	uint64_t iters;
	workload_fn fn;
};

static const struct workload workloads[] = {
	{ "exec", 60, bench_exec },
	{ "syscall", 200000, bench_syscall },
	{ "switch", 3000, bench_switch },
	{ "pingpong", 200, bench_pingpong },
	{ "memrand", 25000, bench_memrand },
	{ "memseq", 25000, bench_memseq },
	{ "fault", 6000, bench_fault },
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

static int run_workload(const struct workload *w, const char *iters_arg)
{
	uint64_t iters = w->iters, ns = 0;

	if (iters_arg) {
		char *end;

		iters = strtoull(iters_arg, &end, 0);
		if (*end || iters == 0) {
			fprintf(stderr, "vbh-bench: bad iteration count '%s'\n", iters_arg);
			return 2;
		}
	}
	if (w->fn(iters, &ns))
		return 1;
	printf("%s %llu %llu\n", w->name, (unsigned long long)iters, (unsigned long long)ns);
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "usage: vbh-bench list | now | WORKLOAD [ITERS] | time CMD...\n");
		return 2;
	}
	if (!strcmp(argv[1], "list")) {
		for (i = 0; i < NWORKLOADS; i++)
			printf("%s %llu\n", workloads[i].name,
			       (unsigned long long)workloads[i].iters);
		return 0;
	}
	if (!strcmp(argv[1], "now")) {
		printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (!strcmp(argv[1], "time") && argc > 2)
		return run_timed(argv + 2);
	for (i = 0; i < NWORKLOADS; i++)
		if (!strcmp(argv[1], workloads[i].name))
			return run_workload(&workloads[i], argc > 2 ? argv[2] : NULL);
	fprintf(stderr, "vbh-bench: unknown workload '%s'\n", argv[1]);
	return 2;
}
