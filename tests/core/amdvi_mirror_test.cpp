// The AMD-Vi DMA table as the image builds it: the core drives the host NPT and, through
// Stage2Mirror, an EitherStage2 holding an AMD-Vi v1 table (ept::AmdVi) whose flush is
// AmdViUnit's domain invalidation + COMPLETION_WAIT on a simulated unit
// (fake_amdvi.hpp). After every hypercall of random sequences the AMD-Vi table maps
// exactly what the NPT maps (and the NPT what the ownership map gives the host), and the
// call returned only after a COMPLETION_WAIT that followed every table write.
#include "fake_amdvi.hpp"
#include "sparse_memory.hpp"

#include <ept/ept.hpp>
#include <iommu/amdvi_unit.hpp>
#include <iommu/vtd_tables.hpp>
#include <vbh/core.hpp>
#include <vbh/either_stage2.hpp>
#include <vbh/engine_stage2.hpp>
#include <vbh/stage2_mirror.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace vbh::test {
namespace {

constexpr std::uint64_t mib = 1ull << 20;
using Pool = ept::FramePool<40>;
struct CountingPool : Pool {
    std::uint64_t writes = 0;
    void wrote(ept::Slot*) { ++writes; }
};
using DmaPool = iommu::DmaMemory<CountingPool>;
using AmdTable = ept::Table<ept::AmdVi, DmaPool>;
using NptTable = ept::Table<ept::Npt, Pool>;
using Unit = iommu::AmdViUnit<FakeAmdVi>;
struct NoFlush {
    void operator()() const {}
};
struct UnitFlush {
    Unit* unit;
    void operator()() const { EXPECT_TRUE(unit->invalidate_domain(iommu::vbh_domain)) << "no completion"; }
};
using AmdS2 = EngineStage2<AmdTable, UnitFlush>;
using VtdS2 = EngineStage2<ept::Table<ept::Vtd, DmaPool>, NoFlush>; // the kind not chosen
using Dma = EitherStage2<VtdS2, AmdS2>;
using Mirror = Stage2Mirror<EngineStage2<NptTable, NoFlush>, Dma>;

struct Machine {
    static constexpr ept::Attrs npt_attrs{ept::Perm::rwx, ept::MemType::wb};
    static constexpr ept::Attrs dma_attrs{ept::Perm::rw, ept::MemType::wb};

    Machine() {
        const std::vector<vbh_mem_range> ram{{0, 4 * mib}, {6 * mib, 10 * mib}}, hyp{{mib, 64 * 1024}};
        top = frames_covered(ram.data(), std::uint32_t(ram.size()));
        npt.emplace(*NptTable::create(*npt_pool));
        amd.emplace(*AmdTable::create(*dma_pool));
        init_ok = npt->map(0, 0, top << frame_shift, npt_attrs).has_value() &&
                  amd->map(0, 0, top << frame_shift, dma_attrs).has_value();
        for (const auto& h : hyp)
            init_ok &= npt->unmap(h.base, h.size).has_value() && amd->unmap(h.base, h.size).has_value();
        npt_pool->release_retired();
        dma_pool->release_retired();
        rings.attach(unit_state);
        unit_state.writes = &dma_pool->writes;
        unit.emplace(FakeAmdVi{unit_state}, rings.view());
        init_ok &= unit->probe() == Status::ok && unit->enable(0x200000, 2) == Status::ok;
        amd_s2.emplace(*amd, UnitFlush{&*unit}, dma_attrs);
        dma.emplace(*amd_s2);
        mirror.emplace(*dma, *npt, NoFlush{}, npt_attrs);
        meta.resize(top);
        core = std::make_unique<Core<Mirror, SparseMemory>>(*mirror, mem);
        CoreConfig cfg{meta.data(), meta.size() * 2, ram.data(), std::uint32_t(ram.size()),
                       hyp.data(), std::uint32_t(hyp.size())};
        init_ok &= core->init(cfg).has_value();
    }

    // "" if the AMD-Vi table maps exactly what the NPT maps, 1:1 and read/write, and the
    // NPT exactly what the ownership map gives the host; else the first difference.
    std::string mismatch() const {
        std::vector<int> n(top, 0), a(top, 0);
        std::string bad;
        npt->for_each(0, top << frame_shift, [&](const ept::Leaf& l) {
            for (std::uint64_t p = l.va >> frame_shift; p < (l.va + l.size) >> frame_shift && p < top; ++p)
                n[p] = 1;
        });
        amd->for_each(0, top << frame_shift, [&](const ept::Leaf& l) {
            if (l.va != l.pa || l.attrs != dma_attrs)
                bad = "AMD-Vi leaf at " + std::to_string(l.va) + " is not 1:1 read/write";
            for (std::uint64_t p = l.va >> frame_shift; p < (l.va + l.size) >> frame_shift && p < top; ++p)
                a[p] = 1;
        });
        if (!bad.empty())
            return bad;
        for (std::uint64_t p = 0; p < top; ++p) {
            if (n[p] != a[p])
                return "pfn " + std::to_string(p) + (n[p] ? " mapped in the NPT only" : " mapped in the AMD-Vi table only");
            const FrameMeta m = core->frames().at(Pfn{p});
            if (bool(n[p]) != (m.owner() == Owner::none || m.host_mapped()))
                return "pfn " + std::to_string(p) + " disagrees with its owner";
        }
        return {};
    }

