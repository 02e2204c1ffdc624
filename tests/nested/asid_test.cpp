// AsidMap: host ASIDs onto vbh's, never 0 nor L1's, a flush on every (re)assignment.
#include <vbh/svm/nested_asid.hpp>

#include <gtest/gtest.h>

#include <set>

namespace vbh::svm {
namespace {

TEST(Asid, StableWhileMappedFlushedWhenNew) {
    AsidMap m;
    ASSERT_TRUE(m.init(16, 1));
    EXPECT_EQ(m.slots(), 14u); // 2..15
    const auto a = m.assign(1);
    EXPECT_TRUE(a.flush);
    EXPECT_NE(a.asid, 0u);
    EXPECT_NE(a.asid, 1u);
    const auto again = m.assign(1);
    EXPECT_EQ(again.asid, a.asid);
    EXPECT_FALSE(again.flush);
    const auto b = m.assign(77);
    EXPECT_NE(b.asid, a.asid);
    EXPECT_EQ(m.find(77), b.asid);
    EXPECT_EQ(m.find(78), 0u);
}

TEST(Asid, FullTableEvictsTheOldestAndFlushesItsAsid) {
    AsidMap m;
    ASSERT_TRUE(m.init(5, 2)); // 1, 3, 4
    const auto a = m.assign(10), b = m.assign(11), c = m.assign(12);
    EXPECT_EQ(std::set<std::uint32_t>({a.asid, b.asid, c.asid}), std::set<std::uint32_t>({1, 3, 4}));
    const auto d = m.assign(13); // evicts host ASID 10
    EXPECT_EQ(d.asid, a.asid);
    EXPECT_TRUE(d.flush);
    EXPECT_EQ(m.find(10), 0u);
    const auto a2 = m.assign(10); // back: a fresh flush of the ASID it gets (11's)
    EXPECT_EQ(a2.asid, b.asid);
    EXPECT_TRUE(a2.flush);
    EXPECT_EQ(m.find(11), 0u);
    EXPECT_FALSE(m.assign(12).flush);
}

TEST(Asid, NeverZeroNorL1sOverManyHostAsids) {
    AsidMap m;
    ASSERT_TRUE(m.init(8, 1));
    for (std::uint32_t h = 0; h < 1000; ++h) {
        const auto g = m.assign(h * 7919 % 97);
        ASSERT_NE(g.asid, 0u);
        ASSERT_NE(g.asid, 1u);
        ASSERT_LT(g.asid, 8u);
    }
}

TEST(Asid, NoRoomNoNestedSvm) {
    AsidMap m;
    EXPECT_FALSE(m.init(2, 1)); // ASIDs 0 and 1 only
    EXPECT_FALSE(m.init(0, 1));
    EXPECT_TRUE(m.init(3, 1));
    EXPECT_EQ(m.assign(5).asid, 2u);
}

TEST(Asid, CapacityIsBounded) {
    AsidMap m;
    ASSERT_TRUE(m.init(1u << 15, 1));
    EXPECT_EQ(m.slots(), AsidMap::max_slots);
    m.assign(3);
    m.reset();
    EXPECT_EQ(m.find(3), 0u);
    EXPECT_TRUE(m.assign(3).flush);
}

} // namespace
} // namespace vbh::svm
