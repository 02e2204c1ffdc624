#include <vbh/result.hpp>

#include <gtest/gtest.h>

namespace {

using vbh::Result;
using vbh::Status;

Result<int> half(int v) {
    if (v % 2 != 0)
        return vbh::unexpected(Status::invalid);
    return v / 2;
}

TEST(Result, CarriesValueOrStatus) {
    auto ok = half(8);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, 4);
    EXPECT_EQ(ok.error(), Status::ok);

    auto bad = half(3);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), Status::invalid);
    EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(Result, VoidIsAStatus) {
    Result<void> ok;
    EXPECT_TRUE(ok);
    Result<void> bad = vbh::unexpected(Status::state);
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.error(), Status::state);
}

TEST(Status, MatchesAbiNumbers) {
    EXPECT_EQ(static_cast<unsigned>(Status::denied) + 1, vbh::status_count);
    EXPECT_EQ(static_cast<unsigned>(Status::unknown_call), unsigned(VBH_E_UNKNOWN_CALL));
    EXPECT_STREQ(vbh::to_string(Status::range), "range");
    EXPECT_STREQ(vbh::to_string(Status::no_domain), "no_domain");
    EXPECT_STREQ(vbh::to_string(static_cast<Status>(vbh::status_count)), "?");
}

} // namespace
