// Shadow NPT (shadow_npt.hpp): KVM's walk case by case (leaf sizes, every permission
// and reserved-bit rule, the error code the host sees), vbh's ownership intersected
// in, and the shadow pool's bound and invalidation.
#include "shadow_fixture.hpp"

#include <gtest/gtest.h>

namespace vbh::svm::test {
namespace {

constexpr std::uint64_t read_fault = npf_code::user | npf_code::final_gpa;
constexpr std::uint64_t write_fault = read_fault | npf_code::write;
constexpr std::uint64_t fetch_fault = read_fault | npf_code::fetch;

struct ShadowTest : ::testing::Test {
    FakeHost host;
    KvmTables kvm{host};
    Pool pool{16};
    ShadowNpt& s = pool.s;

    void SetUp() override { s.reset({kvm.root, 5}); }
    ShadowFaultResult fault(std::uint64_t gpa, std::uint64_t info1 = read_fault,
                            const NptWalkCaps& caps = walk_caps) {
        return shadow_npf(host, s, kvm.root, info1, gpa, caps);
    }
    void own(std::uint64_t frame, std::uint8_t p = perm::rwx) { host.frames[frame >> 12] = p; }
};

TEST_F(ShadowTest, FourKilobyteLeafIsMappedWithKvmRights) {
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d);
    own(0x5678000);
    EXPECT_EQ(fault(0x1234abc).how, ShadowFault::mapped);
    const std::uint64_t e = s.lookup(0x1234000);
    EXPECT_EQ(e & 0x000ffffffffff000ull, 0x5678000u);
    EXPECT_EQ(e & (npte::p | npte::rw | npte::us | npte::nx), npte::p | npte::rw | npte::us);
    EXPECT_EQ(s.lookup(0x1235000), 0u);
}

TEST_F(ShadowTest, LargeLeavesAreSplitIntoTheFaultingPage) {
    kvm.leaf(0x40000000, 0x80000000, 3, rw_user | npte::d);   // 1 GiB
    kvm.leaf(0x200000, 0x600000, 2, rw_user | npte::d);       // 2 MiB
    own(0x80000000 + 0x12345000);
    own(0x600000 + 0x1f000);
    EXPECT_EQ(fault(0x40000000 + 0x12345008).how, ShadowFault::mapped);
    EXPECT_EQ(fault(0x200000 + 0x1f010).how, ShadowFault::mapped);
    EXPECT_EQ(s.lookup(0x40000000 + 0x12345000) & 0x000ffffffffff000ull, 0x80000000u + 0x12345000);
    EXPECT_EQ(s.lookup(0x200000 + 0x1f000) & 0x000ffffffffff000ull, 0x600000u + 0x1f000);
    EXPECT_EQ(s.lookup(0x200000), 0u) << "only the touched 4 KiB page";
}

TEST_F(ShadowTest, NotPresentAtEachLevelIsReflected) {
    for (int level = 4; level >= 1; --level) {
        FakeHost h;
        KvmTables t{h};
        t.leaf(0x1234000, 0x5678000, 1, rw_user);
        t.at(0x1234000, level) &= ~npte::p;
        const auto r = shadow_npf(h, s, t.root, write_fault | npf_code::table_gpa, 0x1234000, walk_caps);
        EXPECT_EQ(r.how, ShadowFault::reflect) << level;
        // P clear (not present), W and U from the access, hardware's bits 63:32 kept.
        EXPECT_EQ(r.exit_info1, npf_code::write | npf_code::user | npf_code::final_gpa | npf_code::table_gpa);
    }
    EXPECT_EQ(s.lookup(0x1234000), 0u);
}

TEST_F(ShadowTest, ReservedBitsAreReflectedWithRsvd) {
    struct Case {
        int level;
        std::uint64_t bits;
        NptWalkCaps caps;
    };
    const Case cases[] = {
        {1, 1ull << 48, walk_caps},                 // above MAXPHYADDR
        {3, 1ull << 50, walk_caps},
        {4, npte::ps, walk_caps},                   // PML4E bit 7
        {4, 1u << 8, walk_caps},                    // PML4E bit 8
        {2, npte::nx, {48, false, true}},           // NX without EFER.NXE
        {1, 1ull << 40, {40, true, true}},          // a smaller MAXPHYADDR
    };
    for (const Case& c : cases) {
        FakeHost h;
        KvmTables t{h};
        t.leaf(0x1234000, 0x5678000, 1, rw_user);
        t.at(0x1234000, c.level) |= c.bits;
        const auto r = shadow_npf(h, s, t.root, read_fault, 0x1234000, c.caps);
        EXPECT_EQ(r.how, ShadowFault::reflect) << c.level << " " << c.bits;
        EXPECT_EQ(r.exit_info1, npf_code::present | npf_code::rsvd | npf_code::user | npf_code::final_gpa);
    }
}

TEST_F(ShadowTest, LargeLeafReservedBits) {
    kvm.leaf(0x40000000, 0x80000000 | (1u << 13), 3, rw_user);    // 1 GiB, bit 13
    kvm.leaf(0x200000, 0x600000 | (1u << 20), 2, rw_user);        // 2 MiB, bit 20
    kvm.leaf(0x400000, 0x800000 | (1u << 12), 2, rw_user | npte::d); // PAT bit: fine
    own(0x800000);
    EXPECT_EQ(fault(0x40000000).how, ShadowFault::reflect);
    EXPECT_EQ(fault(0x200000).how, ShadowFault::reflect);
    EXPECT_EQ(fault(0x400000).how, ShadowFault::mapped);
    EXPECT_EQ(s.lookup(0x400000) & 0x000ffffffffff000ull, 0x800000u) << "PAT bit not an address";
    // Without 1 GiB pages a PDPE's PS is reserved.
    FakeHost h;
    KvmTables t{h};
    t.leaf(0x40000000, 0x80000000, 3, rw_user);
    EXPECT_EQ(shadow_npf(h, s, t.root, read_fault, 0x40000000, {48, true, false}).exit_info1 & npf_code::rsvd,
              npf_code::rsvd);
}

TEST_F(ShadowTest, RightsAreTheIntersectionAlongTheWalk) {
    // Supervisor at one level, read-only at one level, NX at one level: each applies.
    for (int level = 4; level >= 1; --level) {
        FakeHost h;
        KvmTables t{h};
        h.frames[0x5678] = perm::rwx;
        t.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d);
        t.at(0x1234000, level) &= ~npte::us;
        auto r = shadow_npf(h, s, t.root, read_fault, 0x1234000, walk_caps);
        EXPECT_EQ(r.how, ShadowFault::reflect);
        EXPECT_EQ(r.exit_info1, npf_code::present | npf_code::user | npf_code::final_gpa);

        t.at(0x1234000, level) |= npte::us;
        t.at(0x1234000, level) &= ~npte::rw;
        EXPECT_EQ(shadow_npf(h, s, t.root, read_fault, 0x1234000, walk_caps).how, ShadowFault::mapped);
        EXPECT_FALSE(s.lookup(0x1234000) & npte::rw) << level;
        r = shadow_npf(h, s, t.root, write_fault, 0x1234000, walk_caps);
        EXPECT_EQ(r.how, ShadowFault::reflect);
        EXPECT_EQ(r.exit_info1, npf_code::present | npf_code::write | npf_code::user | npf_code::final_gpa);

        t.at(0x1234000, level) |= npte::rw | npte::nx;
        EXPECT_EQ(shadow_npf(h, s, t.root, read_fault, 0x1234000, walk_caps).how, ShadowFault::mapped);
        EXPECT_TRUE(s.lookup(0x1234000) & npte::nx);
        r = shadow_npf(h, s, t.root, fetch_fault, 0x1234000, walk_caps);
        EXPECT_EQ(r.how, ShadowFault::reflect);
        EXPECT_EQ(r.exit_info1, npf_code::present | npf_code::fetch | npf_code::user | npf_code::final_gpa);
    }
}

