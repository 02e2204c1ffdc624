// Time spent in the hypervisor per exit (stats.h, VBH_HC_CYCLES_READ). The backend
// reads the TSC just before each VMRUN and just after its #VMEXIT (vmrun.S); an exit's
// time is known only at the next VMRUN, when its reason is long decided, so the clock
// keeps the open exit until then. The cost when nobody reads: two RDTSCs per exit and
// about 15 instructions (docs/exit-cost.md) that update this CPU's own page.
#pragma once

#include <vbh/stats.h>

#include <cstdint>

namespace vbh {

static_assert(sizeof(vbh_exit_cycles) == 256);

// hist bucket of a duration: floor(log2(cycles)), 0 for 0, capped at the last bucket.
constexpr unsigned cycle_bucket(std::uint64_t cycles) {
    const unsigned b = 63u - unsigned(__builtin_clzll(cycles | 1));
    return b < VBH_CYCLE_BUCKETS ? b : VBH_CYCLE_BUCKETS - 1;
}

// Durations below this need no cap on their bucket: every exit the hardware and TCG
// produce. Longer ones, and a TSC that went back (below), take the slow path.
inline constexpr std::uint64_t uncapped_cycles = std::uint64_t(1) << (VBH_CYCLE_BUCKETS - 1);

inline void record_cycles(vbh_exit_cycles& k, std::uint64_t cycles) {
    ++k.count;
    k.sum += cycles;
    if (cycles > k.max)
        k.max = cycles;
    ++k.hist[cycle_bucket(cycles)];
}

inline void record_exit_cycles(vbh_cpu_cycles& c, std::uint8_t kind, std::uint64_t cycles) {
    record_cycles(c.kind[kind < VBH_EXIT_KIND_COUNT ? kind : std::uint8_t(VBH_EXIT_OTHER)], cycles);
}

// One per run of a CPU's VMRUN loop, in the loop's frame, so that its two words stay in
// registers across the world switch. The loop opens an exit (exited) and closes it at the
// next VMRUN (entered), strictly alternating: the first VMRUN of a launch is entered
// before the clock starts, so entered() never finds no exit open and needs no test.
class ExitClock {
public:
    // An exit of this kind happened at exit_tsc; c is this CPU's histogram page.
    // kind < VBH_EXIT_KIND_COUNT: the loop passes an ExitReason (vbh/exit.hpp), whose
    // enumerators are exactly the VBH_EXIT_KINDS.
    void exited(vbh_cpu_cycles& c, std::uint8_t kind, std::uint64_t exit_tsc) {
        open_ = &c.kind[kind];
        exit_tsc_ = exit_tsc;
    }
    // The VMRUN after the open exit was entered at entry_tsc: that closes it.
    // The TSC of one CPU does not go back; a guest write to it (not intercepted:
    // TSC_OFFSET stays 0) could, and is then not a duration. One unsigned compare
    // takes both that and a duration too long for an uncapped bucket off the fast path.
    void entered(std::uint64_t entry_tsc) {
        vbh_exit_cycles& k = *open_;
        const std::uint64_t d = entry_tsc - exit_tsc_;
        if (d < uncapped_cycles) [[likely]] {
            ++k.count;
            k.sum += d;
            if (d > k.max)
                k.max = d;
            ++k.hist[63u - unsigned(__builtin_clzll(d | 1))];
        } else if (entry_tsc >= exit_tsc_) {
            record_cycles(k, d);
        }
    }

private:
    vbh_exit_cycles* open_ = nullptr;
    std::uint64_t exit_tsc_ = 0;
};

} // namespace vbh
