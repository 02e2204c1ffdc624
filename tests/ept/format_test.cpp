// Entry encodings of every format against the manuals, and the Field helper.
#include <ept/ept.hpp>

#include <gtest/gtest.h>

namespace vbh::ept {
namespace {

TEST(Field, MasksAndValuesInManualBitOrder)
{
    using F = Field<5, 3>;
    static_assert(F::mask == 0x38 && F::width == 3);
    EXPECT_EQ(F::get(0xff), 7u);
    EXPECT_EQ(F::set(0, 6), 0x30u);
    EXPECT_EQ(F::set(0xff, 0), 0xc7u);
    EXPECT_FALSE(F::fits(8));
    EXPECT_EQ((Field<63, 0>::mask), ~0ull);
    EXPECT_EQ((AddrField<51, 12>::addr(0xfff0'0000'0000'1fffull)), 0x1000u);
    EXPECT_TRUE(disjoint(1, 2, 4));
    EXPECT_FALSE(disjoint(1, 3));
}

TEST(NptFormat, EveryEntryIsUserAccessible)
{
    // APM vol. 2 §15.25.5: nested walks are user accesses, so U/S (bit 2) is 1 at every
    // level, even for a hypervisor-only attribute set.
    EXPECT_TRUE(Npt::table(0x1000, 1) & 4);
    for (unsigned level = 0; level <= 2; ++level)
        EXPECT_TRUE(Npt::leaf(0, Attrs{Perm::r, MemType::wb, false}, level) & 4) << level;
    EXPECT_EQ(Npt::canonical(Attrs{Perm::rw, MemType::wb, true, true}), Attrs{Perm::rw});
}

TEST(NptFormat, NoExecuteAndWriteBits)
{
    EXPECT_EQ(Npt::leaf(0x3000, {Perm::r}, 0), 0x8000000000003005ull);
    EXPECT_EQ(Npt::leaf(0x3000, {Perm::rwx}, 0), 0x3007ull);
    EXPECT_EQ(Npt::attrs(0x3007, 0).perm, Perm::rwx);
    EXPECT_EQ(Npt::attrs(0x8000000000003005ull, 0).perm, Perm::r);
    EXPECT_EQ(Npt::attrs(0x3006, 0).perm, Perm::none); // P = 0
}

TEST(HptFormat, PatIndexMovesWithPageSize)
{
    // SDM vol. 3 §4.5 tables 4-17/4-19: PAT is bit 7 in a PTE, bit 12 in a 2 MiB PDE.
    const Attrs wt{Perm::rw, MemType::wt}; // Linux PAT index 7 = PAT|PCD|PWT
    EXPECT_EQ(Hpt::leaf(0x1000, wt, 0), 0x8000000000001000ull | 0x80 | 0x10 | 0x8 | 0x3);
    EXPECT_EQ(Hpt::leaf(0x200000, wt, 1), 0x8000000000200000ull | 0x1000 | 0x80 | 0x10 | 0x8 | 0x3);
    EXPECT_EQ(Hpt::attrs(Hpt::leaf(0x200000, wt, 1), 1), wt);
    EXPECT_EQ(Hpt::address(Hpt::leaf(0x200000, wt, 1), 1), 0x200000u);
    EXPECT_EQ((BasicHpt<2, pat_reset>::leaf(0, wt, 0)), 0x8000000000000000ull | 0x8 | 0x3);
}

TEST(HptFormat, UserAndGlobal)
{
    const Attrs a{Perm::rx, MemType::wb, true, true};
    EXPECT_EQ(Hpt::leaf(0x1000, a, 0), 0x1105ull);
    EXPECT_EQ(Hpt::attrs(0x1105, 0), a);
    EXPECT_EQ(Hpt::table(0x5000, 1), 0x5007ull);
}

TEST(EptFormat, PermissionsMemoryTypeAndIgnorePat)
{
    // SDM vol. 3 §29.3.2 table 29-6, §29.3.7.2.
    EXPECT_EQ(Ept::leaf(0x2000, {Perm::rw, MemType::wc}, 0), 0x200bull);
    EXPECT_EQ(Ept::leaf(0x2000, {Perm::rx, MemType::wp, false, false, true}, 0), 0x206dull);
    EXPECT_EQ(Ept::leaf(0x200000, {Perm::r, MemType::wt}, 1), 0x2000a1ull);
    EXPECT_EQ(Ept::attrs(0x206d, 0), (Attrs{Perm::rx, MemType::wp, false, false, true}));
    EXPECT_TRUE(Ept::present(0x1) && Ept::present(0x2) && !Ept::present(0x78));
    EXPECT_FALSE(Ept::is_leaf(Ept::leaf(0, {Perm::r}, 2), 3)); // no 512 GiB pages
}

TEST(VtdFormat, ReadWriteOnlyAndLevels)
{
    EXPECT_EQ(Vtd::leaf(0x9000, {Perm::r, MemType::uc}, 0), 0x9001ull);
    EXPECT_EQ(Vtd::leaf(0x9000, {Perm::rwx}, 0), 0x9033ull); // X is not encoded
    EXPECT_EQ(Vtd::attrs(0x9033, 0), Attrs{Perm::rw});
    EXPECT_EQ(va_limit<Vtd3>, 1ull << 39);
    EXPECT_EQ(va_limit<Vtd>, 1ull << 48);
    EXPECT_TRUE(Vtd::flush_on_map);
}

TEST(AmdViFormat, NextLevelNamesTheTableBelow)
{
    // AMD IOMMU spec §2.2.3: a PML4E/PDPE/PDE points at a table of level 3/2/1.
    for (unsigned level = 1; level <= 3; ++level) {
        const std::uint64_t e = AmdVi::table(0x7000, level);
        EXPECT_EQ((e >> 9) & 7, level);
        EXPECT_FALSE(AmdVi::is_leaf(e, level));
        EXPECT_EQ(AmdVi::address(e, level), 0x7000u);
    }
    EXPECT_EQ(AmdVi::leaf(0x40000000, {Perm::rw}, 2), 0x6000000040000001ull);
    EXPECT_TRUE(AmdVi::is_leaf(0x6000000040000001ull, 2));
    EXPECT_FALSE(AmdVi::present(0x6000000040000000ull));
    EXPECT_EQ(AmdVi::attrs(0x6000000040000001ull, 2), Attrs{Perm::rw});
    EXPECT_EQ(AmdVi::canonical({Perm::rwx, MemType::wb, true, true, true}), Attrs{Perm::rw});
}

TEST(Formats, LeafRoundTripsAtEveryLevel)
{
    const Attrs variants[] = {{Perm::r}, {Perm::rw, MemType::uc}, {Perm::rwx, MemType::wc}};
    for (unsigned level = 0; level <= 2; ++level) {
        const std::uint64_t pa = 0x7'0000'0000ull + page_size(level) * 3;
        for (const Attrs& a : variants) {
            EXPECT_EQ(Npt::attrs(Npt::leaf(pa, a, level), level), Npt::canonical(a));
            EXPECT_EQ(Hpt::attrs(Hpt::leaf(pa, a, level), level), Hpt::canonical(a));
            EXPECT_EQ(Ept::attrs(Ept::leaf(pa, a, level), level), Ept::canonical(a));
            EXPECT_EQ(Vtd::attrs(Vtd::leaf(pa, a, level), level), Vtd::canonical(a));
            EXPECT_EQ(Npt::address(Npt::leaf(pa, a, level), level), pa);
            EXPECT_EQ(Ept::address(Ept::leaf(pa, a, level), level), pa);
            EXPECT_EQ(Vtd::address(Vtd::leaf(pa, a, level), level), pa);
            EXPECT_EQ(Hpt::address(Hpt::leaf(pa, a, level), level), pa);
            EXPECT_EQ(AmdVi::address(AmdVi::leaf(pa, a, level), level), pa);
            EXPECT_EQ(AmdVi::attrs(AmdVi::leaf(pa, a, level), level), AmdVi::canonical(a));
            EXPECT_EQ(Npt::is_leaf(Npt::leaf(pa, a, level), level), true);
        }
    }
}

TEST(Formats, TablesAreNotLeavesAndGrantEverything)
{
    for (unsigned level = 1; level <= 3; ++level) {
        EXPECT_FALSE(Npt::is_leaf(Npt::table(0x1000, 1), level));
        EXPECT_FALSE(Ept::is_leaf(Ept::table(0x1000, 1), level));
        EXPECT_FALSE(Vtd::is_leaf(Vtd::table(0x1000, 1), level));
    }
    EXPECT_EQ(Ept::table(0x1000, 1) & 7, 7u);
    EXPECT_EQ(Npt::table(0x1000, 1) >> 63, 0u);
    EXPECT_EQ(BasicNpt<1>::is_leaf(Npt::leaf(0, {Perm::r}, 2), 2), false);
}

} // namespace
} // namespace vbh::ept
