// The wait of a cross-CPU invalidation (docs/launch.md, "Cross-CPU invalidation" and
// "Bounded waits"), vendor-neutral and hosted-tested (tests/exit/flush_wait_test.cpp).
// The image supplies the CPUs' flags, the kick (an NMI IPI) and a clock.
//
// Rule. The editor (holding the core's lock) may finish once every other CPU either
//   * is not running guest code: in the hypervisor (in_guest == 0: it flushes before
//     its next VMRUN because its seen_gen is behind), halted or parked there, or reset
//     by an INIT that left a #VMEXIT(INIT) in its control block (QEMU TCG resets the
//     CPU before the hypervisor runs: docs/platform.md) -- none of these can use a
//     stale translation, and launch() gives a relaunched CPU a full flush; or
//   * has flushed for this generation (seen_gen >= gen);
// and no CPU is writing hypercall output into a host frame (host_writing).
// Every step is bounded: the ICR waits (arch/apic.hpp), each round of waiting
// (round_cycles), the number of kicks per round. A CPU still in guest mode that has
// not answered after a round is kicked again (an NMI that arrived while another was
// being handled is merged and lost). A CPU that stays silent *while running guest
// code* cannot be skipped: it may hold a translation of the frame being taken away,
// and finishing would let it read what the new owner writes. That CPU was made deaf by
// the host itself (NMIs masked in a handler that never returns, APIC disabled): the
// editor keeps kicking it, logs the stall once (stall_rounds) and stays safe; only
// the host's own hypercalls wait for it.
#pragma once

#include <concepts>
#include <cstdint>

namespace vbh {

struct FlushTiming {
    std::uint64_t round_cycles = 1ull << 24; // ~7 ms of TSC: one kick's answer, under load
    unsigned stall_rounds = 16;              // ~0.1 s: then the stall is logged, once per CPU
};

template <class E>
concept FlushEnv = requires(E& e, const E& ce, std::uint32_t i) {
    { ce.nr_cpus() } -> std::same_as<std::uint32_t>;
    { ce.is_self(i) } -> std::same_as<bool>;
    { ce.in_guest(i) } -> std::same_as<bool>;
    { ce.seen_gen(i) } -> std::same_as<std::uint64_t>;
    { ce.host_writing(i) } -> std::same_as<bool>;
    { ce.left_by_init(i) } -> std::same_as<bool>; // reset by INIT in guest mode
    { e.kick(i) } -> std::same_as<bool>;          // false: the APIC did not take it
    { e.now() } -> std::same_as<std::uint64_t>;
    { e.relax() } -> std::same_as<void>;
    { e.stalled(i) } -> std::same_as<void>;       // log: CPU i is silent in guest mode
};

enum class CpuAnswer : std::uint8_t { done, writing, pending };

template <FlushEnv E>
CpuAnswer flush_answer(const E& e, std::uint32_t i, std::uint64_t gen) {
    if (e.host_writing(i))
        return CpuAnswer::writing; // in the hypervisor, a bounded copy: just wait
    if (!e.in_guest(i) || e.seen_gen(i) >= gen || e.left_by_init(i))
        return CpuAnswer::done;
    return CpuAnswer::pending;
}

// Returns the number of kicks sent. nr_cpus <= 64 (VBH_MAX_CPUS).
template <FlushEnv E>
std::uint64_t flush_wait(E& e, std::uint64_t gen, const FlushTiming& t = {}) {
    std::uint64_t todo = 0, stalled = 0, kicks = 0;
    for (std::uint32_t i = 0; i < e.nr_cpus(); ++i)
        if (!e.is_self(i) && flush_answer(e, i, gen) != CpuAnswer::done)
            todo |= 1ull << i;
    for (unsigned round = 0; todo; ++round) {
        for (std::uint32_t i = 0; i < e.nr_cpus(); ++i)
            if ((todo >> i & 1) && flush_answer(e, i, gen) == CpuAnswer::pending) {
                kicks += e.kick(i) ? 1 : 0;
                if (round >= t.stall_rounds && !(stalled >> i & 1)) {
                    stalled |= 1ull << i;
                    e.stalled(i);
                }
            }
        const std::uint64_t start = e.now();
        while (todo && e.now() - start < t.round_cycles) {
            for (std::uint32_t i = 0; i < e.nr_cpus(); ++i)
                if ((todo >> i & 1) && flush_answer(e, i, gen) == CpuAnswer::done)
                    todo &= ~(1ull << i);
            e.relax();
        }
    }
    return kicks;
}

} // namespace vbh
