// Hosted tests of the exit-cycles parser (sysfs text -> vbh_exit_cycles), its quantile
// buckets and its table / JSON.
#include "cycles.hpp"

#include "json_check.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace vbhctl;

namespace {

// The loader's format (docs/loader.md): CPU 0 with two kinds, CPU 1 did not answer.
constexpr const char* sample =
    "cpu=0 kind=hypercall count=10 cycles=250000 max=90000 hist=13:2,14:7,16:1\n"
    "cpu=0 kind=npf count=3 cycles=3000 max=1500 hist=9:2,10:1 future=1\n"
    "cpu=1 unavailable: no hypervisor on this CPU\n";

} // namespace

TEST(VbhctlCycles, ParsesEveryField) {
    auto v = parse_cycles(sample);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->rows.size(), 2u);
    const auto& hc = v->rows[0];
    EXPECT_EQ(hc.cpu, 0u);
    EXPECT_EQ(hc.kind, unsigned(VBH_EXIT_HYPERCALL));
    EXPECT_EQ(hc.c.count, 10u);
    EXPECT_EQ(hc.c.sum, 250000u);
    EXPECT_EQ(hc.c.max, 90000u);
    EXPECT_EQ(hc.c.hist[14], 7u);
    EXPECT_EQ(hc.c.hist[15], 0u);
    EXPECT_EQ(v->rows[1].kind, unsigned(VBH_EXIT_NPF));
    ASSERT_EQ(v->notes.size(), 1u);
    EXPECT_EQ(v->notes[0], "cpu=1 unavailable: no hypervisor on this CPU");
}

TEST(VbhctlCycles, RejectsMalformedLines) {
    std::string bad;
    EXPECT_FALSE(parse_cycles("cpu=0 kind=npf count=1 cycles=1 max=1 hist=0:1\ncpu=0 kind=npf\n",
                              &bad));
    EXPECT_EQ(bad, "cpu=0 kind=npf");
    EXPECT_FALSE(parse_cycles_line("cpu=0 kind=teleport count=1 cycles=1 max=1 hist=0:1"));
    EXPECT_FALSE(parse_cycles_line("cpu=0 kind=npf count=1 cycles=1 max=1 hist=32:1"));
    EXPECT_FALSE(parse_cycles_line("cpu=0 kind=npf count=1 cycles=1 max=1 hist=3:1,3:1"));
    EXPECT_FALSE(parse_cycles_line("cpu=0 kind=npf count=1 cycles=1 max=1 hist=3-1"));
    EXPECT_FALSE(parse_cycles_line("cpu=0 kind=npf count=x cycles=1 max=1 hist=3:1"));
    EXPECT_TRUE(parse_cycles_line("cpu=0 kind=npf count=1 cycles=1 max=1 hist=3:1"));
}

TEST(VbhctlCycles, QuantileBucketsFollowTheRanks) {
    vbh_exit_cycles c{};
    EXPECT_EQ(bucket_quantile(c, 0.5), 0u); // no exits
    c.hist[13] = 2;
    c.hist[14] = 7;
    c.hist[16] = 1;
    EXPECT_EQ(bucket_quantile(c, 0.2), 13u);  // rank 2 of 10
    EXPECT_EQ(bucket_quantile(c, 0.21), 14u); // rank 3
    EXPECT_EQ(bucket_quantile(c, 0.5), 14u);
    EXPECT_EQ(bucket_quantile(c, 0.9), 14u);
    EXPECT_EQ(bucket_quantile(c, 0.99), 16u);
}

TEST(VbhctlCycles, TableShowsMeanAndBucketRanges) {
    auto v = parse_cycles(sample);
    ASSERT_TRUE(v);
    auto t = format_cycles_table(*v);
    EXPECT_NE(t.find("hypercall"), std::string::npos) << t;
    EXPECT_NE(t.find("25000"), std::string::npos) << t;       // mean of the hypercalls
    EXPECT_NE(t.find("16384-32767"), std::string::npos) << t; // their median bucket
    EXPECT_NE(t.find("65536-131071"), std::string::npos) << t; // their p99 bucket
    EXPECT_NE(t.find("cpu=1 unavailable"), std::string::npos) << t;
    EXPECT_NE(format_cycles_table(CyclesView{}).find("no timed exits yet"), std::string::npos);
}

TEST(VbhctlCycles, JsonIsValidAndCarriesTheNumbers) {
    auto v = parse_cycles(sample);
    ASSERT_TRUE(v);
    auto json = format_cycles_json(*v);
    EXPECT_TRUE(python_accepts(
        json, R"(e = d["exits"]; assert e[0]["kind"] == "hypercall" and e[0]["mean"] == 25000; )"
              R"(assert e[0]["hist"] == {"13": 2, "14": 7, "16": 1} and e[0]["p99_bucket"] == 16; )"
              R"(assert e[1]["max"] == 1500 and len(d["unavailable"]) == 1)"))
        << json;
    EXPECT_FALSE(python_accepts(json, R"(assert d["exits"][1]["max"] == 1501)"));
    auto gone = parse_cycles("unavailable: hypervisor not launched\n");
    ASSERT_TRUE(gone);
    EXPECT_TRUE(python_accepts(format_cycles_json(*gone),
                               R"(assert d["unavailable"] == "hypervisor not launched")"));
}