    struct Rings {
        alignas(4096) std::uint64_t cmd[amdvi::ring_bytes / 8] = {};
        alignas(4096) std::uint64_t evt[amdvi::ring_bytes / 8] = {};
        std::uint64_t done = 0;
        iommu::AmdViRings view() {
            return {reinterpret_cast<amdvi::Command*>(cmd), 0x10000, evt, 0x11000, &done, 0x12000};
        }
        void attach(FakeAmdViState& s) { s.cmd = cmd, s.cmd_pa = 0x10000, s.done = &done, s.done_pa = 0x12000; }
    };

    std::unique_ptr<Pool> npt_pool = std::make_unique<Pool>(0);
    std::unique_ptr<DmaPool> dma_pool = std::make_unique<DmaPool>();
    std::unique_ptr<Rings> ring_mem = std::make_unique<Rings>();
    Rings& rings = *ring_mem;
    FakeAmdViState unit_state;
    std::optional<Unit> unit;
    std::optional<NptTable> npt;
    std::optional<AmdTable> amd;
    std::optional<AmdS2> amd_s2;
    std::optional<Dma> dma;
    std::optional<Mirror> mirror;
    SparseMemory mem;
    std::vector<std::uint16_t> meta;
    std::uint64_t top = 0;
    bool init_ok = false;
    std::unique_ptr<Core<Mirror, SparseMemory>> core;
};

TEST(AmdViMirror, DonateLeavesTheTableAndInvalidatesBeforeReturn) {
    Machine m;
    ASSERT_TRUE(m.init_ok);
    EXPECT_EQ(m.mismatch(), "");
    const std::uint64_t d = m.core->dispatch(HypercallRegs{VBH_HC_DOMAIN_CREATE, 0, 0, 0, 0}, Cpl{0}).out0;
    const std::uint64_t pfn = (8 * mib + 0x3000) >> frame_shift;
    const std::uint64_t waits = m.unit_state.completions;
    ASSERT_EQ(m.core->dispatch(HypercallRegs{VBH_HC_HOST_DONATE, pfn, 3, d, 0}, Cpl{0}).status, Status::ok);
    EXPECT_FALSE(m.amd->lookup(pfn << frame_shift).has_value());
    EXPECT_GT(m.unit_state.completions, waits);
    EXPECT_EQ(m.unit_state.writes_at_completion, m.dma_pool->writes);
    EXPECT_EQ(m.unit_state.log.back(), "wait " + std::to_string(m.rings.done));
    EXPECT_EQ(m.unit_state.log[m.unit_state.log.size() - 2], "pages d=1 all pde");
    EXPECT_EQ(m.mismatch(), "");
    ASSERT_EQ(m.core->dispatch(HypercallRegs{VBH_HC_HOST_RECLAIM, pfn, 3, d, 0}, Cpl{0}).status, Status::ok);
    EXPECT_TRUE(m.amd->lookup(pfn << frame_shift).has_value());
    EXPECT_EQ(m.unit_state.writes_at_completion, m.dma_pool->writes);
    EXPECT_EQ(m.mismatch(), "");
}

TEST(AmdViMirror, RandomSequencesKeepTheTableEqualToTheNpt) {
    std::uint64_t ok = 0;
    for (std::uint64_t seed = 1; seed <= 12; ++seed) {
        Machine m;
        ASSERT_TRUE(m.init_ok);
        std::mt19937_64 rng{seed};
        auto below = [&](std::uint64_t n) { return rng() % n; };
        std::vector<std::uint64_t> doms;
        for (int i = 0; i < 200; ++i) {
            const std::uint64_t pfn = below(3) == 0 ? 512 * (1 + below(7)) - below(3) : below(m.top + 16);
            const std::uint64_t n = below(4) == 0 ? 1 + below(1100) : 1 + below(8);
            const std::uint64_t d = doms.empty() || below(8) == 0 ? below(4) : doms[below(doms.size())];
            HypercallRegs r{};
            switch (below(7)) {
            case 0: r = {VBH_HC_DOMAIN_CREATE, below(2), 0, 0, 0}; break;
            case 1: r = {VBH_HC_DOMAIN_DESTROY, d, 0, 0, 0}; break;
            case 2: r = {VBH_HC_HOST_SHARE, pfn, n, d, 0}; break;
            case 3: r = {VBH_HC_HOST_RECLAIM, pfn, n, d, 0}; break;
            default: r = {VBH_HC_HOST_DONATE, pfn, n, d, 0}; break;
            }
            const HypercallOut out = m.core->dispatch(r, Cpl{0});
            if (r.rax == VBH_HC_DOMAIN_CREATE && out.status == Status::ok)
                doms.push_back(out.out0);
            ok += out.status == Status::ok && r.rax != VBH_HC_DOMAIN_CREATE;
            SCOPED_TRACE("seed " + std::to_string(seed) + " call " + std::to_string(i));
            ASSERT_EQ(m.mismatch(), "");
            ASSERT_EQ(m.unit_state.writes_at_completion, m.dma_pool->writes)
                << "the call returned with AMD-Vi table writes no completed COMPLETION_WAIT covered";
            for (const auto& l : m.unit_state.log)
                ASSERT_EQ(l.find("illegal"), std::string::npos) << l;
        }
    }
    EXPECT_GT(ok, 300u) << "the sequences changed the tables often enough";
}

} // namespace
} // namespace vbh::test
