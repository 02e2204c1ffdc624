// The touch benchmark's pure parts (touch.hpp): the values the payload must report,
// each check failing on its own wrong value, the figures, the command line.
#include "options.hpp"
#include "touch.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace vmm {
namespace {

void put64(Report& r, unsigned id, std::uint64_t v) {
    r.records[id] = std::uint32_t(v);
    r.records[id + 1] = std::uint32_t(v >> 32);
}

const Check* find(const std::vector<Check>& cs, const std::string& name) {
    auto it = std::find_if(cs.begin(), cs.end(), [&](const Check& c) { return c.name == name; });
    return it == cs.end() ? nullptr : &*it;
}

TEST(Touch, ExpectedValues) {
    // Page i holds i + 2 after the two write passes: 2, 3, 4 for three pages.
    EXPECT_EQ(touch_expected_sum(1), 2u);
    EXPECT_EQ(touch_expected_sum(3), 9u);
    EXPECT_EQ(touch_expected_sum(65536), 65536ull * 65535 / 2 + 2 * 65536ull);
    // One xorshift64 step (13, 7, 17) from 1: 0x2001, ^ 0x40, ^ 0x2041 << 17.
    EXPECT_EQ(touch_expected_cpu(0), 1u);
    EXPECT_EQ(touch_expected_cpu(1), 0x40822041u);
}

TEST(Touch, ChecksPassOnTheRightValuesAndFailAlone) {
    const TouchOptions o{true, 1024, 1000};
    Report r;
    put64(r, R_TOUCH_SUM, touch_expected_sum(1024));
    put64(r, R_TOUCH_CPU_VALUE, touch_expected_cpu(1000));
    auto cs = judge_touch(o, r);
    ASSERT_EQ(cs.size(), 2u);
    for (const auto& c : cs) EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
    EXPECT_EQ(find(cs, "touch.sum")->detail, fmt::format("{:#x}", touch_expected_sum(1024)));

    Report bad_sum = r;  // one page missed by the write passes
    put64(bad_sum, R_TOUCH_SUM, touch_expected_sum(1024) - 1025);
    cs = judge_touch(o, bad_sum);
    EXPECT_FALSE(find(cs, "touch.sum")->ok);
    EXPECT_TRUE(find(cs, "touch.cpu_value")->ok);

    Report bad_cpu = r;
    put64(bad_cpu, R_TOUCH_CPU_VALUE, touch_expected_cpu(999));
    cs = judge_touch(o, bad_cpu);
    EXPECT_TRUE(find(cs, "touch.sum")->ok);
    EXPECT_FALSE(find(cs, "touch.cpu_value")->ok);

    cs = judge_touch(o, Report{});
    EXPECT_EQ(find(cs, "touch.sum")->detail, "not reported");
    EXPECT_FALSE(find(cs, "touch.cpu_value")->ok);
}

TEST(Touch, MetricsArePerPage) {
    const TouchOptions o{false, 100, 10};
    Report r;
    put64(r, R_TOUCH_FIRST, 100 * 50000);
    put64(r, R_TOUCH_AGAIN, 100 * 20);
    put64(r, R_TOUCH_READ, 100 * 3000);
    put64(r, R_TOUCH_CPU, 2000000);
    const auto ms = touch_metrics(o, 2000000, r);  // 2 GHz: 0.5 ns per cycle
    auto value = [&](const char* name) {
        for (const auto& m : ms)
            if (m.name == name) return m.value;
        ADD_FAILURE() << name;
        return -1.0;
    };
    EXPECT_DOUBLE_EQ(value("touch_first_cycles_per_page"), 50000);
    EXPECT_DOUBLE_EQ(value("touch_first_ns_per_page"), 25000);
    EXPECT_DOUBLE_EQ(value("touch_again_cycles_per_page"), 20);
    EXPECT_DOUBLE_EQ(value("touch_read_ns_per_page"), 1500);
    EXPECT_DOUBLE_EQ(value("touch_cpu_ns"), 1000000);
    EXPECT_TRUE(touch_metrics(o, 2000000, Report{}).empty());
}

TEST(Touch, CommandLine) {
    std::vector<const char*> a{"vbh-vmm", "--protected", "--touch-pages", "1024",
                               "--touch-cpu-iters", "5"};
    auto p = parse_args(static_cast<int>(a.size()), a.data());
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->touch_pages, 1024u);
    EXPECT_EQ(p.options->touch_cpu_iters, 5u);
    a = {"vbh-vmm"};
    p = parse_args(static_cast<int>(a.size()), a.data());
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->touch_pages, 0u);  // no touch stage unless asked
    // The scenario's window ends at the secret stage's sync point (docs/vmm.md).
    a = {"vbh-vmm", "--unprotected", "--ready-file", "/tmp/r", "--hold-file", "/tmp/go"};
    p = parse_args(static_cast<int>(a.size()), a.data());
    ASSERT_TRUE(p.options);
    EXPECT_EQ(p.options->ready_file, "/tmp/r");
    a = {"vbh-vmm", "--ready-file", "/tmp/r"};  // no sync point without the secret stage
    p = parse_args(static_cast<int>(a.size()), a.data());
    EXPECT_FALSE(p.options);
    EXPECT_EQ(p.exit_code, 2);
    a = {"vbh-vmm", "--touch-pages", "65537"};
    p = parse_args(static_cast<int>(a.size()), a.data());
    EXPECT_FALSE(p.options);
    EXPECT_EQ(p.exit_code, 2);
}

} // namespace
} // namespace vmm
