// SPDX-License-Identifier: MIT
/*
 * vbh-bench: the in-guest benchmarks as one Google Benchmark program (docs/benchmarks.md).
 *   vbh-bench list                 workloads: name, default iterations, batch size
 *   vbh-bench now                  CLOCK_MONOTONIC in ns (busybox date has no %N)
 *   vbh-bench time CMD [ARGS...]   runs CMD, prints "time EXIT_CODE ELAPSED_NS"
 *   vbh-bench [--scale=PCT] [--rt_batch=N] [--rt_reps=N] [--benchmark_...]
 *       runs the benchmarks: the workloads (workloads.cpp, named as in `list`; iteration
 *       counts PCT % of the defaults) and the round trips (roundtrip.cpp; N repetitions
 *       of N calls each), e.g. --benchmark_filter='^exec/' --benchmark_format=json.
 * Every benchmark reports each of its repetitions (run_type "iteration" in the JSON: the
 * raw samples, per iteration, in wall-clock ns); the statistics over them are computed
 * on the host by tools/report (Google Benchmark's own mean/median/stddev aggregates
 * follow in the output and are not used). Exit status 1 if a workload failed; a round
 * trip that cannot run (ring-3 VMMCALL when bare) is an error entry in the output.
 * Dynamically linked: Debian's libbenchmark-dev has no static library; qemu-nested/build.sh
 * packs the shared libraries into the initramfs.
 */
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.hpp"

extern "C" {
#include "common.h"
}

namespace {

int run_timed(char** argv)
{
	std::uint64_t t0 = now_ns();
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		std::perror("vbh-bench: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		std::perror("vbh-bench: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		std::perror("vbh-bench: waitpid");
		return 1;
	}
	std::printf("time %d %llu\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128,
		    (unsigned long long)(now_ns() - t0));
	return 0;
}

// Takes --NAME=N out of argv; false on a malformed or non-positive value.
bool take_flag(int& argc, char** argv, const char* name, std::int64_t& value)
{
	std::string prefix = std::string("--") + name + "=";

	for (int i = 1; i < argc; i++) {
		if (std::strncmp(argv[i], prefix.c_str(), prefix.size()))
			continue;
		char* end;
		value = std::strtoll(argv[i] + prefix.size(), &end, 0);
		std::copy(argv + i + 1, argv + argc + 1, argv + i); // argv[argc] is NULL
		argc--;
		if (*end || value <= 0) {
			std::fprintf(stderr, "vbh-bench: bad %s\n", prefix.c_str());
			return false;
		}
		return true;
	}
	return true;
}

} // namespace

int main(int argc, char** argv)
{
	std::int64_t scale = 100, rt_batch = 100, rt_reps = 50;

	if (argc > 1 && !std::strcmp(argv[1], "list")) {
		vbh_bench::list_workloads();
		return 0;
	}
	if (argc > 1 && !std::strcmp(argv[1], "now")) {
		std::printf("%llu\n", (unsigned long long)now_ns());
		return 0;
	}
	if (argc > 2 && !std::strcmp(argv[1], "time"))
		return run_timed(argv + 2);
	benchmark::Initialize(&argc, argv);
	if (!take_flag(argc, argv, "scale", scale) || !take_flag(argc, argv, "rt_batch", rt_batch) ||
	    !take_flag(argc, argv, "rt_reps", rt_reps))
		return 2;
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 2;
	vbh_bench::register_workloads(scale);
	vbh_bench::register_roundtrips(rt_batch, std::max<std::int64_t>(3, rt_reps));
	benchmark::RunSpecifiedBenchmarks();
	vbh_bench::finish_workloads();
	benchmark::Shutdown();
	return vbh_bench::workloads_ok() ? 0 : 1;
}
