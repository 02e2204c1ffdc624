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
    void map_identity(FrameRange r) { note(table_.map(r.first.phys(), r.first.phys(), r.bytes(), attrs_)); }

    void flush_all_cpus() {
        if (!flush_pending_)
            return;
        flush_();
        flush_pending_ = false;
        if constexpr (requires { table_.memory().release_retired(); })
            table_.memory().release_retired();
    }

    void release() { reserved_ = 0; }

    TableT& table() { return table_; }

private:
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
};

} // namespace vbh
