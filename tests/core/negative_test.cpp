// Hostile hypercalls (docs/threats.md #2, #3): each fails with its exact status and leaves
// ownership, domains, the host table and memory exactly as they were.
#include "harness.hpp"

namespace vbh::test {
namespace {

class Negative : public ::testing::Test {
protected:
    void SetUp() override {
        a = h.create();
        b = h.create(0);
        ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 600, 4, a.value).status, Status::ok);
        ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 620, 4, b.value).status, Status::ok);
        ASSERT_EQ(h.call(VBH_HC_HOST_SHARE, 640, 2, a.value).status, Status::ok);
        ASSERT_EQ(h.call(VBH_HC_TEST_FILL, a.value, 600, 4, 1).status, Status::ok);
    }
    // Writes a donate_list array at `phys` (not counted as a state change: the
    // snapshot is taken after).
    void put_list(std::uint64_t phys, std::initializer_list<vbh_frame_range> ranges) {
        std::uint64_t* w = h.mem.words(Pfn{phys >> frame_shift}) + (phys % frame_bytes) / 8;
        for (auto r : ranges) {
            *w++ = r.pfn;
            *w++ = r.count;
        }
    }
    Harness h;
    DomainId a{}, b{};
};

TEST_F(Negative, UnknownCall) {
    EXPECT_REJECTED(h, Status::unknown_call, 0x99);
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_STATS_READ);
    EXPECT_REJECTED(h, Status::unknown_call, VBH_HC_LOG_READ);
    EXPECT_REJECTED(h, Status::unknown_call, ~0ull);
    EXPECT_REJECTED(h, Status::unknown_call, (1ull << 32) | VBH_HC_VERSION);
}

TEST_F(Negative, NotRingZero) {
    for (std::uint8_t cpl = 1; cpl <= 3; ++cpl) {
        EXPECT_REJECTED(h, Status::denied, VBH_HC_VERSION, 0, 0, 0, 0, cpl);
        EXPECT_REJECTED(h, Status::denied, VBH_HC_HOST_RECLAIM, 600, 4, a.value, 0, cpl);
        EXPECT_REJECTED(h, Status::denied, VBH_HC_DOMAIN_DESTROY, a.value, 0, 0, 0, cpl);
        EXPECT_REJECTED(h, Status::denied, VBH_HC_TEST_HASH, a.value, 600, 4, 0, cpl);
        EXPECT_REJECTED(h, Status::denied, 0x99, 0, 0, 0, 0, cpl);
    }
}

TEST_F(Negative, FramesBeyondRamOrInAHole) {
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE, machine_frames, 1, a.value);
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE, 1023, 2, a.value); // runs off the end
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE, 1ull << 52, 1, a.value);
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE, hole_pfn.value, 1, a.value);
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE, 250, 10, a.value); // into the hole
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_SHARE, 511, 2, a.value);
    EXPECT_REJECTED(h, Status::range, VBH_HC_HYP_DONATE, 256, 256);
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_RECLAIM, 300, 1, a.value);
    EXPECT_REJECTED(h, Status::range, VBH_HC_TEST_FILL, a.value, 300, 1, 0);
}

TEST_F(Negative, CountZeroOrOverflowing) {
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE, 40, 0, a.value);
    EXPECT_REJECTED(h, Status::overflow, VBH_HC_HOST_DONATE, ~0ull, 2, a.value);
    EXPECT_REJECTED(h, Status::overflow, VBH_HC_HOST_DONATE, 40, ~0ull, a.value);
    EXPECT_REJECTED(h, Status::overflow, VBH_HC_HOST_RECLAIM, 600, ~0ull - 599, a.value);
    EXPECT_REJECTED(h, Status::overflow, VBH_HC_HYP_DONATE, 1ull << 63, 1ull << 63);
    EXPECT_REJECTED(h, Status::overflow, VBH_HC_TEST_HASH, a.value, 601, ~0ull);
    // Just below the wrap is not an overflow but is beyond RAM.
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE, 40, ~0ull - 40, a.value);
}

