// SPDX-License-Identifier: MIT
// The C workloads of common.h as Google Benchmark benchmarks. One repetition is one
// former batch (workload::batch iterations, 0.1-1 ms under TCG, or a single exec or
// CPU-to-CPU round trip); a run has as many repetitions as make up workload::iters.
// Setup (a 128 MiB buffer, a pinned peer thread) happens once, at the first repetition,
// and is torn down when another workload starts or the program ends, so repetitions
// time only the operation.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>

#include "bench.hpp"

extern "C" {
#include "common.h"
}

namespace vbh_bench {
namespace {

const workload* const all[] = { &wl_calib, &wl_exec, &wl_syscall, &wl_switch,
				&wl_pingpong, &wl_memrand, &wl_memseq, &wl_fault };

const workload* current;
void* ctx;
bool ok = true;

bool enter(const workload* w)
{
	if (current == w)
		return true;
	finish_workloads();
	if (w->setup && w->setup(&ctx))
		return false;
	current = w;
	return true;
}

void run(benchmark::State& st, const workload* w)
{
	if (!enter(w)) {
		ok = false;
		st.SkipWithError("setup failed (see stderr)");
		return;
	}
	for (auto _ : st)
		if (w->op(ctx)) {
			ok = false;
			st.SkipWithError("operation failed (see stderr)");
			break;
		}
}

} // namespace

void list_workloads()
{
	for (const workload* w : all)
		std::printf("%s %llu %llu\n", w->name, (unsigned long long)w->iters,
			    (unsigned long long)w->batch);
}

void finish_workloads()
{
	if (current && current->teardown && current->teardown(ctx))
		ok = false;
	current = nullptr;
	ctx = nullptr;
}

bool workloads_ok()
{
	return ok;
}

void register_workloads(std::int64_t scale_pct)
{
	for (const workload* w : all) {
		auto iters = std::max<std::int64_t>(1, std::int64_t(w->iters) * scale_pct / 100);
		auto batch = std::int64_t(w->batch);
		// At least 3 repetitions: Google Benchmark computes no statistic from fewer than 2.
		auto reps = std::max<std::int64_t>(3, (iters + batch - 1) / batch);
		benchmark::RegisterBenchmark(w->name, run, w)
			->Iterations(batch)
			->Repetitions(int(reps))
			->UseRealTime() // exec and pingpong wait: CPU time would miss most of it
			->Unit(benchmark::kNanosecond);
	}
}

} // namespace vbh_bench
