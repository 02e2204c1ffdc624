// One run of the payload: a VM with its RAM, in-kernel irqchip and vCPUs, one thread per
// vCPU in the exit loop, then the checks. With the secret stage (`--protected`,
// `--unprotected`) also memslot 1 and its conversions (secret.hpp), and that stage's
// checks; a protected run changes the VM type, the rest stays. With the touch benchmark
// also memslot 2 (touch.hpp), its checks and figures.
#pragma once

#include "checks.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmm {

struct Options {
    unsigned vcpus = 2;
    std::uint32_t ticks = 20;          // timer interrupts per vCPU
    std::uint32_t period_us = 1000;    // LAPIC timer period
    std::uint32_t iterations = 1000;   // exits per benchmark loop (0: none)
    unsigned timeout_s = 60;           // for the whole run, not counting the hold
    // The secret stage (vCPU 0): none, in an ordinary VM (the baseline), or in a
    // KVM_X86_SW_PROTECTED_VM with the secret in private memory (secret.hpp).
    enum class Secret { none, unprotected, protected_vm } secret = Secret::none;
    std::optional<std::uint64_t> seed; // default: random
    unsigned hold_s = 0;               // at its sync point, see SecretOptions
    std::string hold_file;
    bool scribble = false;
    std::string ready_file;
    // The touch benchmark (touch.hpp): pages of memslot 2 (0: none), private when the
    // VM is protected, and the steps of its CPU loop.
    std::uint32_t touch_pages = 0;
    std::uint32_t touch_cpu_iters = 1000000;
    bool redirect = false;             // after the hold, vCPU 0 runs the host's code
    bool rewrite_code = false;         // after the hold, the host rewrites shared code
    bool shared_code = false;          // --protected: the secret stage runs from memslot 0
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