TEST_F(ShadowTest, AccessedAndDirtyAreSetAsTheCpuWould) {
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user); // clean, never accessed
    own(0x5678000);
    EXPECT_EQ(fault(0x1234000).how, ShadowFault::mapped);
    for (int level = 4; level >= 1; --level)
        EXPECT_TRUE(kvm.at(0x1234000, level) & npte::a) << level;
    EXPECT_FALSE(kvm.at(0x1234000, 1) & npte::d);
    EXPECT_FALSE(s.lookup(0x1234000) & npte::rw) << "a clean page is mapped read-only";
    EXPECT_EQ(fault(0x1234000, write_fault).how, ShadowFault::mapped);
    EXPECT_TRUE(kvm.at(0x1234000, 1) & npte::d);
    EXPECT_TRUE(s.lookup(0x1234000) & npte::rw);
    EXPECT_TRUE(s.take_flush()) << "a cached read-only translation must go";
}

TEST_F(ShadowTest, AnEntryChangedDuringTheWalkIsRetried) {
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user);
    own(0x5678000);
    host.fail_updates = 1;
    EXPECT_EQ(fault(0x1234000).how, ShadowFault::retry);
    EXPECT_EQ(s.lookup(0x1234000), 0u);
    EXPECT_EQ(fault(0x1234000).how, ShadowFault::mapped);
}

