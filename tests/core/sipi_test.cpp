// SipiSlot (vbh/sipi.hpp): the wait-for-SIPI state of one CPU, posted by others.
#include <vbh/sipi.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace vbh {
namespace {

using S = SipiSlot::State;

TEST(SipiSlot, ASipiWithoutInitIsIgnored) {
    SipiSlot s;
    EXPECT_FALSE(s.post_sipi(0x9a));
    EXPECT_EQ(s.state(), S::running);
    EXPECT_FALSE(s.init_posted());
    EXPECT_FALSE(s.take_init());
    EXPECT_EQ(s.take_sipi(), -1);
}

TEST(SipiSlot, InitThenSipiStartsAtTheVector) {
    SipiSlot s;
    s.post_init();
    EXPECT_TRUE(s.init_posted());
    EXPECT_TRUE(s.take_init());
    EXPECT_EQ(s.state(), S::waiting);
    EXPECT_EQ(s.take_sipi(), -1); // no SIPI yet: keep waiting
    EXPECT_TRUE(s.post_sipi(0x9a));
    EXPECT_EQ(s.take_sipi(), 0x9a);
    EXPECT_EQ(s.state(), S::running);
}

TEST(SipiSlot, ASipiBeforeTheInitIsTakenIsKept) {
    SipiSlot s;
    s.post_init();
    EXPECT_TRUE(s.post_sipi(0x10)); // Linux's INIT, SIPI back to back, kick not yet taken
    EXPECT_TRUE(s.take_init());
    EXPECT_EQ(s.take_sipi(), 0x10);
}

TEST(SipiSlot, OnlyTheFirstSipiCounts) {
    SipiSlot s;
    s.post_init();
    ASSERT_TRUE(s.take_init());
    EXPECT_TRUE(s.post_sipi(0x10));
    EXPECT_FALSE(s.post_sipi(0x20)); // Linux's second SIPI
    EXPECT_EQ(s.take_sipi(), 0x10);
    EXPECT_FALSE(s.post_sipi(0x30)); // running again: ignored
    EXPECT_EQ(s.take_sipi(), -1);
}

TEST(SipiSlot, ASecondInitStartsOver) {
    SipiSlot s;
    s.post_init();
    ASSERT_TRUE(s.take_init());
    ASSERT_TRUE(s.post_sipi(0x10));
    s.post_init(); // before the waiting CPU took the SIPI
    EXPECT_EQ(s.take_sipi(), -1);
    EXPECT_TRUE(s.init_posted());
    EXPECT_TRUE(s.take_init());
    EXPECT_EQ(s.take_sipi(), -1); // the old vector went with the new INIT
    EXPECT_TRUE(s.post_sipi(0x20));
    EXPECT_EQ(s.take_sipi(), 0x20);
}

TEST(SipiSlot, VectorZeroIsAVector) {
    SipiSlot s;
    s.post_init();
    ASSERT_TRUE(s.take_init());
    ASSERT_TRUE(s.post_sipi(0));
    EXPECT_EQ(s.take_sipi(), 0);
}

TEST(SipiSlot, ResetLeavesItRunning) {
    SipiSlot s;
    s.post_init();
    s.reset();
    EXPECT_EQ(s.state(), S::running);
    EXPECT_FALSE(s.post_sipi(1));
}

// A sender posting INIT, SIPI, SIPI while the CPU takes them: the CPU always starts,
// exactly once per round, at that round's vector.
TEST(SipiSlot, ConcurrentSenderAndTarget) {
    SipiSlot s;
    std::atomic<int> round{0}, started{-1};
    constexpr int rounds = 2000;
    std::thread target([&] {
        for (int r = 0; r < rounds; ++r) {
            for (;;) {
                if (s.init_posted())
                    s.take_init();
                const int v = s.take_sipi();
                if (v >= 0) {
                    started.store(v);
                    break;
                }
            }
        }
    });
    for (int r = 0; r < rounds; ++r) {
        const std::uint8_t vec = std::uint8_t(r);
        s.post_init();
        s.post_sipi(vec);
        s.post_sipi(std::uint8_t(vec + 1)); // ignored: the first counts
        while (started.load() != int(vec))
            std::this_thread::yield();
        started.store(-1);
        round.store(r);
    }
    target.join();
    EXPECT_EQ(s.state(), S::running);
}

} // namespace
} // namespace vbh
