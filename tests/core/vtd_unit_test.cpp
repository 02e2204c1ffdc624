// The VT-d unit driver (iommu/vtd_unit.hpp) against a simulated unit (fake_vtd.hpp):
// refusal of a unit the host's driver runs, the enable order, invalidations that
// return only once completed, GCMD writes that keep the other enables, fault draining.
#include "fake_vtd.hpp"

#include <iommu/vtd_tables.hpp>
#include <iommu/vtd_unit.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace vbh::test {
namespace {

using Unit = iommu::VtdUnit<FakeVtd>;
using Log = std::vector<std::string>;

TEST(VtdUnit, RefusesAUnitTheHostDriverRuns) {
    for (std::uint32_t bit : {vtd::gsts::tes, vtd::gsts::qies, vtd::gsts::ires}) {
        FakeVtdState s;
        s.reg(vtd::reg_gsts) = bit;
        Unit u{FakeVtd{s}};
        EXPECT_EQ(u.probe(4), Status::state) << "GSTS " << bit;
        EXPECT_TRUE(s.log.empty()) << "a refused unit must not be touched";
    }
}

TEST(VtdUnit, RefusesAUnitWithoutTheTableDepth) {
    FakeVtdState s;
    s.reg(vtd::reg_cap) = vtd::cap::Sagaw::set(s.reg(vtd::reg_cap), 0x2); // QEMU default: 39-bit only
    Unit u{FakeVtd{s}};
    EXPECT_EQ(u.probe(4), Status::invalid);
    EXPECT_EQ(u.probe(3), Status::ok);
}

TEST(VtdUnit, EnableOrderAndMaskedFaultInterrupt) {
    FakeVtdState s;
    Unit u{FakeVtd{s}};
    ASSERT_EQ(u.probe(4), Status::ok);
    EXPECT_FALSE(u.coherent());
    ASSERT_EQ(u.enable(0x123000), Status::ok);
    EXPECT_EQ(s.log, (Log{"rtaddr", "srtp", "ccmd", "iotlb-global", "te"}));
    EXPECT_EQ(s.reg(vtd::reg_rtaddr), 0x123000u);
    EXPECT_TRUE(s.reg(vtd::reg_gsts) & vtd::gsts::tes);
    EXPECT_TRUE(s.reg(vtd::reg_fectl) & vtd::fectl_im);
    EXPECT_TRUE(u.enabled());
    // The global IOTLB invalidation drains in-flight DMA (CAP.DRD / DWD).
    EXPECT_EQ(s.last_iotlb & (vtd::iotlb::dr | vtd::iotlb::dw), vtd::iotlb::dr | vtd::iotlb::dw);
}

TEST(VtdUnit, DomainInvalidationReturnsOnlyWhenComplete) {
    FakeVtdState s;
    s.latency = 50;
    Unit u{FakeVtd{s}};
    ASSERT_EQ(u.probe(4), Status::ok);
    EXPECT_TRUE(u.invalidate_domain(iommu::vbh_domain)) << "a disabled unit caches nothing";
    EXPECT_EQ(s.iotlb_done, 0u);
    ASSERT_EQ(u.enable(0x1000), Status::ok);
    const std::uint64_t before = s.iotlb_done;
    EXPECT_TRUE(u.invalidate_domain(iommu::vbh_domain));
    EXPECT_EQ(s.iotlb_done, before + 1) << "returned before the unit completed";
    EXPECT_EQ(vtd::iotlb::Did::get(s.last_iotlb), iommu::vbh_domain);
    EXPECT_EQ(s.last_iotlb & (3ull << 60), vtd::iotlb::domain);
    EXPECT_TRUE(s.reg(vtd::reg_gsts) & vtd::gsts::tes);
}

TEST(VtdUnit, AnInvalidationThatNeverCompletesIsReported) {
    FakeVtdState s;
    Unit u{FakeVtd{s}};
    ASSERT_EQ(u.probe(4), Status::ok);
    ASSERT_EQ(u.enable(0x1000), Status::ok);
    s.latency = -1;
    EXPECT_FALSE(u.invalidate_domain(iommu::vbh_domain));
}

TEST(VtdUnit, WriteBufferFlushKeepsTranslationOn) {
    FakeVtdState s;
    s.reg(vtd::reg_cap) |= vtd::cap::Rwbf::mask;
    Unit u{FakeVtd{s}};
    ASSERT_EQ(u.probe(4), Status::ok);
    ASSERT_EQ(u.enable(0x1000), Status::ok);
    s.log.clear();
    EXPECT_TRUE(u.invalidate_domain(iommu::vbh_domain));
    EXPECT_EQ(s.log, (Log{"wbf", "iotlb-domain"})) << "a GCMD write turned translation off";
}

TEST(VtdUnit, DrainsFaultRecords) {
    FakeVtdState s{2};
    Unit u{FakeVtd{s}};
    ASSERT_EQ(u.probe(4), Status::ok);
    ASSERT_EQ(u.enable(0x1000), Status::ok);
    std::vector<iommu::DmaFault> got;
    auto sink = [&](const iommu::DmaFault& f) { got.push_back(f); };
    EXPECT_EQ(u.drain_faults(sink), 0u);
    FakeVtd::record_fault(s, 1, 0x7654321, 0x0018, 6, false); // 00:03.0 read, no R
    FakeVtd::record_fault(s, 0, 0x1000, 0x0020, 5, true);     // 00:04.0 write, no W
    s.reg(vtd::reg_fsts) |= vtd::fsts::pfo | vtd::fsts::Fri::make(1);
    EXPECT_EQ(u.drain_faults(sink), 2u);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].addr, 0x7654000u); // from FRI on, page address
    EXPECT_EQ(got[0].sid, 0x18);
    EXPECT_EQ(got[0].reason, 6);
    EXPECT_FALSE(got[0].write);
    EXPECT_EQ(got[1].addr, 0x1000u);
    EXPECT_TRUE(got[1].write);
    EXPECT_EQ(u.overflows(), 1u);
    EXPECT_EQ(s.reg(vtd::reg_fsts) & (vtd::fsts::ppf | vtd::fsts::pfo), 0u) << "records not cleared";
    EXPECT_EQ(u.drain_faults(sink), 0u);
}

TEST(VtdTables, EveryDeviceReachesTheOneSecondLevelTable) {
    std::vector<std::uint64_t> root(512, ~0ull), ctx(512, ~0ull);
    iommu::fill_root_context(root.data(), ctx.data(), 0x5000, 0x9000, 4);
    for (unsigned i = 0; i < 256; ++i) {
        EXPECT_EQ(root[2 * i], 0x5001u);
        EXPECT_EQ(root[2 * i + 1], 0u);
        EXPECT_EQ(ctx[2 * i], 0x9001u); // present, TT 00 (second level only), FPD clear
        EXPECT_EQ(ctx[2 * i + 1], 0x102u); // AW 2 (4-level), DID 1
    }
}

} // namespace
} // namespace vbh::test
