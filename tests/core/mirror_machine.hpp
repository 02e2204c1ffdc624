// A fake machine whose core edits two host stage-2 tables through a Stage2Mirror: the
// host NPT (ept::Npt, RWX) as the primary and, as the one mirror, a VT-d second-level
// table (ept::Vtd, RW: what the IOMMU driver gives the host's devices), each the
// real ept/ engine over its own FramePool behind EngineStage2 (the NPT's is the
// Stage2Mirror itself, as in the image). The VT-d side is the driver's own pieces, as
// the image has them (vbh/image/iommu.hpp): its table memory iommu::DmaMemory (not
// coherent: every entry write is flushed) and a flush that is one VtdUnit's domain
// invalidation on a simulated unit (fake_vtd.hpp), which notes how many entry writes
// its last completed invalidation covered. The mirror is wrapped in
// Checked<>, which can refuse a chosen reserve (failure injection) and records whether
// every edit was followed by a flush before the call returned.
// Both tables start as the image builds the NPT: identity over [0, top) minus the
// hypervisor's ranges.
#pragma once

#include "fake_vtd.hpp"
#include "sparse_memory.hpp"

#include <ept/ept.hpp>
#include <iommu/vtd_tables.hpp>
#include <iommu/vtd_unit.hpp>
#include <vbh/core.hpp>
#include <vbh/engine_stage2.hpp>
#include <vbh/stage2_mirror.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vbh::test {

// A HostStage2 wrapper that checks the caller and can refuse on request.
template <HostStage2 S>
class Checked {
public:
    explicit Checked(S& inner) : inner_{inner} {}

    Result<void> reserve(FrameRange r) {
        retried_ |= refused_; // asked again after a refusal (the core's compaction)
        if (refuse_at_ >= 0 && reserves_++ == refuse_at_) {
            refused_ = true;
            return unexpected(Status::no_memory);
        }
        auto res = inner_.reserve(r);
        reserved_ |= res.has_value();
        return res;
    }
    void unmap(FrameRange r) { edit(), inner_.unmap(r); }
    void map_identity(FrameRange r) { edit(), inner_.map_identity(r); }
    void flush_all_cpus() {
        inner_.flush_all_cpus();
        unflushed_ = false;
        ++flush_calls_;
    }
    void release() {
        inner_.release();
        reserved_ = false;
        refuse_at_ = -1;
        reserves_ = 0;
    }

    // The inner stage-2's deferred re-merges (EngineStage2), for the mirror's compact().
    bool merge_deferred()
        requires requires(S& s) { s.merge_deferred(); }
    {
        const bool any = inner_.merge_deferred();
        unflushed_ |= any;
        return any;
    }

    // Refuse the n-th reserve (0-based) from now until the next release().
    void refuse_reserve(int n) { refuse_at_ = n, reserves_ = 0, refused_ = retried_ = false; }
    bool refused() const { return refused_; }
    bool retried() const { return retried_; }
    bool holds_reservation() const { return reserved_; }
    bool unflushed() const { return unflushed_; }
    std::uint64_t flush_calls() const { return flush_calls_; }
    std::uint64_t edits() const { return edits_; }

private:
    void edit() {
        EXPECT_TRUE(reserved_) << "edit without a reservation";
        unflushed_ = true;
        ++edits_;
    }

    S& inner_;
    int refuse_at_ = -1;
    int reserves_ = 0;
    bool refused_ = false;
    bool retried_ = false;
    bool reserved_ = false;
    bool unflushed_ = false;
    std::uint64_t flush_calls_ = 0;
    std::uint64_t edits_ = 0;
};

template <std::size_t PoolFrames>
class MirrorMachine {
public:
    using Pool = ept::FramePool<PoolFrames>;
    using NptTable = ept::Table<ept::Npt, Pool>;
    struct CountingPool : Pool {
        std::uint64_t writes = 0;
        void wrote(ept::Slot*) { ++writes; }
    };
    using VtdPool = iommu::DmaMemory<CountingPool>;
    using VtdTable = ept::Table<ept::Vtd, VtdPool>;
    using Unit = iommu::VtdUnit<FakeVtd>;
    // Each flush appends its table's tag to `order` (which table invalidated when).
    struct LogFlush {
        std::string* order;
        char tag;
        void operator()() const { order->push_back(tag); }
    };
    using NptS2 = EngineStage2<NptTable, LogFlush>;
    // The image's VtdFlushAll for one unit: log, invalidate, and a unit that did not
    // complete is a failure (the image stops the machine).
    struct UnitFlush {
        std::string* order;
        Unit* unit;
        void operator()() const {
            order->push_back('v');
            EXPECT_TRUE(unit->invalidate_domain(iommu::vbh_domain)) << "IOTLB invalidation timed out";
        }
    };
    using VtdS2 = EngineStage2<VtdTable, UnitFlush>;
    using Mirror = Stage2Mirror<NptS2, Checked<VtdS2>>;
    using MachineCore = Core<Mirror, SparseMemory>;

