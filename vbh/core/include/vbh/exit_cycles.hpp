// Time spent in the hypervisor per exit (stats.h, VBH_HC_CYCLES_READ). The backend
// reads the TSC just before each VMRUN and just after its #VMEXIT (vmrun.S); an exit's
// time is known only at the next VMRUN, when its reason is long decided, so the clock
// keeps the open exit until then. The cost when nobody reads: two RDTSCs per exit and
// 38 instructions (docs/exit-cost.md) that update this CPU's own page.
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

inline void record_exit_cycles(vbh_cpu_cycles& c, std::uint8_t kind, std::uint64_t cycles) {
    if (kind >= VBH_EXIT_KIND_COUNT)
        kind = VBH_EXIT_OTHER;
    vbh_exit_cycles& k = c.kind[kind];
    ++k.count;
    k.sum += cycles;
    if (cycles > k.max)
        k.max = cycles;
    ++k.hist[cycle_bucket(cycles)];
}

// Works from zeroed memory (the per-CPU block is not constructed): no exit is open.
class ExitClock {
public:
    // A VMRUN was entered at entry_tsc: that closes the exit still open, if any.
    // The TSC of one CPU does not go back; a guest write to it (not intercepted:
    // TSC_OFFSET stays 0) could, and is then not a duration.
    void entered(vbh_cpu_cycles& c, std::uint64_t entry_tsc) {
        if (open_ && entry_tsc >= exit_tsc_)
            record_exit_cycles(c, kind_, entry_tsc - exit_tsc_);
        open_ = false;
    }
    // An exit of this kind happened at exit_tsc.
    void exited(std::uint8_t kind, std::uint64_t exit_tsc) {
        open_ = true;
        kind_ = kind;
        exit_tsc_ = exit_tsc;
    }

private:
    std::uint64_t exit_tsc_ = 0;
    std::uint8_t kind_ = 0;
    bool open_ = false;
};

} // namespace vbh
