// SPDX-License-Identifier: MIT
// Registration of the Google Benchmark benchmarks of vbh-bench (main.cpp).
#ifndef VBH_GUEST_BENCH_BENCH_HPP
#define VBH_GUEST_BENCH_BENCH_HPP

#include <cstdint>
#include <vector>

namespace vbh_bench {

// The 10th percentile of the repetitions, as a Google Benchmark statistic: host
// preemption of a vCPU only ever adds time, so a low percentile is the least disturbed
// estimate when most repetitions were hit.
double p10(const std::vector<double>& v);

void list_workloads(); // "NAME ITERS BATCH" lines
void register_workloads(std::int64_t scale_pct);
void finish_workloads(); // tears down the workload set up last
bool workloads_ok();     // false once a workload's setup, op or teardown failed
void register_roundtrips(std::int64_t batch, std::int64_t reps);

} // namespace vbh_bench

#endif
