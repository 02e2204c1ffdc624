// The core driving the real page-table engine (AMD NPT format): donations split 1 GiB
// and 2 MiB leaves, reclaims re-merge them (deferred, bounded, and never at the price
// of a refusal), the table always equals the ownership map, and a pool too small for a
// split refuses the call with nothing changed.
#include "npt_machine.hpp"

#include <gtest/gtest.h>

namespace vbh::test {
namespace {

constexpr std::uint64_t mib = 1ull << 20, gib = 1ull << 30;

// 640 KiB low RAM, 1 MiB .. 3 GiB, MMIO hole 3 .. 4 GiB, 4 .. 5 GiB; the hypervisor
// owns 16 .. 18 MiB.
NptMachine<64> machine() {
    return NptMachine<64>({{0, 640 * 1024}, {mib, 3 * gib - mib}, {4 * gib, gib}}, {{16 * mib, 2 * mib}});
}

std::size_t leaves_of_size(const std::vector<ept::Leaf>& ls, std::uint64_t size) {
    std::size_t n = 0;
    for (const auto& l : ls)
        n += l.size == size;
    return n;
}

TEST(Engine, StartsConsistentWithGigabyteLeaves) {
    auto m = machine();
    ASSERT_TRUE(m.init_ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_GE(leaves_of_size(m.leaves(), gib), 3u);
}

TEST(Engine, DonateSplitsReclaimScrubsAndRemerges) {
    auto m = machine();
    auto a = m.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0;
    auto before = m.leaves();
    std::uint64_t pfn = (4 * gib + 5 * mib + 0x3000) >> frame_shift;
    std::size_t free_before = m.pool->available();
    ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, pfn, 3, a).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_EQ(m.pool->available(), free_before - 2); // 1 GiB -> 2 MiB -> 4 KiB
    EXPECT_FALSE(m.table->lookup(pfn << frame_shift).has_value());
    EXPECT_EQ(m.flushes, 1u);
    ASSERT_EQ(m.call(VBH_HC_TEST_FILL, a, pfn, 3, 77).status, Status::ok);
    ASSERT_EQ(m.call(VBH_HC_HOST_RECLAIM, pfn, 3, a).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_EQ(m.mem.words(Pfn{pfn + 1})[9], 0u);
    // The re-merge is deferred (EngineStage2): same translations, tables kept, and
    // nothing to flush since nothing present was removed.
    EXPECT_EQ(m.s2->deferred_ranges(), 1u);
    EXPECT_EQ(m.pool->available(), free_before - 2);
    EXPECT_EQ(m.flushes, 1u);
    // The same pages again cost no split.
    ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, pfn, 3, a).status, Status::ok);
    EXPECT_EQ(m.pool->available(), free_before - 2);
    ASSERT_EQ(m.call(VBH_HC_HOST_RECLAIM, pfn, 3, a).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_TRUE(m.s2->compact());
    EXPECT_EQ(m.leaves(), before); // merged back into the 1 GiB leaf
    EXPECT_EQ(m.pool->available(), free_before);
}

// Past deferred_keep ranges, the oldest are merged at the end of the hypercall.
TEST(Engine, DeferredRemergesAreBounded) {
    auto m = machine();
    auto a = m.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0;
    auto before = m.leaves();
    using S2 = NptMachine<64>::Stage2;
    for (std::uint64_t i = 0; i < S2::deferred_max + 3; ++i) {
        std::uint64_t pfn = (4 * gib + i * 2 * mib) >> frame_shift;
        ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, pfn, 1, a).status, Status::ok);
        ASSERT_EQ(m.call(VBH_HC_HOST_RECLAIM, pfn, 1, a).status, Status::ok);
        EXPECT_LE(m.s2->deferred_ranges(), S2::deferred_keep);
        EXPECT_EQ(m.mismatch(), "");
    }
    EXPECT_TRUE(m.s2->compact());
    EXPECT_EQ(m.leaves(), before);
}

