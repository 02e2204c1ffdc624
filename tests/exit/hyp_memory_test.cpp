// The hypervisor's memory map and frame pool (vbh/image/src/memory.cpp) over a hosted
// buffer posing as three physically scattered chunks.
#include <vbh/image/memory.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace vbh::image {
namespace {

struct Fixture : ::testing::Test {
    static constexpr std::uint64_t pages = 16;
    struct Free { void operator()(void* p) const { std::free(p); } };
    std::unique_ptr<void, Free> buf{std::aligned_alloc(page, pages * page)};
    vbh_boot_record br{};
    HypMemory mem;
    HypFrames frames;

    void SetUp() override {
        std::memset(buf.get(), 0xee, pages * page);
        br.hyp_virt_base = reinterpret_cast<std::uint64_t>(buf.get());
        br.hyp_size = pages * page;
        br.nr_hyp_ranges = 3;
        br.hyp_ranges[0] = {0x100000, 4 * page};  // virtual pages 0..3
        br.hyp_ranges[1] = {0x900000, 2 * page};  // 4..5
        br.hyp_ranges[2] = {0x500000, 10 * page}; // 6..15
        mem.init(br);
        frames.init(mem, 2 * page, pages * page); // pool = pages 2..14, 15: retired stack
    }
    std::uint64_t va(std::uint64_t off) const { return br.hyp_virt_base + off; }
};

TEST_F(Fixture, TranslatesBothWays) {
    EXPECT_EQ(mem.phys_of_offset(0), 0x100000u);
    EXPECT_EQ(mem.phys_of_offset(4 * page + 8), 0x900008u);
    EXPECT_EQ(mem.phys_of_offset(15 * page), 0x500000u + 9 * page);
    EXPECT_EQ(mem.phys_of_offset(16 * page), ~0ull);
    EXPECT_EQ(mem.virt_of_phys(0x900000 + page), va(5 * page));
    EXPECT_EQ(mem.virt_of_phys(0x500000), va(6 * page));
    EXPECT_EQ(mem.virt_of_phys(0x900000 + 2 * page), 0u); // just past range 1
    EXPECT_FALSE(mem.contains_phys(0x0ff000));
}

TEST_F(Fixture, AllocZeroesAndCountsDown) {
    EXPECT_EQ(frames.available(), 13u);
    auto pa = frames.alloc();
    ASSERT_TRUE(pa.has_value());
    EXPECT_EQ(*pa, 0x100000u + 2 * page);
    auto* p = static_cast<unsigned char*>(frames.virt(*pa));
    for (std::uint64_t i = 0; i < page; ++i)
        ASSERT_EQ(p[i], 0);
    EXPECT_EQ(frames.available(), 12u);
    EXPECT_EQ(reinterpret_cast<std::uint64_t>(frames.entries(*pa)), va(2 * page));
}

TEST_F(Fixture, ContiguousAllocationSkipsAChunkBoundary) {
    // Pages 2..3 are contiguous (range 0) but 3 frames do not fit before range 1;
    // range 1 holds only 2: the first run of 3 is at the start of range 2.
    auto v = frames.alloc_contig(3);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(reinterpret_cast<std::uint64_t>(*v), va(6 * page));
    EXPECT_EQ(mem.phys(*v), 0x500000u);
    // The skipped frames are not lost: 13 - 3 left.
    EXPECT_EQ(frames.available(), 10u);
}

TEST_F(Fixture, RetiredFramesComeBackOnlyAfterRelease) {
    std::uint64_t got[13];
    for (auto& g : got) {
        auto pa = frames.alloc();
        ASSERT_TRUE(pa.has_value());
        g = *pa;
    }
    EXPECT_FALSE(frames.alloc().has_value());
    frames.retire(got[3]);
    EXPECT_EQ(frames.available(), 0u);
    EXPECT_FALSE(frames.alloc().has_value());
    frames.release_retired();
    auto again = frames.alloc();
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, got[3]);
}

TEST_F(Fixture, VirtualBlocksAreBoundedByThePool) {
    EXPECT_FALSE(frames.alloc_virt(14).has_value());
    auto v = frames.alloc_virt(13);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(reinterpret_cast<std::uint64_t>(*v), va(2 * page));
    EXPECT_EQ(frames.available(), 0u);
}

} // namespace
} // namespace vbh::image
