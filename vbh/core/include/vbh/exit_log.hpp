// EventLog: the hypervisor's ring of security-relevant events (blocked accesses,
// launch/rollback), read by the host with VBH_HC_LOG_READ (hypercalls/include/vbh/log.h).
// Besides the ring, per kind: a counter and the first entries, never overwritten
// (VBH_HC_LOG_SUMMARY), so that a flood cannot erase the first violation.
// Fixed storage, one writer lock; readers copy out under the same lock.
#pragma once

#include <vbh/log.h>
#include <vbh/nospec.hpp>
#include <vbh/spinlock.hpp>

#include <cstdint>

namespace vbh {

static_assert((VBH_LOG_RING_ENTRIES & (VBH_LOG_RING_ENTRIES - 1)) == 0,
              "seq % size is a mask: no index beyond the ring, even speculatively");

class EventLog {
public:
    void record(std::uint32_t kind, std::uint32_t cpu, std::uint64_t addr, std::uint64_t rip,
                std::uint64_t info);
    // The same for a kind known at compile time (the exit path's NPF): inline, and its
    // slot is a constant in range, so it needs neither the bounds test nor the mask.
    template <std::uint32_t Kind>
    [[gnu::always_inline]] void record(std::uint32_t cpu, std::uint64_t addr, std::uint64_t rip,
                                       std::uint64_t info) {
        static_assert(Kind < VBH_LOG_KIND_SLOTS);
        put(Kind, Kind, cpu, addr, rip, info);
    }
    struct Copied {
        std::uint32_t count;
        std::uint64_t first; // seq of the first entry copied
    };
    // Copies entries with seq >= from (oldest first) into out. `out` may be memory the
    // host can write concurrently: the result is computed from hypervisor state only.
    Copied read(std::uint64_t from, vbh_log_page& out);
    std::uint64_t next_seq() const { return __atomic_load_n(&next_, __ATOMIC_ACQUIRE); }
    // Copies the per-kind counters and first entries into out (host memory, written
    // only); returns next_seq as copied.
    std::uint64_t summary(vbh_log_summary& out);

private:
    // One entry into the ring and, among the first of its kind, into `slot`'s.
    [[gnu::always_inline]] void put(std::uint32_t kind, std::uint64_t slot, std::uint32_t cpu,
                                    std::uint64_t addr, std::uint64_t rip, std::uint64_t info) {
        LockGuard g{lock_};
        const std::uint64_t seq = next_;
        const vbh_log_entry e{seq, addr, rip, info, kind, cpu};
        ring_[seq % VBH_LOG_RING_ENTRIES] = e;
        const std::uint64_t n = counts_[slot]++;
        if (n < VBH_LOG_FIRST_PER_KIND)
            first_[slot][index_nospec(n, VBH_LOG_FIRST_PER_KIND)] = e;
        __atomic_store_n(&next_, seq + 1, __ATOMIC_RELEASE);
    }

    SpinLock lock_;
    std::uint64_t next_ = 0;
    vbh_log_entry ring_[VBH_LOG_RING_ENTRIES] = {};
    std::uint64_t counts_[VBH_LOG_KIND_SLOTS] = {};
    vbh_log_entry first_[VBH_LOG_KIND_SLOTS][VBH_LOG_FIRST_PER_KIND] = {};
};

} // namespace vbh
