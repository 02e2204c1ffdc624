// The AMD-Vi unit driver (iommu/amdvi_unit.hpp) against a simulated unit
// (fake_amdvi.hpp): device table entries and commands decoded field by field against
// the AMD IOMMU spec, refusal of a unit the host's driver runs, the enable order,
// invalidations that return only once COMPLETION_WAIT stored, the event-log drain.
#include "fake_amdvi.hpp"

#include <iommu/amdvi_regs.hpp>
#include <iommu/amdvi_unit.hpp>
#include <vbh/either_stage2.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace vbh::test {
namespace {

using Unit = iommu::AmdViUnit<FakeAmdVi>;
using Log = std::vector<std::string>;

// The rings in "memory": the unit finds them by the physical addresses the driver
// programs, the fake by the same addresses (FakeAmdViState).
struct Rings {
    alignas(4096) std::uint64_t cmd[amdvi::ring_bytes / 8] = {};
    alignas(4096) std::uint64_t evt[amdvi::ring_bytes / 8] = {};
    std::uint64_t done = 0;
    static constexpr std::uint64_t cmd_pa = 0x10000, evt_pa = 0x11000, done_pa = 0x12008;

    iommu::AmdViRings view() {
        return {reinterpret_cast<amdvi::Command*>(cmd), cmd_pa, evt, evt_pa, &done, done_pa};
    }
    void attach(FakeAmdViState& s) {
        s.cmd = cmd, s.cmd_pa = cmd_pa, s.done = &done, s.done_pa = done_pa;
    }
};

constexpr std::uint64_t running = amdvi::control::iommu_en | amdvi::control::event_log_en |
                                  amdvi::control::cmd_buf_en | amdvi::control::coherent;

std::string control(std::uint64_t v) {
    char b[32];
    std::snprintf(b, sizeof b, "control %#llx", (unsigned long long)v);
    return b;
}

// Device table entry, spec §2.2.2.1, read back field by field; QEMU 7.2 rejects an
// entry with any of its reserved bits set (amdvi_validate_dte: q0 0x80300000000000fc,
// q1 0x100, q2 0x08f0000000000000, q3 anything) and then drops the device's
// interrupts too, so vbh's entries must have none.
TEST(AmdViRegs, DeviceTableEntryFields) {
    std::uint64_t table[4 * 3];
    amdvi::fill_device_table(table, 3, 0x7654000, 4, iommu::vbh_domain);
    for (int i = 0; i < 3; ++i) {
        const std::uint64_t* e = table + 4 * i;
        EXPECT_EQ(e[0] & 1, 1u) << "V";
        EXPECT_EQ((e[0] >> 1) & 1, 1u) << "TV";
        EXPECT_EQ((e[0] >> 9) & 7, 4u) << "Mode: 4-level page table";
        EXPECT_EQ(e[0] & 0x000ffffffffff000ull, 0x7654000u) << "page table root 51:12";
        EXPECT_EQ((e[0] >> 61) & 1, 1u) << "IR";
        EXPECT_EQ((e[0] >> 62) & 1, 1u) << "IW";
        EXPECT_EQ(e[1] & 0xffff, iommu::vbh_domain) << "DomainID";
        EXPECT_EQ(e[0] & 0x80300000000000fcull, 0u);
        EXPECT_EQ(e[1] & ~0xffffull, 0u) << "no IOTLB, no event suppression, SysMgt 00b (SMI aborted)";
        EXPECT_EQ(e[2] & 0x08f0000000000000ull, 0u) << "QEMU's reserved bits of q2";
        EXPECT_EQ(e[3], 0u);
    }
}

// The interrupt half of the entry (DTE bits 191:128, spec §2.2.2.1; threat #11): IV set,
// IntCtl 01b (fixed and arbitrated interrupts forwarded unmapped), no remapping table,
// and every pass bit clear, so NMI, INIT, ExtINT, LINT0 and LINT1 requests of the device
// are target-aborted. Read back bit by bit, not through the header's own fields.
TEST(AmdViRegs, DeviceTableEntryFiltersInterrupts) {
    std::uint64_t table[4 * 3];
    amdvi::fill_device_table(table, 3, 0x7654000, 4, iommu::vbh_domain);
    for (int i = 0; i < 3; ++i) {
        const std::uint64_t q2 = table[4 * i + 2];
        EXPECT_EQ(q2 & 1, 1u) << "IV (bit 128): the interrupt fields are valid";
        EXPECT_EQ((q2 >> 60) & 3, 1u) << "IntCtl (189:188) = 01b: forward unmapped";
        EXPECT_EQ((q2 >> 1) & 0xf, 0u) << "IntTabLen (132:129): no table";
        EXPECT_EQ(q2 & 0x000fffffffffffc0ull, 0u) << "IntTableRootPtr (179:134): no table";
        EXPECT_EQ((q2 >> 56) & 1, 0u) << "INITPass (184) clear: INIT aborted";
        EXPECT_EQ((q2 >> 57) & 1, 0u) << "EIntPass (185) clear: ExtINT aborted";
        EXPECT_EQ((q2 >> 58) & 1, 0u) << "NMIPass (186) clear: NMI aborted";
        EXPECT_EQ((q2 >> 62) & 1, 0u) << "Lint0Pass (190) clear";
        EXPECT_EQ((q2 >> 63) & 1, 0u) << "Lint1Pass (191) clear";
        EXPECT_EQ(q2, 0x1000000000000001ull) << "nothing else";
    }
}

// The IOAPIC's entry keeps IV clear (its redirection entries are the host's own, and
// QEMU 7.2 turns a forwarded fixed interrupt into vector 0); the others stay filtered,
// and an id beyond the table changes nothing.
TEST(AmdViRegs, IoapicEntryIsNotFiltered) {
    std::uint64_t table[4 * 3];
    amdvi::fill_device_table(table, 3, 0x7654000, 4, iommu::vbh_domain);
    amdvi::unfilter_device(table, 3, 1);
    amdvi::unfilter_device(table, 3, 3);
    EXPECT_EQ(table[4 * 1 + 2], 0u);
    EXPECT_EQ(table[4 * 0 + 2], amdvi::dte_q2_filter());
    EXPECT_EQ(table[4 * 2 + 2], amdvi::dte_q2_filter());
    EXPECT_EQ(table[4 * 1], amdvi::dte_q0(0x7654000, 4)) << "translation unchanged";
}

TEST(AmdViRegs, CommandFields) {
    // COMPLETION_WAIT: opcode 1 at 63:60, S (bit 0), store address 51:3, data in q1.
    const amdvi::Command w = amdvi::completion_wait(0xabcdef12340ull, 0x55);
    EXPECT_EQ(w.q0 >> 60, 1u);
    EXPECT_EQ(w.q0 & 7, 1u) << "S set, I and F clear";
    EXPECT_EQ(w.q0 & 0x000ffffffffffff8ull, 0xabcdef12340ull);
    EXPECT_EQ(w.q1, 0x55u);
    // INVALIDATE_IOMMU_PAGES: opcode 3, DomainID 47:32, PASID 0; S, PDE, every page.
    const amdvi::Command p = amdvi::inval_domain_pages(0x1234);
    EXPECT_EQ(p.q0 >> 60, 3u);
    EXPECT_EQ((p.q0 >> 32) & 0xffff, 0x1234u);
    EXPECT_EQ(p.q0 & 0x0fff0000ffffffffull, 0u);
    EXPECT_EQ(p.q1 & 1, 1u) << "S";
    EXPECT_EQ((p.q1 >> 1) & 1, 1u) << "PDE";
    EXPECT_EQ((p.q1 >> 2) & 1, 0u) << "GN";
    EXPECT_EQ(p.q1 & ~0xfffull, 0x7ffffffffffff000ull) << "S=1 with this address: all pages";
    // INVALIDATE_DEVTAB_ENTRY: opcode 2, DeviceID 15:0; INVALIDATE_IOMMU_ALL: opcode 8.
    EXPECT_EQ(amdvi::inval_devtab_entry(0x00a0), (amdvi::Command{0x20000000000000a0ull, 0}));
    EXPECT_EQ(amdvi::inval_all(), (amdvi::Command{0x8000000000000000ull, 0}));
    // Base registers: a 4 KiB ring of 256 entries is ComLen/EventLen 8 (59:56).
    EXPECT_EQ(amdvi::ring_base(0x5000) >> 56, 8u);
    EXPECT_EQ(amdvi::devtab_base(0x200000, 512), 0x2001ffu);
}

TEST(AmdViUnit, RefusesAUnitTheHostDriverRuns) {
    for (std::uint64_t bit : {amdvi::control::iommu_en, amdvi::control::cmd_buf_en, amdvi::control::event_log_en}) {
        FakeAmdViState s;
        Rings q;
        q.attach(s);
        s.reg(amdvi::reg_control) = bit;
        Unit u{FakeAmdVi{s}, q.view()};
        EXPECT_EQ(u.probe(), Status::state) << "control " << bit;
        EXPECT_TRUE(s.log.empty()) << "a refused unit must not be touched";
        EXPECT_FALSE(u.enabled());
    }
}

TEST(AmdViUnit, EnableOrderWithInvalidateAll) {
    FakeAmdViState s;
    Rings q;
    q.attach(s);
    Unit u{FakeAmdVi{s}, q.view()};
    ASSERT_EQ(u.probe(), Status::ok);
    ASSERT_EQ(u.enable(0x200000, 2), Status::ok);
    EXPECT_EQ(s.log, (Log{control(0), control(running), "all", "wait 1"}));
    EXPECT_EQ(s.reg(amdvi::reg_devtab), 0x200001u);
    EXPECT_EQ(s.reg(amdvi::reg_cmdbuf), amdvi::ring_base(Rings::cmd_pa));
    EXPECT_EQ(s.reg(amdvi::reg_evtlog), amdvi::ring_base(Rings::evt_pa));
    EXPECT_EQ(s.reg(amdvi::reg_control) & (amdvi::control::event_int_en | amdvi::control::com_wait_int_en), 0u)
        << "no interrupt the host did not program";
    EXPECT_TRUE(u.enabled());
}

// Without EFR.IASup every device table entry is invalidated one by one: more
// commands than the ring holds, so the driver hands over a full ring and waits for
// the head to move.
TEST(AmdViUnit, EnableWithoutInvalidateAllCoversEveryEntry) {
    FakeAmdViState s;
    s.reg(amdvi::reg_efr) = 0;
    Rings q;
    q.attach(s);
    Unit u{FakeAmdVi{s}, q.view()};
    ASSERT_EQ(u.probe(), Status::ok);
    ASSERT_EQ(u.enable(0x200000, 4), Status::ok); // 512 entries
    ASSERT_EQ(s.log.size(), 2 + 512 + 2u);
    for (unsigned d = 0; d < 512; ++d)
        ASSERT_EQ(s.log[2 + d], "devtab " + std::to_string(d));
    EXPECT_EQ(s.log[514], "pages d=1 all pde");
    EXPECT_EQ(s.log[515], "wait 1");
}

TEST(AmdViUnit, DomainInvalidationReturnsOnlyWhenComplete) {
    FakeAmdViState s;
    Rings q;
    q.attach(s);
    Unit u{FakeAmdVi{s}, q.view()};
    ASSERT_EQ(u.probe(), Status::ok);
    EXPECT_TRUE(u.invalidate_domain(iommu::vbh_domain)) << "a disabled unit caches nothing";
    EXPECT_TRUE(s.log.empty());
    ASSERT_EQ(u.enable(0x200000, 2), Status::ok);
    s.log.clear();
    for (int i = 0; i < 300; ++i) { // more than a ring: the tail wraps
        ASSERT_TRUE(u.invalidate_domain(iommu::vbh_domain));
        ASSERT_EQ(s.log, (Log{"pages d=1 all pde", "wait " + std::to_string(i + 2)}));
        ASSERT_EQ(q.done, std::uint64_t(i + 2));
        s.log.clear();
    }
    // A unit that never completes: the call fails (the image stops the machine).
    s.stalled = true;
    EXPECT_FALSE(u.invalidate_domain(iommu::vbh_domain));
    EXPECT_NE(q.done, u.completions());
}

TEST(AmdViUnit, DrainHandsOverEventsAndConsumesThem) {
    FakeAmdViState s;
    Rings q;
    q.attach(s);
    Unit u{FakeAmdVi{s}, q.view()};
    ASSERT_EQ(u.probe(), Status::ok);
    std::vector<iommu::DmaFault> got;
    auto keep = [&](const iommu::DmaFault& f) { got.push_back(f); };
    EXPECT_EQ(u.drain_events(keep), 0u) << "disabled";
    ASSERT_EQ(u.enable(0x200000, 2), Status::ok);
    // Start near the end of the ring so that the drain wraps.
    s.reg(amdvi::reg_evt_head) = s.reg(amdvi::reg_evt_tail) = amdvi::ring_bytes - 32;
    // IO_PAGE_FAULT (code 2) write by 00:03.0 in domain 1 at 0x1234000; a read by
    // 00:1f.2; an ILLEGAL_DEV_TABLE_ENTRY (code 1) for device 0x0100.
    FakeAmdVi::log_event(s, q.evt, 0x2020000100000018ull, 0x1234000);
    FakeAmdVi::log_event(s, q.evt, 0x20000001000000faull, 0x5678000);
    FakeAmdVi::log_event(s, q.evt, 0x1000000000000100ull, 0x200000 + 0x100 * 32);
    ASSERT_EQ(u.drain_events(keep), 3u);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].addr, 0x1234000u);
    EXPECT_EQ(got[0].sid, 0x18u);
    EXPECT_EQ(got[0].reason, amdvi::event::io_page_fault);
    EXPECT_TRUE(got[0].write);
    EXPECT_EQ(got[1].sid, 0xfau);
    EXPECT_FALSE(got[1].write);
    EXPECT_EQ(got[2].reason, amdvi::event::illegal_dev_table_entry);
    EXPECT_EQ(got[2].sid, 0x100u);
    EXPECT_EQ(s.reg(amdvi::reg_evt_head), s.reg(amdvi::reg_evt_tail)) << "consumed";
    const std::uint64_t writes = s.reg_writes;
    EXPECT_EQ(u.drain_events(keep), 0u);
    EXPECT_EQ(s.reg_writes, writes) << "an empty log costs no register write";
    EXPECT_EQ(u.overflows(), 0u);
}

