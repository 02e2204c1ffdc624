// KickCount (vbh/kick_count.hpp): each NMI exit takes one recent kick; a count left
// by kicks that merged into one NMI ages out instead of swallowing a later real NMI.
#include <vbh/kick_count.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace vbh {
namespace {

constexpr std::uint64_t t0 = 1'000'000;

TEST(KickCount, NoKickMeansTheNmiIsTheHosts) {
    KickCount k;
    EXPECT_FALSE(k.take(t0));
}

TEST(KickCount, EachKickSwallowsOneNmi) {
    KickCount k;
    k.sent(t0);
    k.sent(t0 + 10);
    EXPECT_TRUE(k.take(t0 + 100));
    EXPECT_TRUE(k.take(t0 + 200));
    EXPECT_FALSE(k.take(t0 + 300)); // the third NMI is the host's
    EXPECT_EQ(k.pending(), 0u);
}

TEST(KickCount, AnUnsentKickIsNotCounted) {
    KickCount k;
    k.sent(t0);
    k.unsent();
    EXPECT_FALSE(k.take(t0 + 1));
}

// An NMI exit took the count between sent() and a failed send: nothing to give back.
TEST(KickCount, UnsentAfterATakeDoesNotWrap) {
    KickCount k;
    k.sent(t0);
    EXPECT_TRUE(k.take(t0 + 1));
    k.unsent();
    EXPECT_EQ(k.pending(), 0u);
    EXPECT_FALSE(k.take(t0 + 2));
}

// Two kicks merged into one NMI: the count left behind swallows nothing once stale.
TEST(KickCount, ALeftoverCountAgesOut) {
    KickCount k;
    k.sent(t0);
    k.sent(t0 + 5);
    EXPECT_TRUE(k.take(t0 + 50)); // the one NMI both kicks became
    EXPECT_EQ(k.pending(), 1u);
    EXPECT_FALSE(k.take(t0 + 5 + KickCount::stale)); // a real NMI, later: reflected
    EXPECT_EQ(k.pending(), 0u);                      // and the stale count is gone
    EXPECT_FALSE(k.take(t0 + 6 + KickCount::stale));
}

TEST(KickCount, ARecentLeftoverStillSwallowsADelayedKick) {
    KickCount k;
    k.sent(t0);
    k.sent(t0 + 5);
    EXPECT_TRUE(k.take(t0 + 50));
    EXPECT_TRUE(k.take(t0 + KickCount::stale - 1)); // the second kick's NMI, late
}

// The kicker's TSC may be a little ahead of the kicked CPU's.
TEST(KickCount, SkewBetweenCpusIsNotAge) {
    KickCount k;
    k.sent(t0 + 1000);
    EXPECT_TRUE(k.take(t0));
}

TEST(KickCount, ANewKickAfterStaleOnesCountsAgain) {
    KickCount k;
    k.sent(t0);
    k.sent(t0);
    EXPECT_TRUE(k.take(t0 + 1));
    const std::uint64_t later = t0 + 4 * KickCount::stale;
    k.sent(later); // a leftover of 1 plus this kick: 2, the newest recent
    EXPECT_TRUE(k.take(later + 1));
    EXPECT_TRUE(k.take(later + 2)); // recent: both counts stand (the limitation's price)
    EXPECT_FALSE(k.take(later + 3));
}

TEST(KickCount, ConcurrentKicksAndTakesLoseNoCount) {
    KickCount k;
    constexpr int n = 20000;
    std::atomic<int> taken{0};
    std::thread kicker([&] {
        for (int i = 0; i < n; ++i)
            k.sent(t0);
    });
    std::thread target([&] {
        for (int i = 0; i < 2 * n; ++i)
            taken += k.take(t0) ? 1 : 0;
    });
    kicker.join();
    target.join();
    while (k.take(t0))
        ++taken;
    EXPECT_EQ(taken.load(), n);
}

} // namespace
} // namespace vbh