TEST_F(Negative, MisalignedOrOversizedList) {
    std::uint64_t base = Pfn{100}.phys();
    put_list(base, {{40, 1}});
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base + 8, 1, a.value);
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base + 1, 1, a.value);
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base, 0, a.value);
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base, VBH_MAX_LIST_ENTRIES + 1, a.value);
    // The array may not run into the next frame.
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base + frame_bytes - 16, 2, a.value);
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE_LIST, hole_pfn.phys(), 1, a.value);
}

TEST_F(Negative, OverlappingRanges) {
    std::uint64_t base = Pfn{100}.phys();
    put_list(base, {{40, 4}, {43, 2}});
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base, 2, a.value);
    put_list(base, {{40, 1}, {50, 1}, {40, 1}});
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base, 3, a.value);
    put_list(base, {{45, 5}, {40, 6}});
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base, 2, a.value);
    // Range and overflow errors of an entry are reported as such.
    put_list(base, {{40, 1}, {~0ull, 2}});
    EXPECT_REJECTED(h, Status::overflow, VBH_HC_HOST_DONATE_LIST, base, 2, a.value);
    put_list(base, {{40, 1}, {41, 0}});
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base, 2, a.value);
    put_list(base, {{40, 1}, {300, 1}});
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE_LIST, base, 2, a.value);
}

TEST_F(Negative, DoubleDonate) {
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE, 600, 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE, 598, 4, a.value); // partly owned
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE, 620, 1, a.value); // B's
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE, 640, 1, a.value); // shared
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_SHARE, 600, 1, b.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HYP_DONATE, 603, 1);
    std::uint64_t base = Pfn{100}.phys();
    put_list(base, {{700, 1}, {603, 1}});
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE_LIST, base, 2, a.value);
}

TEST_F(Negative, ReclaimOfFramesNotOwned) {
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_RECLAIM, 40, 1, a.value);  // host's
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_RECLAIM, 620, 1, a.value); // B's
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_RECLAIM, 602, 4, a.value); // runs past
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_RECLAIM, 640, 1, a.value); // only lent
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_UNSHARE, 600, 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_UNSHARE, 640, 1, b.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_TEST_HASH, a.value, 620, 1);
    EXPECT_REJECTED(h, Status::state, VBH_HC_TEST_FILL, a.value, 640, 1, 0);
    EXPECT_REJECTED(h, Status::state, VBH_HC_TEST_HASH, a.value, 40, 1);
}

TEST_F(Negative, HypervisorFramesAsArguments) {
    std::uint64_t p = hyp_pfn.value;
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE, p, 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_SHARE, p + 15, 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_RECLAIM, p, 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_UNSHARE, p, 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HYP_DONATE, p - 1, 2);
    EXPECT_REJECTED(h, Status::state, VBH_HC_TEST_HASH, a.value, p, 1);
    EXPECT_REJECTED(h, Status::state, VBH_HC_TEST_FILL, a.value, p, 1, 0);
    // The list array itself in hypervisor memory or in a private frame: the
    // hypervisor would read it on the host's behalf (confused deputy).
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE_LIST, hyp_pfn.phys(), 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE_LIST, Pfn{600}.phys(), 1, a.value);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE_LIST, Pfn{620}.phys(), 1, b.value);
}

TEST_F(Negative, BadDomain) {
    for (std::uint64_t d : {0ull, 3ull, 63ull, 64ull, 65536ull + a.value, ~0ull}) {
        EXPECT_REJECTED(h, Status::no_domain, VBH_HC_HOST_DONATE, 40, 1, d);
        EXPECT_REJECTED(h, Status::no_domain, VBH_HC_HOST_SHARE, 40, 1, d);
        EXPECT_REJECTED(h, Status::no_domain, VBH_HC_HOST_RECLAIM, 600, 1, d);
        EXPECT_REJECTED(h, Status::no_domain, VBH_HC_DOMAIN_DESTROY, d);
        EXPECT_REJECTED(h, Status::no_domain, VBH_HC_TEST_HASH, d, 600, 1);
        EXPECT_REJECTED(h, Status::no_domain, VBH_HC_HOST_DONATE_LIST, Pfn{100}.phys(), 1, d);
    }
    // A destroyed domain's id is dead until created again.
    ASSERT_EQ(h.call(VBH_HC_DOMAIN_DESTROY, b.value).status, Status::ok);
    EXPECT_REJECTED(h, Status::no_domain, VBH_HC_HOST_DONATE, 40, 1, b.value);
    EXPECT_REJECTED(h, Status::no_domain, VBH_HC_DOMAIN_DESTROY, b.value);
}

