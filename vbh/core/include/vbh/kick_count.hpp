// KickCount: the flush-kick NMIs a CPU has been sent and not yet taken (docs/launch.md,
// "Bounded waits"). An NMI exit cannot tell a kick from the host's own NMI; it takes a
// kick if one is counted, else the NMI is the host's and is reflected.
//
// Counted, not a flag: a CPU kicked again before it took the first NMI may get two NMI
// exits, and both must be swallowed (a surplus one reaches Linux as "NMI received for
// unknown reason"). But two kicks can also reach the CPU as one NMI (an NMI that
// arrives while another is pending is merged, and the editor re-kicks a CPU that stays
// silent for a round), and the count left behind would swallow the next real NMI, however
// much later it came (seen: an NMI a device sent, lost after a containment run's
// flushes). So a count only stands while the newest kick is recent: a kick NMI is
// delivered within `stale` TSC cycles of being sent, and an NMI exit that finds only
// older counts drops them and is the host's.
//
// Writers: any CPU's flush (sent, unsent); reader: the kicked CPU's NMI exit (take).
// The TSC is stored before the count is raised, so a take that sees the count sees
// that kick's time (seq_cst). TSCs of different CPUs are compared: they run from one
// clock (invariant TSC), and `stale` is far above any skew.
#pragma once

#include <cstdint>

namespace vbh {

class KickCount {
public:
    // ~0.7 s at 3 GHz: above any NMI delivery delay seen under QEMU TCG on a loaded
    // host (the editor's retry round is 2^24 cycles), far below the time between a
    // flush and an unrelated NMI that must not be lost.
    static constexpr std::uint64_t stale = std::uint64_t(1) << 31;

    // A kick is about to be sent at TSC now.
    void sent(std::uint64_t now) {
        __atomic_store_n(&sent_tsc_, now, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&pending_, 1, __ATOMIC_SEQ_CST);
    }
    // The kick could not be sent (the APIC did not accept it). Never below zero: an
    // NMI exit may have taken the count in between.
    void unsent() {
        std::uint32_t n = __atomic_load_n(&pending_, __ATOMIC_SEQ_CST);
        while (n != 0 && !__atomic_compare_exchange_n(&pending_, &n, n - 1, false, __ATOMIC_SEQ_CST,
                                                      __ATOMIC_SEQ_CST)) {
        }
    }
    // An NMI exit at TSC now: true if it is a kick (one count taken).
    bool take(std::uint64_t now) {
        std::uint32_t n = __atomic_load_n(&pending_, __ATOMIC_SEQ_CST);
        while (n != 0) {
            const std::uint64_t last = __atomic_load_n(&sent_tsc_, __ATOMIC_SEQ_CST);
            const bool recent = now - last < stale || last - now < stale; // either side of skew
            if (__atomic_compare_exchange_n(&pending_, &n, recent ? n - 1 : 0, false, __ATOMIC_SEQ_CST,
                                            __ATOMIC_SEQ_CST))
                return recent;
        }
        return false;
    }
    // A (re)launched CPU starts with no kick outstanding.
    void reset() { __atomic_store_n(&pending_, 0, __ATOMIC_SEQ_CST); }
    std::uint32_t pending() const { return __atomic_load_n(&pending_, __ATOMIC_SEQ_CST); }

private:
    std::uint64_t sent_tsc_ = 0;
    std::uint32_t pending_ = 0;
};

} // namespace vbh
