#include "paging.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace vmm {
namespace {

constexpr std::uint64_t tables = 0x10000;

struct Ram : std::vector<std::uint8_t> {
    Ram() : std::vector<std::uint8_t>(0x40000, 0xCC) {}
};

TEST(Paging, IdentityMapsEveryLargePage) {
    Ram ram;
    auto cr3 = build_identity_map(ram, tables, 4 * gib, 3 * gib);
    ASSERT_TRUE(cr3);
    EXPECT_EQ(*cr3, tables);
    for (std::uint64_t va = 0; va < 4 * gib; va += large_page) {
        for (std::uint64_t off : {std::uint64_t{0}, std::uint64_t{0x1234}, large_page - 1}) {
            auto t = translate(ram, *cr3, va + off);
            ASSERT_TRUE(t) << std::hex << va + off;
            EXPECT_EQ(t->pa, va + off);
            EXPECT_TRUE(t->leaf & pte_write);
            EXPECT_EQ((t->leaf & (pte_pcd | pte_pwt)) != 0, va >= 3 * gib) << std::hex << va;
        }
    }
}

TEST(Paging, NothingMappedAboveTheMap) {
    Ram ram;
    auto cr3 = build_identity_map(ram, tables, 4 * gib, 3 * gib);
    ASSERT_TRUE(cr3);
    EXPECT_FALSE(translate(ram, *cr3, 4 * gib));
    EXPECT_FALSE(translate(ram, *cr3, 0xFFFF'8000'0000'0000));
}

TEST(Paging, WritesOnlyItsOwnPages) {
    Ram ram;
    ASSERT_TRUE(build_identity_map(ram, tables, 4 * gib, 3 * gib));
    const auto end = tables + identity_map_pages(4 * gib) * page_size;
    EXPECT_TRUE(std::all_of(ram.begin(), ram.begin() + tables, [](auto b) { return b == 0xCC; }));
    EXPECT_TRUE(std::all_of(ram.begin() + end, ram.end(), [](auto b) { return b == 0xCC; }));
}

TEST(Paging, RefusesWhatItCannotBuild) {
    Ram ram;
    EXPECT_FALSE(build_identity_map(ram, tables, 0, 0));
    EXPECT_FALSE(build_identity_map(ram, tables, gib + large_page, 0));
    EXPECT_FALSE(build_identity_map(ram, tables, 513 * gib, 0));
    EXPECT_FALSE(build_identity_map(ram, tables + 8, gib, 0));
    EXPECT_FALSE(build_identity_map(ram, ram.size() - page_size, gib, 0));  // needs 3 pages
    EXPECT_FALSE(build_identity_map(ram, ram.size() + page_size, gib, 0));
}

TEST(Paging, TranslateStopsAtTheEndOfRam) {
    Ram ram;
    std::fill(ram.begin(), ram.end(), 0);
    // PML4[0] points past the end of RAM.
    const std::uint64_t e = 0x100000 | pte_present | pte_write;
    std::copy_n(reinterpret_cast<const std::uint8_t*>(&e), 8, ram.begin() + tables);
    EXPECT_FALSE(translate(ram, tables, 0));
}

} // namespace
} // namespace vmm