TEST_F(Negative, TestCallsNeedATestDomain) {
    EXPECT_REJECTED(h, Status::denied, VBH_HC_TEST_HASH, b.value, 620, 1);
    EXPECT_REJECTED(h, Status::denied, VBH_HC_TEST_FILL, b.value, 620, 1, 5);
}

TEST_F(Negative, CreateWithUnknownFlagsOrNoSlot) {
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_DOMAIN_CREATE, 0x2);
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_DOMAIN_CREATE, 1ull << 40);
    while (h.call(VBH_HC_DOMAIN_CREATE, 0).status == Status::ok) {
    }
    EXPECT_REJECTED(h, Status::no_memory, VBH_HC_DOMAIN_CREATE, 0);
}

// Several faults at once: the first in docs/hypercalls.md's order decides.
TEST_F(Negative, CheckOrder) {
    EXPECT_REJECTED(h, Status::denied, 0x99, 0, 0, 0, 0, 3);                     // CPL first
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE, hole_pfn.value, 0, 99); // syntax
    EXPECT_REJECTED(h, Status::overflow, VBH_HC_TEST_HASH, 99, ~0ull, 2);
    EXPECT_REJECTED(h, Status::no_domain, VBH_HC_HOST_DONATE, hole_pfn.value, 1, 99); // domain
    EXPECT_REJECTED(h, Status::denied, VBH_HC_TEST_HASH, b.value, hole_pfn.value, 1);
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE, hyp_pfn.value, 300, a.value); // RAM
    h.s2.set_budget(0);
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE, 600, 1, a.value);           // state
    std::uint64_t base = Pfn{100}.phys();
    put_list(base, {{600, 1}, {hole_pfn.value, 1}, {40, 1}, {40, 1}});
    EXPECT_REJECTED(h, Status::range, VBH_HC_HOST_DONATE_LIST, base, 4, a.value);
    put_list(base, {{600, 1}, {40, 1}, {40, 1}});
    EXPECT_REJECTED(h, Status::invalid, VBH_HC_HOST_DONATE_LIST, base, 3, a.value);
    put_list(base, {{600, 1}, {40, 1}});
    EXPECT_REJECTED(h, Status::state, VBH_HC_HOST_DONATE_LIST, base, 2, a.value);
    put_list(base, {{40, 1}});
    EXPECT_REJECTED(h, Status::no_memory, VBH_HC_HOST_DONATE_LIST, base, 1, a.value);
}

TEST_F(Negative, PageTablePoolExhausted) {
    h.s2.set_budget(0);
    EXPECT_REJECTED(h, Status::no_memory, VBH_HC_HOST_DONATE, 40, 1, a.value);
    EXPECT_REJECTED(h, Status::no_memory, VBH_HC_HOST_RECLAIM, 600, 1, a.value);
    EXPECT_REJECTED(h, Status::no_memory, VBH_HC_HYP_DONATE, 40, 1);
    EXPECT_REJECTED(h, Status::no_memory, VBH_HC_DOMAIN_DESTROY, a.value);
    // Enough for the first range of a list but not the second: all or nothing.
    h.s2.set_budget(1);
    put_list(Pfn{100}.phys(), {{40, 1}, {50, 1}});
    EXPECT_REJECTED(h, Status::no_memory, VBH_HC_HOST_DONATE_LIST, Pfn{100}.phys(), 2, a.value);
    // Reservations do not leak into the next call.
    h.s2.set_budget(-1);
    EXPECT_EQ(h.call(VBH_HC_HOST_DONATE_LIST, Pfn{100}.phys(), 2, a.value).status, Status::ok);
}

} // namespace
} // namespace vbh::test
