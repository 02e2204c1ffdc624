// Several CPUs (threads) issuing hypercalls at once (docs/threats.md #4, #5): the global
// lock keeps ownership, counters and the host table in step, and an argument array
// rewritten during the call is validated as copied, never re-read.
#include "harness.hpp"

#include <thread>

namespace vbh::test {
namespace {

std::uint64_t count_frames(const Harness& h, FrameMeta m) {
    std::uint64_t n = 0;
    for (std::uint64_t p = 0; p < machine_frames; ++p)
        n += h.at(Pfn{p}) == m;
    return n;
}

TEST(Concurrency, RacingDonateReclaimShareOnTheSameFrames) {
    Harness h;
    DomainId a = h.create(), b = h.create();
    constexpr int rounds = 3000;
    int ok_a = 0, ok_b = 0;
    std::thread t1([&] {
        for (int i = 0; i < rounds; ++i)
            if (h.call(VBH_HC_HOST_DONATE, 40, 8, a.value).status == Status::ok) {
                ++ok_a;
                EXPECT_EQ(h.call(VBH_HC_HOST_RECLAIM, 40, 8, a.value).status, Status::ok);
            }
    });
    std::thread t2([&] {
        for (int i = 0; i < rounds; ++i)
            if (h.call(VBH_HC_HOST_SHARE, 44, 8, b.value).status == Status::ok) {
                ++ok_b;
                EXPECT_EQ(h.call(VBH_HC_HOST_UNSHARE, 44, 8, b.value).status, Status::ok);
            }
    });
    std::thread t3([&] {
        // Destroying B while t2 shares with it; B's id comes back as the lowest free.
        for (int i = 0; i < rounds; ++i) {
            if (h.call(VBH_HC_HOST_DONATE, 46, 1, b.value).status != Status::ok)
                continue;
            EXPECT_EQ(h.call(VBH_HC_DOMAIN_DESTROY, b.value).status, Status::ok);
            EXPECT_EQ(h.call(VBH_HC_DOMAIN_CREATE, VBH_DOMAIN_TEST).out0, b.value);
        }
    });
    t1.join();
    t2.join();
    t3.join();
    EXPECT_GT(ok_a + ok_b, 0);
    EXPECT_TRUE(h.consistent());
    EXPECT_EQ(count_frames(h, FrameMeta{Owner::host}), 240u + 512u);
    EXPECT_EQ(h.core->domains()[a].owned, 0u);
}

TEST(Concurrency, ListRewrittenDuringTheCallIsCheckedAsCopied) {
    Harness h;
    DomainId a = h.create();
    std::uint64_t* entry = h.mem.words(Pfn{100});
    entry[0] = 40;
    entry[1] = 1;
    bool stop = false, started = false;
    std::thread attacker([&] {
        __atomic_store_n(&started, true, __ATOMIC_RELAXED);
        for (std::uint64_t i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); ++i)
            __atomic_store_n(&entry[0], i % 2 ? hyp_pfn.value : 40, __ATOMIC_RELAXED);
    });
    while (!__atomic_load_n(&started, __ATOMIC_RELAXED))
        std::this_thread::yield();
    int donated = 0, refused = 0;
    // Until both outcomes were seen a few times (the attacker's timing decides which).
    for (int i = 0; i < 2000000 && (i < 5000 || donated < 10 || refused < 10); ++i) {
        auto out = h.call(VBH_HC_HOST_DONATE_LIST, Pfn{100}.phys(), 1, a.value);
        if (out.status == Status::ok) {
            ++donated;
            ASSERT_EQ(out.out0, 1u);
            ASSERT_EQ(h.at(Pfn{40}), (FrameMeta{Owner::domain, a})) << "hyp " << h.at(hyp_pfn).raw();
            ASSERT_EQ(h.call(VBH_HC_HOST_RECLAIM, 40, 1, a.value).status, Status::ok);
        } else {
            ++refused;
            ASSERT_EQ(out.status, Status::state);
        }
        ASSERT_EQ(h.at(hyp_pfn), FrameMeta{Owner::hyp});
    }
    __atomic_store_n(&stop, true, __ATOMIC_RELAXED);
    attacker.join();
    EXPECT_TRUE(h.consistent());
    EXPECT_EQ(h.core->domains()[a].owned, 0u);
    std::printf("list race: %d donated, %d refused\n", donated, refused);
    EXPECT_GT(donated, 0);
    EXPECT_GT(refused, 0);
}

} // namespace
} // namespace vbh::test