TEST_F(ShadowTest, FramesVbhRefusesNeverEnterTheShadow) {
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d); // not host RAM (donated, hypervisor)
    kvm.leaf(0x40000000, 0x80000000, 3, rw_user | npte::d);
    own(0x80000000);
    const auto r = fault(0x1234000, write_fault);
    EXPECT_EQ(r.how, ShadowFault::refused);
    EXPECT_EQ(r.addr, 0x5678000u);
    EXPECT_EQ(fault(0x40001000).how, ShadowFault::refused) << "next page of a 1 GiB leaf, not owned";
    EXPECT_EQ(fault(0x40000000).how, ShadowFault::mapped);
    EXPECT_EQ(s.lookup(0x1234000), 0u);
    EXPECT_EQ(s.lookup(0x40001000), 0u);
}

TEST_F(ShadowTest, VbhsRightsOnTheFrameAreIntersected) {
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d);
    own(0x5678000, perm::r);
    EXPECT_EQ(fault(0x1234000).how, ShadowFault::mapped);
    EXPECT_EQ(s.lookup(0x1234000) & (npte::rw | npte::nx), npte::nx);
    EXPECT_EQ(fault(0x1234000, write_fault).how, ShadowFault::refused);
    EXPECT_EQ(fault(0x1234000, fetch_fault).how, ShadowFault::refused);
}

TEST_F(ShadowTest, KvmTablesOutsideHostRamAreRefused) {
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d);
    own(0x5678000);
    const std::uint64_t pd = kvm.at(0x1234000, 2) & 0x000ffffffffff000ull;
    host.table_pages.erase(pd >> 12);
    const auto r = fault(0x1234000);
    EXPECT_EQ(r.how, ShadowFault::refused);
    EXPECT_EQ(r.addr, pd);
    EXPECT_EQ(s.lookup(0x1234000), 0u);
    EXPECT_EQ(host.updates, 0) << "no A bit set on a refused walk";
}

TEST_F(ShadowTest, AFullPoolDropsTheShadowAndStartsAgain) {
    Pool small{4}; // root + one table per level: one 2 MiB region at a time
    small.s.reset({kvm.root, 5});
    (void)small.s.take_flush();
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d);
    kvm.leaf(0x1235000, 0x5679000, 1, rw_user | npte::d);
    kvm.leaf(0x80000000, 0x9000000, 1, rw_user | npte::d);
    own(0x5678000), own(0x5679000), own(0x9000000);
    EXPECT_EQ(shadow_npf(host, small.s, kvm.root, read_fault, 0x1234000, walk_caps).how, ShadowFault::mapped);
    EXPECT_EQ(shadow_npf(host, small.s, kvm.root, read_fault, 0x1235000, walk_caps).how, ShadowFault::mapped);
    EXPECT_EQ(small.s.used(), 4u);
    EXPECT_FALSE(small.s.take_flush());
    EXPECT_EQ(shadow_npf(host, small.s, kvm.root, read_fault, 0x80000000, walk_caps).how, ShadowFault::mapped);
    EXPECT_EQ(small.s.used(), 4u);
    EXPECT_EQ(small.s.lookup(0x1234000), 0u) << "dropped";
    EXPECT_NE(small.s.lookup(0x80000000), 0u);
    EXPECT_TRUE(small.s.take_flush()) << "the old translations must be flushed";
    EXPECT_EQ(small.s.key(), (ShadowNpt::Key{kvm.root, 5}));
}

TEST_F(ShadowTest, ResetDropsEverythingAndTakesTheNewKey) {
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d);
    own(0x5678000);
    ASSERT_EQ(fault(0x1234000).how, ShadowFault::mapped);
    (void)s.take_flush();
    s.reset({0x999000, 7});
    EXPECT_EQ(s.lookup(0x1234000), 0u);
    EXPECT_EQ(s.used(), 1u);
    EXPECT_TRUE(s.take_flush());
    EXPECT_FALSE(s.take_flush());
    EXPECT_EQ(s.key(), (ShadowNpt::Key{0x999000, 7}));
    for (std::uint32_t i = 0; i < 512; ++i)
        EXPECT_EQ(pool.mem.get()[i], 0u);
}

TEST_F(ShadowTest, WithoutNxeTheShadowCarriesNoNx) {
    Pool p{8, false};
    p.s.reset({kvm.root, 5});
    kvm.leaf(0x1234000, 0x5678000, 1, rw_user | npte::d | npte::nx);
    own(0x5678000);
    EXPECT_EQ(shadow_npf(host, p.s, kvm.root, read_fault, 0x1234000, walk_caps).how, ShadowFault::mapped);
    EXPECT_FALSE(p.s.lookup(0x1234000) & npte::nx) << "NX is reserved under vbh's EFER.NXE = 0";
}

} // namespace
} // namespace vbh::svm::test
