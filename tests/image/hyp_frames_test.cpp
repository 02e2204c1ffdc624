// HypFrames beyond any fixed cap: more than 1024 frames freed, retired and released, or
// skipped by a contiguous allocation, all come back; none is lost or handed out twice.
// (The pool kept at most 1024 parked frames before and leaked the rest silently.)
#include <vbh/image/memory.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

namespace vbh::image {
namespace {

// 2600 frames of hypervisor memory in three physically scattered chunks:
//   offsets    0 .. 1099  at phys 0x10000000  (chunk A)
//   offsets 1100 .. 1100  at phys 0x30000000  (chunk B, one frame)
//   offsets 1101 .. 2599  at phys 0x20000000  (chunk C; its last 3 frames hold the
//                                               retired stack)
struct BigPool : ::testing::Test {
    static constexpr std::uint64_t pages = 2600;
    struct Free { void operator()(void* p) const { std::free(p); } };
    std::unique_ptr<void, Free> buf{std::aligned_alloc(page, pages * page)};
    vbh_boot_record br{};
    HypMemory mem;
    HypFrames frames;
    std::size_t total = 0;

    void SetUp() override {
        std::memset(buf.get(), 0xee, pages * page);
        br.hyp_virt_base = reinterpret_cast<std::uint64_t>(buf.get());
        br.hyp_size = pages * page;
        br.nr_hyp_ranges = 3;
        br.hyp_ranges[0] = {0x10000000, 1100 * page};
        br.hyp_ranges[1] = {0x30000000, page};
        br.hyp_ranges[2] = {0x20000000, 1499 * page};
        mem.init(br);
        frames.init(mem, 0, pages * page);
        total = frames.available();
    }

    // Allocate everything; every frame distinct, zeroed, inside hypervisor memory.
    std::vector<std::uint64_t> drain() {
        std::vector<std::uint64_t> got;
        std::set<std::uint64_t> seen;
        while (auto pa = frames.alloc()) {
            EXPECT_TRUE(mem.contains_phys(*pa));
            EXPECT_TRUE(seen.insert(*pa).second) << "frame handed out twice";
            const auto* w = static_cast<const std::uint64_t*>(frames.virt(*pa));
            EXPECT_EQ(w[0] | w[511], 0u); // the free-list link is gone too
            got.push_back(*pa);
        }
        return got;
    }
};

// The footprint's "retired" part is hyp_size - pool_end(): the stack of one 32-bit
// slot per pool frame carved from the end (2600 frames: 3 stack frames, 2597 in the
// pool), and pool_end() is where the bump allocator stops.
TEST_F(BigPool, PoolEndIsWhereTheRetiredStackStarts) {
    EXPECT_EQ(frames.pool_end(), (pages - 3) * page);
    EXPECT_EQ(total, pages - 3);
    drain();
    EXPECT_EQ(frames.available(), 0u);
}

// virt_of_phys() searches the ranges by physical base; the boot record lists them in
// virtual order (here B lies above C physically).
TEST_F(BigPool, PhysToVirtFindsEveryFrameOfEveryChunkAndNothingElse) {
    for (std::uint64_t off = 0; off < pages * page; off += page) {
        const std::uint64_t pa = mem.phys_of_offset(off);
        EXPECT_EQ(mem.virt_of_phys(pa + 8), br.hyp_virt_base + off + 8) << off;
    }
    for (std::uint64_t pa : {0ull, 0x10000000ull - 1, 0x10000000ull + 1100 * page,
                             0x20000000ull - 8, 0x20000000ull + 1499 * page, 0x30000000ull - 1,
                             0x30000000ull + page, ~0ull})
        EXPECT_EQ(mem.virt_of_phys(pa), 0u) << pa;
    HypMemory empty;
    empty.init(vbh_boot_record{});
    EXPECT_EQ(empty.virt_of_phys(0), 0u);
}

TEST_F(BigPool, RetiredStackCostsOneFramePerThousand) {
    // 2600 frames: 2600 * 4 bytes of retired stack = 3 frames.
    EXPECT_EQ(total, pages - 3);
}

TEST_F(BigPool, RetiringEveryFrameLosesNone) {
    auto all = drain();
    ASSERT_EQ(all.size(), total);
    for (auto pa : all)
        frames.retire(pa);
    EXPECT_EQ(frames.retired(), total);
    EXPECT_EQ(frames.available(), 0u); // not before the flush
    EXPECT_FALSE(frames.alloc().has_value());
    frames.release_retired();
    EXPECT_EQ(frames.available(), total);
    auto again = drain();
    EXPECT_EQ(std::set<std::uint64_t>(again.begin(), again.end()), std::set<std::uint64_t>(all.begin(), all.end()));
}

TEST_F(BigPool, AllocAfterReleaseReusesRetiredFramesBeforeNewOnes) {
    std::vector<std::uint64_t> first;
    for (int i = 0; i < 1500; ++i)
        first.push_back(*frames.alloc());
    for (auto pa : first)
        frames.retire(pa);
    frames.release_retired();
    std::set<std::uint64_t> reused;
    for (int i = 0; i < 1500; ++i)
        reused.insert(*frames.alloc());
    EXPECT_EQ(reused, std::set<std::uint64_t>(first.begin(), first.end()));
    EXPECT_EQ(frames.available(), total - 1500);
}

TEST_F(BigPool, ContiguousAllocationKeepsEverySkippedFrame) {
    // 1200 physically contiguous frames fit only in chunk C: the 1101 frames of chunks
    // A and B before it are skipped, and must stay allocatable.
    auto v = frames.alloc_contig(1200);
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(mem.phys(*v), 0x20000000u);
    EXPECT_EQ(frames.available(), total - 1200);
    auto rest = drain();
    EXPECT_EQ(rest.size(), total - 1200);
}

TEST_F(BigPool, RetireAndReleaseRepeatedly) {
    // A table engine's life: alloc, retire, flush, over and over; the pool never shrinks.
    for (int round = 0; round < 5; ++round) {
        std::vector<std::uint64_t> got;
        for (int i = 0; i < 1100; ++i)
            got.push_back(*frames.alloc());
        for (auto pa : got)
            frames.retire(pa);
        frames.release_retired();
        EXPECT_EQ(frames.available(), total) << "round " << round;
    }
}

} // namespace
} // namespace vbh::image
