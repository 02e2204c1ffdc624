// SPDX-License-Identifier: MIT
// Registration of the Google Benchmark benchmarks of vbh-bench (main.cpp).
#ifndef VBH_GUEST_BENCH_BENCH_HPP
#define VBH_GUEST_BENCH_BENCH_HPP

#include <cstdint>

namespace vbh_bench {

void list_workloads(); // "NAME ITERS BATCH" lines
void register_workloads(std::int64_t scale_pct);
void finish_workloads(); // tears down the workload set up last
bool workloads_ok();     // false once a workload's setup, op or teardown failed
void register_roundtrips(std::int64_t batch, std::int64_t reps);

} // namespace vbh_bench

#endif
