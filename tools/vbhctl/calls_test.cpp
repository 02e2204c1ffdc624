// Hosted tests of vbhctl's parsing and naming (the ioctl path is tested in QEMU).
#include "calls.hpp"

#include <vbh/abi.h>
#include <vbh/ioctl.h>

#include <gtest/gtest.h>

#include <cstddef>

using namespace vbhctl;

TEST(VbhctlParse, NumbersInEveryBase) {
    EXPECT_EQ(parse_u64("0"), 0u);
    EXPECT_EQ(parse_u64("42"), 42u);
    EXPECT_EQ(parse_u64("0x2A"), 42u);
    EXPECT_EQ(parse_u64("052"), 42u);
    EXPECT_EQ(parse_u64("0xffffffffffffffff"), 0xffffffffffffffffull);
}

TEST(VbhctlParse, RejectsJunkAndOverflow) {
    EXPECT_FALSE(parse_u64(""));
    EXPECT_FALSE(parse_u64("0x"));
    EXPECT_FALSE(parse_u64("12z"));
    EXPECT_FALSE(parse_u64("-1"));
    EXPECT_FALSE(parse_u64("09"));
    EXPECT_FALSE(parse_u64("0x10000000000000000"));
}

TEST(VbhctlParse, CallsByNameOrNumber) {
    EXPECT_EQ(parse_call("version"), static_cast<std::uint64_t>(VBH_HC_VERSION));
    EXPECT_EQ(parse_call("Test_Hash"), static_cast<std::uint64_t>(VBH_HC_TEST_HASH));
    EXPECT_EQ(parse_call("0xf0"), static_cast<std::uint64_t>(VBH_HC_LAUNCH_SEAL));
    EXPECT_EQ(parse_call("999"), 999u);
    EXPECT_FALSE(parse_call("versions"));
    EXPECT_STREQ(call_name(VBH_HC_HOST_DONATE), "HOST_DONATE");
    EXPECT_EQ(call_name(0x7777), nullptr);
}

TEST(VbhctlNames, StatusNames) {
    EXPECT_STREQ(status_name(VBH_OK), "ok");
    EXPECT_STREQ(status_name(VBH_E_DENIED), "denied");
    EXPECT_STREQ(status_name(VBH_STATUS_COUNT), "unknown");
    EXPECT_STREQ(status_name(static_cast<std::uint64_t>(-1000)), "unknown");
    // Every status of the ABI has its own name (VBH_STATUSES has no gap).
    for (std::uint64_t i = 0; i < VBH_STATUS_COUNT; ++i) {
        EXPECT_STRNE(status_name(i), "unknown") << i;
        for (std::uint64_t j = 0; j < i; ++j)
            EXPECT_STRNE(status_name(i), status_name(j)) << i << " " << j;
    }
}

TEST(VbhctlNames, EveryCallRoundTrips) {
#define CALL_ROUND_TRIP(name, nr)                                       \
    EXPECT_STREQ(call_name(VBH_HC_##name), #name);                      \
    EXPECT_EQ(parse_call(#name), static_cast<std::uint64_t>(VBH_HC_##name));
    VBH_CALLS(CALL_ROUND_TRIP)
#undef CALL_ROUND_TRIP
}

TEST(VbhctlAbi, IoctlLayout) {
    EXPECT_EQ(offsetof(vbh_ioctl_hypercall, args), 8u);
    EXPECT_EQ(offsetof(vbh_ioctl_hypercall, status), 40u);
    EXPECT_EQ(offsetof(vbh_ioctl_hypercall, out), 48u);
    EXPECT_EQ((VBH_IOCTL_HYPERCALL >> 16) & 0x3fff, sizeof(vbh_ioctl_hypercall));
}
