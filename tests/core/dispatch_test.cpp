// What the calls do when they succeed: ownership, host table, flushes, scrub, outputs.
#include "harness.hpp"

namespace vbh::test {
namespace {

TEST(Dispatch, VersionAndDomainIds) {
    Harness h;
    auto v = h.call(VBH_HC_VERSION);
    EXPECT_EQ(v.status, Status::ok);
    EXPECT_EQ(v.out0, VBH_ABI_VERSION);
    EXPECT_EQ(h.create().value, 1);
    EXPECT_EQ(h.create(0).value, 2);
    EXPECT_EQ(h.core->domains()[DomainId{1}].flags, VBH_DOMAIN_TEST);
    ASSERT_EQ(h.call(VBH_HC_DOMAIN_DESTROY, 1).status, Status::ok);
    EXPECT_EQ(h.create().value, 1); // lowest free id is reused
}

TEST(Dispatch, InitMarksRamHolesAndHypervisor) {
    Harness h;
    EXPECT_EQ(h.at(Pfn{0}).owner(), Owner::host);
    EXPECT_EQ(h.at(hyp_pfn).owner(), Owner::hyp);
    EXPECT_EQ(h.at(Pfn{31}).owner(), Owner::hyp);
    EXPECT_EQ(h.at(Pfn{32}).owner(), Owner::host);
    EXPECT_EQ(h.at(hole_pfn).owner(), Owner::none);
    EXPECT_EQ(h.at(Pfn{1023}).owner(), Owner::host);
    EXPECT_EQ(h.at(Pfn{1024}).owner(), Owner::none);
    EXPECT_EQ(h.core->frames().frames(), machine_frames);
    EXPECT_TRUE(h.consistent());
}

TEST(Dispatch, DonateUnmapsAndFlushesReclaimScrubsAndMaps) {
    Harness h;
    DomainId a = h.create();
    auto flushes = h.s2.flushes();
    auto out = h.call(VBH_HC_HOST_DONATE, 600, 8, a.value);
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, 8u);
    EXPECT_EQ(h.s2.flushes(), flushes + 1);
    EXPECT_FALSE(h.s2.mapped(Pfn{600}));
    EXPECT_FALSE(h.s2.mapped(Pfn{607}));
    EXPECT_TRUE(h.s2.mapped(Pfn{608}));
    EXPECT_EQ(h.core->domains()[a].owned, 8u);

    ASSERT_EQ(h.call(VBH_HC_TEST_FILL, a.value, 600, 8, 42).status, Status::ok);
    EXPECT_NE(h.mem.words(Pfn{605})[17], 0u);
    out = h.call(VBH_HC_HOST_RECLAIM, 602, 4, a.value);
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, 4u);
    for (std::uint64_t p = 602; p < 606; ++p) {
        EXPECT_TRUE(h.s2.mapped(Pfn{p}));
        for (std::uint64_t k = 0; k < words_per_frame; ++k)
            ASSERT_EQ(h.mem.words(Pfn{p})[k], 0u);
    }
    EXPECT_NE(h.mem.words(Pfn{600})[0], 0u); // still A's, untouched
    EXPECT_EQ(h.core->domains()[a].owned, 4u);
    EXPECT_TRUE(h.consistent());
}

TEST(Dispatch, HashSeesFillAndOnlyFill) {
    Harness h;
    DomainId a = h.create();
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 700, 3, a.value).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_TEST_FILL, a.value, 700, 3, 1234).status, Status::ok);
    auto h1 = h.call(VBH_HC_TEST_HASH, a.value, 700, 3);
    ASSERT_EQ(h1.status, Status::ok);
    EXPECT_EQ(h.call(VBH_HC_TEST_HASH, a.value, 700, 3).out0, h1.out0);
    h.mem.words(Pfn{701})[100] ^= 1; // what a successful attack would do
    EXPECT_NE(h.call(VBH_HC_TEST_HASH, a.value, 700, 3).out0, h1.out0);
    ASSERT_EQ(h.call(VBH_HC_TEST_FILL, a.value, 700, 3, 1234).status, Status::ok);
    EXPECT_EQ(h.call(VBH_HC_TEST_HASH, a.value, 700, 3).out0, h1.out0);
    ASSERT_EQ(h.call(VBH_HC_TEST_FILL, a.value, 700, 3, 99).status, Status::ok);
    EXPECT_NE(h.call(VBH_HC_TEST_HASH, a.value, 700, 3).out0, h1.out0);
}

TEST(Dispatch, FnvOfZeroFrameIsKnown) {
    Harness h;
    DomainId a = h.create();
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 700, 1, a.value).status, Status::ok);
    std::uint64_t want = fnv_offset;
    for (int i = 0; i < 4096; ++i)
        want = (want ^ 0) * fnv_prime;
    EXPECT_EQ(h.call(VBH_HC_TEST_HASH, a.value, 700, 1).out0, want);
}

