// EventLog: a fixed ring (the sequence number of an entry is its position mod size),
// and per kind a counter and the first entries, which nothing overwrites.
#include <vbh/exit_log.hpp>
#include <vbh/nospec.hpp>

#include <cstring>

namespace vbh {

static_assert(sizeof(vbh_log_summary) <= 4096);

void EventLog::record(std::uint32_t kind, std::uint32_t cpu, std::uint64_t addr,
                      std::uint64_t rip, std::uint64_t info) {
    // Kinds beyond the slots share slot 0 (log.h); masked, kind may come from anywhere.
    put(kind, kind < VBH_LOG_KIND_SLOTS ? index_nospec(kind, VBH_LOG_KIND_SLOTS) : 0, cpu, addr,
        rip, info);
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

std::uint64_t EventLog::summary(vbh_log_summary& out) {
    LockGuard g{lock_};
    out.next_seq = next_;
    out.slots = VBH_LOG_KIND_SLOTS;
    out.per_kind = VBH_LOG_FIRST_PER_KIND;
    std::memcpy(out.count, counts_, sizeof counts_);
    std::memcpy(out.first, first_, sizeof first_);
    return next_;
}

} // namespace vbh
