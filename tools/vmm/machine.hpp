// One run of the payload: a VM with its RAM, in-kernel irqchip and vCPUs, one thread per
// vCPU in the exit loop, then the checks. What a later `--protected` run changes is the
// VM type and the memory (memory.hpp); the rest stays.
#pragma once

#include "checks.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace vmm {

struct Options {
    unsigned vcpus = 2;
    std::uint32_t ticks = 20;          // timer interrupts per vCPU
    std::uint32_t period_us = 1000;    // LAPIC timer period
    std::uint32_t iterations = 1000;   // exits per benchmark loop (0: none)
    unsigned timeout_s = 60;           // for the whole run
};

struct Outcome {
    std::vector<Check> checks;
    std::vector<Metric> metrics;
    std::vector<std::string> failures;  // vCPUs that did not stop: what they did
    std::vector<std::string> info;      // "tsc_khz=...", exits per vCPU
};

// Error: the VM could not be set up (no /dev/kvm, an ioctl refused).
Result<Outcome> run_machine(const Options& o);

} // namespace vmm
