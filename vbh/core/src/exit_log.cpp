// EventLog: a fixed ring; the sequence number of an entry is its position mod size.
#include <vbh/exit_log.hpp>

namespace vbh {

void EventLog::record(std::uint32_t kind, std::uint32_t cpu, std::uint64_t addr,
                      std::uint64_t rip, std::uint64_t info) {
    LockGuard g{lock_};
    const std::uint64_t seq = next_;
    ring_[seq % VBH_LOG_RING_ENTRIES] = vbh_log_entry{seq, addr, rip, info, kind, cpu};
    __atomic_store_n(&next_, seq + 1, __ATOMIC_RELEASE);
}

EventLog::Copied EventLog::read(std::uint64_t from, vbh_log_page& out) {
    LockGuard g{lock_};
    const std::uint64_t oldest = next_ > VBH_LOG_RING_ENTRIES ? next_ - VBH_LOG_RING_ENTRIES : 0;
    const std::uint64_t first = from < oldest ? oldest : from;
    std::uint32_t n = 0;
    for (std::uint64_t s = first; s < next_ && n < VBH_LOG_PAGE_ENTRIES; ++s, ++n)
        out.entries[n] = ring_[s % VBH_LOG_RING_ENTRIES];
    out.first_seq = first;
    out.next_seq = next_;
    out.lost = from < oldest ? oldest - from : 0;
    out.count = n;
    out.reserved = 0;
    return {n, first};
}

} // namespace vbh
