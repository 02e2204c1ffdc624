// EngineStage2: HostStage2 over the ept/ engine, for the host's nested table in any
// format (Npt on AMD, Ept on Intel). Header-only: the image and the tests instantiate
// it; vbh_core's own sources never include ept/ (link vbh_ept to use this header).
//
// Reservation. The core's global lock is the only writer of the host table after
// launch, so "setting frames aside" is bookkeeping: reserve(r) adds the engine's exact
// need (Table::tables_needed) for the costlier of unmap(r) / map_identity(r) to the
// running total and fails if the pool cannot cover the total. The ranges the core
// reserves within one hypercall are disjoint and each changes state in the direction
// its own contents differ from, so performing one cannot raise another's need.
//
// Flushing. An edit that removed a present translation, or retired a table another
// CPU's walker may have cached (a re-merge), reports Change::flush. flush_all_cpus()
// then runs the platform's cross-CPU invalidation, after which retired table frames
// may be reused (ept/memory.hpp).
//
// Deferred re-merge. Private guest memory arrives and leaves 4 KiB at a time, and the
// same pages come back: merging the tables a reclaim leaves uniform right away, only to
// split them again at the next donate, was most of a 4 KiB round trip. So map_identity
// maps with ept::Remerge::later and remembers its range (up to `deferred_max`, the same
// range once); at the end of the hypercall (flush_all_cpus, before the flush) the oldest
// ranges beyond `deferred_keep` are merged. The table translates exactly as before
// either way: only its shape differs, by at most the tables of `deferred_max` ranges.
// Those tables are never a reason to refuse: when a reservation falls short, compact()
// merges every deferred range and flushes, and the core asks again (vbh/core.hpp).
#pragma once

#include <ept/table.hpp>
#include <vbh/host_stage2.hpp>

#include <cstddef>

namespace vbh {

template <class TableT, class FlushAll>
class EngineStage2 {
public:
    EngineStage2(TableT& table, FlushAll flush, ept::Attrs ram_attrs = {ept::Perm::rwx, ept::MemType::wb})
        : table_{table}, flush_{flush}, attrs_{ram_attrs} {}

    Result<void> reserve(FrameRange r) {
        auto unmap = table_.tables_needed(ept::Op::unmap(r.first.phys(), r.bytes()));
        auto map = table_.tables_needed(ept::Op::map(r.first.phys(), r.first.phys(), r.bytes(), attrs_));
        if (!unmap)
            return unexpected(unmap.error());
        if (!map)
            return unexpected(map.error());
        std::size_t need = *unmap > *map ? *unmap : *map;
        if (reserved_ + need > table_.memory().available())
            return unexpected(Status::no_memory);
        reserved_ += need;
        return {};
    }

    void unmap(FrameRange r) { note(table_.unmap(r.first.phys(), r.bytes())); }

    // Deferred when there is room (a range already deferred moves to the newest place);
    // merged at once otherwise, as before.
    void map_identity(FrameRange r) {
        const bool known = forget(r);
        const bool defer = known || ndeferred_ < deferred_max;
        const auto remerge = defer ? ept::Remerge::later : ept::Remerge::now;
        note(table_.map(r.first.phys(), r.first.phys(), r.bytes(), attrs_, remerge));
        if (defer)
            deferred_[ndeferred_++] = r;
    }

    // Merge every deferred range, without flushing; whether there was any.
    bool merge_deferred() {
        const bool any = ndeferred_ != 0;
        merge_oldest(ndeferred_);
        return any;
    }

    // merge_deferred(), then the flush that lets the retired frames be reused: whether a
    // reservation that fell short is worth asking again.
    bool compact() {
        if (!merge_deferred())
            return false;
        flush_all_cpus();
        return true;
    }

    void flush_all_cpus() {
        if (ndeferred_ > deferred_keep)
            merge_oldest(ndeferred_ - deferred_keep);
        if (!flush_pending_)
            return;
        flush_();
        flush_pending_ = false;
        if constexpr (requires { table_.memory().release_retired(); })
            table_.memory().release_retired();
    }

    void release() { reserved_ = 0; }
    // The next flush_all_cpus() runs even if no entry changed: what a CPU derived from
    // ownership besides this table (shadow NPTs) must go (core.hpp, drop_shadows).
    void force_flush() { flush_pending_ = true; }

    TableT& table() { return table_; }
    std::size_t deferred_ranges() const { return ndeferred_; }

    static constexpr std::size_t deferred_max = 16;
    static constexpr std::size_t deferred_keep = 8;

private:
    // Drop r from the deferred ranges; whether it was there.
    bool forget(FrameRange r) {
        for (std::size_t i = 0; i < ndeferred_; ++i) {
            if (deferred_[i] != r)
                continue;
            for (++i; i < ndeferred_; ++i)
                deferred_[i - 1] = deferred_[i];
            --ndeferred_;
            return true;
        }
        return false;
    }

    // Merge the n oldest deferred ranges (allocates nothing; retires frames to flush).
    void merge_oldest(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            flush_pending_ |= table_.merge(deferred_[i].first.phys(), deferred_[i].bytes()).flush;
        for (std::size_t i = n; i < ndeferred_; ++i)
            deferred_[i - n] = deferred_[i];
        ndeferred_ -= n;
    }

    // The core reserved first, so the engine cannot refuse here; if it ever did, the
    // ownership map and the table would disagree: stop rather than run on.
    void note(Result<ept::Change> ch) {
        if (!ch)
            __builtin_trap();
        flush_pending_ |= ch->flush;
    }

    TableT& table_;
    FlushAll flush_;
    ept::Attrs attrs_;
    std::size_t reserved_ = 0;
    bool flush_pending_ = false;
    FrameRange deferred_[deferred_max];
    std::size_t ndeferred_ = 0;
};

} // namespace vbh
