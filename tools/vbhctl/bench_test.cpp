// Hosted tests of the benchmark's statistics and of vbhctl's error messages.
#include "bench.hpp"
#include "device.hpp"

#include <vbh/abi.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <numeric>

using namespace vbhctl;

TEST(VbhctlBench, NearestRankPercentiles) {
    std::vector<std::uint64_t> v(100);
    std::iota(v.begin(), v.end(), 1); // 1..100
    std::reverse(v.begin(), v.end());
    auto s = summarize(v);
    EXPECT_EQ(s.n, 100u);
    EXPECT_EQ(s.min, 1u);
    EXPECT_EQ(s.median, 50u);
    EXPECT_EQ(s.p99, 99u);
    EXPECT_EQ(s.max, 100u);
}

TEST(VbhctlBench, SmallAndEmptySamples) {
    std::vector<std::uint64_t> one{7};
    auto s = summarize(one);
    EXPECT_EQ(s.median, 7u);
    EXPECT_EQ(s.p99, 7u);
    std::vector<std::uint64_t> outlier{10, 10, 10, 10000};
    EXPECT_EQ(summarize(outlier).median, 10u);
    EXPECT_EQ(summarize(outlier).p99, 10000u);
    std::vector<std::uint64_t> none;
    EXPECT_EQ(summarize(none).n, 0u);
}

TEST(VbhctlErrors, NamesTheCause) {
    auto nl = describe_errno(ENOENT, "/dev/vbh", 0);
    EXPECT_EQ(nl.message, "vbh is not loaded: /dev/vbh missing");
    EXPECT_EQ(nl.code, exit_not_loaded);
    EXPECT_EQ(describe_errno(EACCES, "/dev/vbh", 0).code, exit_perm);
    EXPECT_NE(describe_errno(EPERM, "/dev/vbh", 0).message.find("needs root"),
              std::string::npos);
    EXPECT_EQ(describe_errno(ENODEV, "/dev/vbh", 1).message, "CPU 1 is not running under vbh");
    EXPECT_EQ(describe_status(VBH_HC_HOST_DONATE, VBH_E_DENIED),
              "HOST_DONATE failed: denied (8)");
    EXPECT_EQ(describe_status(0x77, 1000), "call 0x77 failed: unknown (1000)");
}