TEST(Dispatch, ShareKeepsHostAccessUnshareEndsIt) {
    Harness h;
    DomainId a = h.create();
    ASSERT_EQ(h.call(VBH_HC_HOST_SHARE, 40, 10, a.value).status, Status::ok);
    EXPECT_EQ(h.at(Pfn{45}), (FrameMeta{Owner::shared, a}));
    EXPECT_TRUE(h.s2.mapped(Pfn{45}));
    EXPECT_EQ(h.core->domains()[a].borrowed, 10u);
    ASSERT_EQ(h.call(VBH_HC_HOST_UNSHARE, 40, 10, a.value).status, Status::ok);
    EXPECT_EQ(h.at(Pfn{45}), FrameMeta{Owner::host});
    EXPECT_EQ(h.core->domains()[a].borrowed, 0u);
}

TEST(Dispatch, DestroyScrubsOwnedAndEndsShares) {
    Harness h;
    DomainId a = h.create(), b = h.create();
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 600, 2, a.value).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 610, 3, a.value).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_HOST_DONATE, 602, 1, b.value).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_HOST_SHARE, 40, 2, a.value).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_TEST_FILL, a.value, 600, 2, 5).status, Status::ok);
    ASSERT_EQ(h.call(VBH_HC_TEST_FILL, b.value, 602, 1, 5).status, Status::ok);
    auto out = h.call(VBH_HC_DOMAIN_DESTROY, a.value);
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, 5u);
    EXPECT_EQ(out.out1, 2u);
    EXPECT_EQ(h.at(Pfn{600}), FrameMeta{Owner::host});
    EXPECT_EQ(h.at(Pfn{612}), FrameMeta{Owner::host});
    EXPECT_EQ(h.at(Pfn{41}), FrameMeta{Owner::host});
    EXPECT_EQ(h.at(Pfn{602}), (FrameMeta{Owner::domain, b}));
    EXPECT_EQ(h.mem.words(Pfn{601})[3], 0u);
    EXPECT_NE(h.mem.words(Pfn{602})[3], 0u);
    EXPECT_FALSE(h.core->domains()[a].live);
    EXPECT_TRUE(h.consistent());
}

TEST(Dispatch, DonateListIsAllOrNothing) {
    Harness h;
    DomainId a = h.create();
    std::uint64_t* w = h.mem.words(Pfn{100}) + 32; // at byte 256
    w[0] = 40, w[1] = 2, w[2] = 700, w[3] = 5, w[4] = 50, w[5] = 1;
    auto out = h.call(VBH_HC_HOST_DONATE_LIST, Pfn{100}.phys() + 256, 3, a.value);
    ASSERT_EQ(out.status, Status::ok);
    EXPECT_EQ(out.out0, 8u);
    for (std::uint64_t p : {40, 41, 700, 704, 50})
        EXPECT_EQ(h.at(Pfn{p}), (FrameMeta{Owner::domain, a})) << p;
    EXPECT_EQ(h.at(Pfn{42}), FrameMeta{Owner::host});
    EXPECT_EQ(h.core->domains()[a].owned, 8u);
    EXPECT_TRUE(h.consistent());
}

TEST(Dispatch, HypDonateIsOneWay) {
    Harness h;
    DomainId a = h.create();
    ASSERT_EQ(h.call(VBH_HC_HYP_DONATE, 800, 16).status, Status::ok);
    EXPECT_EQ(h.at(Pfn{815}).owner(), Owner::hyp);
    EXPECT_FALSE(h.s2.mapped(Pfn{815}));
    EXPECT_EQ(h.call(VBH_HC_HOST_RECLAIM, 800, 1, a.value).status, Status::state);
    EXPECT_EQ(h.call(VBH_HC_HOST_DONATE, 800, 1, a.value).status, Status::state);
    EXPECT_TRUE(h.consistent());
}

TEST(Dispatch, InitRejectsBadConfig) {
    std::vector<std::uint16_t> meta(16);
    const vbh_mem_range ram[] = {{0, 64 * frame_bytes}};
    const vbh_mem_range odd[] = {{100, frame_bytes}};
    FakeStage2 s2{64};
    FakeMemory mem{64};
    TestCore c{s2, mem};
    EXPECT_EQ(c.init({meta.data(), 32, ram, 1, nullptr, 0}).error(), Status::no_memory);
    EXPECT_EQ(c.init({meta.data(), 32, odd, 1, nullptr, 0}).error(), Status::invalid);
    const vbh_mem_range small[] = {{0, 16 * frame_bytes}};
    const vbh_mem_range hyp_in_hole[] = {{32 * frame_bytes, frame_bytes}};
    EXPECT_EQ(c.init({meta.data(), 32, small, 1, hyp_in_hole, 1}).error(), Status::range);
    EXPECT_TRUE(c.init({meta.data(), 32, small, 1, nullptr, 0}).has_value());
}

TEST(Dispatch, MetadataCost) {
    EXPECT_EQ(FrameTable::bytes_per_gib, 512u * 1024);
    std::printf("ownership metadata: %llu bytes per frame, %llu KiB per GiB of RAM\n",
                (unsigned long long)FrameTable::bytes_per_frame,
                (unsigned long long)FrameTable::bytes_per_gib / 1024);
    EXPECT_EQ(meta_bytes_for(24ull << 18), 12u << 20); // 24 GiB -> 12 MiB
}

} // namespace
} // namespace vbh::test