TEST(AmdViUnit, OverflowIsCountedAndTheLogRestarted) {
    FakeAmdViState s;
    Rings q;
    q.attach(s);
    Unit u{FakeAmdVi{s}, q.view()};
    ASSERT_EQ(u.probe(), Status::ok);
    ASSERT_EQ(u.enable(0x200000, 2), Status::ok);
    FakeAmdVi::log_event(s, q.evt, 0x2000000000000008ull, 0x9000);
    s.reg(amdvi::reg_status) |= amdvi::status::event_overflow;
    s.log.clear();
    unsigned n = 0;
    EXPECT_EQ(u.drain_events([&](const iommu::DmaFault&) { ++n; }), 1u);
    EXPECT_EQ(u.overflows(), 1u);
    EXPECT_EQ(s.reg(amdvi::reg_status) & amdvi::status::event_overflow, 0u);
    EXPECT_EQ(s.reg(amdvi::reg_evt_head), 0u);
    EXPECT_EQ(s.reg(amdvi::reg_evt_tail), 0u);
    EXPECT_EQ(s.log, (Log{control(running & ~amdvi::control::event_log_en), control(running)}));
}

// EitherStage2 forwards every call to the member it was built with, and only to it.
struct Counting {
    int calls = 0;
    Result<void> reserve(FrameRange) { return ++calls, Result<void>{}; }
    void unmap(FrameRange) { ++calls; }
    void map_identity(FrameRange) { ++calls; }
    void flush_all_cpus() { ++calls; }
    void release() { ++calls; }
};
struct Other : Counting {};

TEST(EitherStage2, ForwardsToTheChosenMemberOnly) {
    Counting a;
    Other b;
    EitherStage2<Counting, Other> e{b};
    static_assert(HostStage2<EitherStage2<Counting, Other>>);
    const FrameRange r{Pfn{1}, 1};
    EXPECT_TRUE(e.reserve(r).has_value());
    e.unmap(r), e.map_identity(r), e.flush_all_cpus(), e.release();
    EXPECT_EQ(b.calls, 5);
    EXPECT_EQ(a.calls, 0);
    EitherStage2<Counting, Other> f{a};
    f.flush_all_cpus();
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(e.first(), nullptr);
    EXPECT_EQ(f.first(), &a);
}

} // namespace
} // namespace vbh::test