    static constexpr ept::Attrs npt_attrs{ept::Perm::rwx, ept::MemType::wb};
    static constexpr ept::Attrs dma_attrs{ept::Perm::rw, ept::MemType::wb};

    MirrorMachine(const std::vector<vbh_mem_range>& ram, const std::vector<vbh_mem_range>& hyp) {
        top = frames_covered(ram.data(), std::uint32_t(ram.size()));
        npt.emplace(*NptTable::create(*npt_pool));
        vtd.emplace(*VtdTable::create(*vtd_pool));
        init_ok = npt->map(0, 0, top << frame_shift, npt_attrs).has_value() &&
                  vtd->map(0, 0, top << frame_shift, dma_attrs).has_value();
        for (const auto& h : hyp)
            init_ok &= npt->unmap(h.base, h.size).has_value() && vtd->unmap(h.base, h.size).has_value();
        npt_pool->release_retired(); // the image flushes everything at launch
        vtd_pool->release_retired();
        vtd_pool->set_coherent(false);
        unit_state.writes = &vtd_pool->writes;
        unit.emplace(FakeVtd{unit_state});
        init_ok &= unit->probe(ept::Vtd::levels) == Status::ok && unit->enable(0x1000) == Status::ok;
        vtd_s2.emplace(*vtd, UnitFlush{&order, &*unit}, dma_attrs);
        checked.emplace(*vtd_s2);
        mirror.emplace(*checked, *npt, LogFlush{&order, 'n'}, npt_attrs); // the NPT's adapter
        meta.resize(top);
        core = std::make_unique<MachineCore>(*mirror, mem);
        CoreConfig cfg{meta.data(), meta.size() * 2, ram.data(), std::uint32_t(ram.size()),
                       hyp.data(), std::uint32_t(hyp.size())};
        init_ok &= core->init(cfg).has_value();
    }

    HypercallOut call(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                      std::uint64_t a2 = 0, std::uint64_t a3 = 0) {
        return core->dispatch(HypercallRegs{nr, a0, a1, a2, a3}, Cpl{0});
    }

    // The frames a table maps, one bool per pfn below top; "" or why its leaves are
    // not all 1:1 with `want` attributes.
    template <class T>
    std::vector<bool> view(const T& t, ept::Attrs want, std::string& bad) const {
        std::vector<bool> mapped(top, false);
        t.for_each(0, top << frame_shift, [&](const ept::Leaf& l) {
            if (l.va != l.pa || l.attrs != want)
                bad = "leaf at " + std::to_string(l.va) + " is not 1:1 with the table's attributes";
            for (std::uint64_t p = l.va >> frame_shift; p < (l.va + l.size) >> frame_shift && p < top; ++p)
                mapped[p] = true;
        });
        return mapped;
    }

    // "" if the mirror maps exactly what the NPT maps and the NPT exactly what the
    // ownership map gives the host (host and shared frames, holes); else the first
    // difference.
    std::string mismatch() const {
        std::string bad;
        const auto n = view(*npt, npt_attrs, bad), v = view(*vtd, dma_attrs, bad);
        if (!bad.empty())
            return bad;
        for (std::uint64_t p = 0; p < top; ++p) {
            if (n[p] != v[p])
                return "pfn " + std::to_string(p) + (n[p] ? " mapped in the NPT only" : " mapped in the IOMMU table only");
            FrameMeta m = core->frames().at(Pfn{p});
            if (n[p] != (m.owner() == Owner::none || m.host_mapped()))
                return "pfn " + std::to_string(p) + " owner " + std::to_string(int(m.owner())) +
                       (n[p] ? " mapped" : " unmapped");
        }
        return {};
    }

    std::unique_ptr<Pool> npt_pool = std::make_unique<Pool>(0);
    std::unique_ptr<VtdPool> vtd_pool = std::make_unique<VtdPool>();
    FakeVtdState unit_state;
    std::optional<Unit> unit;
    std::optional<NptTable> npt;
    std::optional<VtdTable> vtd;
    std::string order; // flush log: 'n' NPT, 'v' VT-d
    std::optional<VtdS2> vtd_s2;
    std::optional<Checked<VtdS2>> checked;
    std::optional<Mirror> mirror;
    SparseMemory mem;
    std::vector<std::uint16_t> meta;
    std::uint64_t top = 0;
    bool init_ok = false;
    std::unique_ptr<MachineCore> core;
};

} // namespace vbh::test