// Tables kept for a deferred re-merge never make a hypercall fail for want of frames:
// the core re-merges them and asks again.
TEST(Engine, DeferredTablesAreMergedWhenFramesRunShort) {
    auto m = machine();
    auto a = m.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0;
    std::uint64_t pfn = (4 * gib + 0x5000) >> frame_shift;
    ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, pfn, 1, a).status, Status::ok);
    ASSERT_EQ(m.call(VBH_HC_HOST_RECLAIM, pfn, 1, a).status, Status::ok);
    ASSERT_EQ(m.s2->deferred_ranges(), 1u); // two tables kept
    while (m.pool->available() > 1)
        ASSERT_TRUE(m.pool->alloc().has_value());
    std::uint64_t other = (2 * gib + 0x7000) >> frame_shift; // needs two frames
    std::uint64_t flushes = m.flushes;
    ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, other, 1, a).status, Status::ok);
    EXPECT_EQ(m.s2->deferred_ranges(), 0u);
    EXPECT_EQ(m.flushes, flushes + 2); // the merge's, then the donate's
    EXPECT_EQ(m.mismatch(), "");
    // Nothing deferred left: a call that needs more still fails, changing nothing.
    auto leaves = m.leaves();
    auto meta = m.meta;
    EXPECT_EQ(m.call(VBH_HC_HOST_DONATE, (4 * gib + 0x9000) >> frame_shift, 1, a).status, Status::no_memory);
    EXPECT_EQ(m.leaves(), leaves);
    EXPECT_EQ(m.meta, meta);
}

TEST(Engine, WholeGigabyteDonationAndDestroy) {
    auto m = machine();
    auto a = m.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0;
    auto before = m.leaves();
    ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, (4 * gib) >> frame_shift, gib >> frame_shift, a).status, Status::ok);
    ASSERT_EQ(m.call(VBH_HC_HOST_DONATE, (2 * gib + 2 * mib) >> frame_shift, 512, a).status, Status::ok);
    ASSERT_EQ(m.call(VBH_HC_HOST_SHARE, (32 * mib) >> frame_shift, 1, a).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
    EXPECT_FALSE(m.table->lookup(4 * gib + 123 * mib).has_value());
    auto out = m.call(VBH_HC_DOMAIN_DESTROY, a);
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, (gib >> frame_shift) + 512);
    EXPECT_EQ(out.out1, 1u);
    EXPECT_EQ(m.mismatch(), "");
    m.s2->compact(); // the 2 MiB run's re-merge was deferred
    EXPECT_EQ(m.leaves(), before);
}

TEST(Engine, HypervisorRangeIsAbsentAndStaysAbsent) {
    auto m = machine();
    auto a = m.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0;
    EXPECT_FALSE(m.table->lookup(17 * mib).has_value());
    EXPECT_EQ(m.call(VBH_HC_HOST_DONATE, (17 * mib) >> frame_shift, 1, a).status, Status::state);
    ASSERT_EQ(m.call(VBH_HC_HYP_DONATE, (18 * mib) >> frame_shift, 1).status, Status::ok);
    EXPECT_FALSE(m.table->lookup(18 * mib).has_value());
    EXPECT_EQ(m.call(VBH_HC_HOST_RECLAIM, (18 * mib) >> frame_shift, 1, a).status, Status::state);
    EXPECT_TRUE(m.table->lookup(3 * gib + 5 * mib).has_value()); // MMIO untouched
    EXPECT_EQ(m.mismatch(), "");
}

TEST(Engine, PoolTooSmallForTheSplitChangesNothing) {
    auto m = machine();
    auto a = m.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0;
    while (m.pool->available() > 1)
        ASSERT_TRUE(m.pool->alloc().has_value()); // leave one frame: a split needs two
    auto leaves = m.leaves();
    auto meta = m.meta;
    std::uint64_t pfn = (4 * gib + 0x5000) >> frame_shift;
    EXPECT_EQ(m.call(VBH_HC_HOST_DONATE, pfn, 1, a).status, Status::no_memory);
    EXPECT_EQ(m.leaves(), leaves);
    EXPECT_EQ(m.meta, meta);
    EXPECT_EQ(m.flushes, 0u);
    // 2 MiB aligned needs one frame (1 GiB -> 2 MiB): that fits.
    EXPECT_EQ(m.call(VBH_HC_HOST_DONATE, (4 * gib + 2 * mib) >> frame_shift, 512, a).status, Status::ok);
    EXPECT_EQ(m.mismatch(), "");
}

} // namespace
} // namespace vbh::test
