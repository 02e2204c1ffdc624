// The payload's checks, judged by the VMM from what each vCPU reported (devices.hpp):
// every value the payload read back must be the one the VMM set or emulated. A check's
// detail on success is the same on every run (the value, never a time), so two runs
// (bare and under vbh) can be compared line by line; times are metrics.
#pragma once

#include "devices.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vmm {

struct Expect {
    unsigned vcpus;
    std::uint32_t ticks;            // timer interrupts each vCPU waits for in HLT
    std::uint64_t period_ns;        // LAPIC timer period
    std::uint32_t tsc_khz;          // the guest's TSC rate (KVM_GET_TSC_KHZ)
    std::uint32_t bench_iterations; // 0: no benchmark
    unsigned bench_vcpu;
};

struct Check {
    std::string name;               // "vcpu0.cpuid_signature"
    bool ok;
    std::string detail;             // the value; on failure "got X, want Y" or why
};

std::vector<Check> judge(const Expect& e, unsigned vcpu, const Report& r);

struct Metric {
    std::string name;               // "cpuid_exit_ns"
    double value;
    std::string unit;
};

// The round-trip figures of the benchmark vCPU, and each vCPU's mean timer period.
std::vector<Metric> metrics(const Expect& e, unsigned vcpu, const Report& r);

} // namespace vmm
