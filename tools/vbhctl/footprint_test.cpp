#include "footprint.hpp"

#include <gtest/gtest.h>

namespace vbhctl {
namespace {

// As loader/sysfs.c writes it (a 1 GiB QEMU guest, 2 CPUs).
constexpr const char* sample = "image 77824\nlog 24576\nboot_record 8192\npercpu 196608\n"
                               "stats 8192\nbackend 20480\nhyp_tables 45056\nnpt 57344\n"
                               "dma 2662400\nframe_table 524288\nretired 4096\npool 2514944\n"
                               "total 6144000\nram 1073208320\n";

TEST(Footprint, ParsesEveryPartInOrder) {
    Footprint f;
    std::string bad;
    ASSERT_TRUE(parse_footprint(sample, &f, &bad)) << bad;
    ASSERT_EQ(f.parts.size(), 12u);
    EXPECT_EQ(f.parts.front().first, "image");
    EXPECT_EQ(f.parts.back().first, "pool");
    EXPECT_EQ(f.parts.back().second, 2514944u);
    EXPECT_EQ(f.total, 6144000u);
    EXPECT_EQ(f.ram, 1073208320u);
}

TEST(Footprint, RendersTotalShareAndParts) {
    Footprint f;
    std::string bad;
    ASSERT_TRUE(parse_footprint(sample, &f, &bad));
    const std::string out = render_footprint(f);
    EXPECT_NE(out.find("hypervisor memory: 6000 KiB (0.57 % of 1023 MiB RAM)\n"), std::string::npos)
        << out;
    EXPECT_NE(out.find("  frame_table   512\n"), std::string::npos) << out;
    EXPECT_NE(out.find("  pool         2456\n"), std::string::npos) << out;
}

TEST(Footprint, RefusesPartsThatDoNotAddUp) {
    Footprint f;
    std::string bad;
    EXPECT_FALSE(parse_footprint("image 4096\npool 4096\ntotal 4096\n", &f, &bad));
    EXPECT_NE(bad.find("add up"), std::string::npos);
    EXPECT_FALSE(parse_footprint("image 4096\n", &f, &bad)); // no total
}

TEST(Footprint, RefusesUnknownPartsAndBadNumbers) {
    Footprint f;
    std::string bad;
    EXPECT_FALSE(parse_footprint("heap 4096\ntotal 4096\n", &f, &bad));
    EXPECT_EQ(bad, "heap 4096");
    EXPECT_FALSE(parse_footprint("image 4k\ntotal 4096\n", &f, &bad));
    EXPECT_EQ(bad, "image 4k");
    EXPECT_FALSE(parse_footprint("image 4096 extra\ntotal 4096\n", &f, &bad));
}

} // namespace
} // namespace vbhctl
