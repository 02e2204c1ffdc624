// Hosted tests of the stats parser (sysfs text -> vbh_cpu_stats) and its table / JSON.
#include "stats.hpp"

#include "json_check.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace vbhctl;

namespace {

// Two CPUs in the loader's format (docs/loader.md), a third that did not answer.
constexpr const char* sample =
    "cpu=0 launched=1 total_exits=120 exit_hypercall=100 exit_msr_read=3 exit_msr_write=4 "
    "exit_npf=5 exit_nmi=6 exit_virt_insn=1 exit_shutdown=0 exit_other=1 flushes=9 "
    "kicks_sent=2 kicks_taken=3 nmis_reflected=1 faults_reflected=5\n"
    "cpu=1 launched=1 total_exits=18446744073709551615 exit_hypercall=7 exit_msr_read=0 "
    "exit_msr_write=0 exit_npf=2 exit_nmi=0 exit_virt_insn=0 exit_shutdown=0 exit_other=0 "
    "flushes=1 kicks_sent=0 kicks_taken=0 nmis_reflected=0 faults_reflected=0 future=3\n"
    "cpu=2 unavailable: no hypervisor on this CPU\n";

} // namespace

TEST(VbhctlStats, ParsesEveryCounter) {
    auto v = parse_stats(sample);
    ASSERT_TRUE(v);
    ASSERT_EQ(v->cpus.size(), 3u);
    const auto& s = v->cpus[0].s;
    EXPECT_EQ(s.cpu, 0u);
    EXPECT_EQ(s.launched, 1u);
    EXPECT_EQ(s.total_exits, 120u);
    EXPECT_EQ(s.exits[VBH_EXIT_HYPERCALL], 100u);
    EXPECT_EQ(s.exits[VBH_EXIT_MSR_WRITE], 4u);
    EXPECT_EQ(s.exits[VBH_EXIT_OTHER], 1u);
    EXPECT_EQ(s.faults_reflected, 5u);
    EXPECT_EQ(v->cpus[1].s.total_exits, 0xffffffffffffffffull);
    EXPECT_EQ(v->cpus[2].s.cpu, 2u);
    EXPECT_EQ(v->cpus[2].unavailable, "no hypervisor on this CPU");
}

TEST(VbhctlStats, RejectsMalformedLines) {
    std::string bad;
    EXPECT_FALSE(parse_stats("cpu=0 launched=1\nlaunched=1 total_exits=3\n", &bad));
    EXPECT_EQ(bad, "launched=1 total_exits=3");
    EXPECT_FALSE(parse_stats_line("cpu=0 exit_npf=12x"));
    EXPECT_FALSE(parse_stats_line("cpu=0 exit_npf"));
    EXPECT_FALSE(parse_stats_line("cpu=4294967296"));
    EXPECT_FALSE(parse_stats_line("cpu=0 exit_npf=18446744073709551616"));
}

TEST(VbhctlStats, WholeFileUnavailable) {
    auto v = parse_stats("unavailable: hypervisor not launched\n");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->unavailable, "hypervisor not launched");
    EXPECT_EQ(format_stats_table(*v), "unavailable: hypervisor not launched\n");
    EXPECT_TRUE(python_accepts(format_stats_json(*v),
                               R"(assert d["unavailable"] == "hypervisor not launched")"));
}

TEST(VbhctlStats, TotalsSkipUnavailableCpus) {
    auto v = parse_stats(sample);
    ASSERT_TRUE(v);
    auto t = stats_total(*v);
    EXPECT_EQ(t.cpu, 2u); // CPUs counted
    EXPECT_EQ(t.exits[VBH_EXIT_HYPERCALL], 107u);
    EXPECT_EQ(t.exits[VBH_EXIT_NPF], 7u);
    EXPECT_EQ(t.flushes, 10u);
    EXPECT_EQ(t.total_exits, 119u); // wraps: 120 + 2^64 - 1
}

TEST(VbhctlStats, TableHasARowPerCpuAndTotals) {
    auto v = parse_stats(sample);
    ASSERT_TRUE(v);
    auto table = format_stats_table(*v);
    std::vector<std::string> lines;
    for (std::size_t at = 0, nl; (nl = table.find('\n', at)) != std::string::npos; at = nl + 1)
        lines.push_back(table.substr(at, nl - at));
    ASSERT_EQ(lines.size(), 5u) << table;
    EXPECT_EQ(lines[0].rfind("cpu  ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find("hypercall"), std::string::npos);
    EXPECT_NE(lines[0].find("faults_reflected"), std::string::npos);
    EXPECT_EQ(lines[1].rfind("0  ", 0), 0u);
    EXPECT_NE(lines[2].find("18446744073709551615"), std::string::npos);
    EXPECT_EQ(lines[3].rfind("total", 0), 0u);
    EXPECT_NE(lines[3].find(" 107 "), std::string::npos);
    EXPECT_EQ(lines[4], "cpu 2 unavailable: no hypervisor on this CPU");
    // Columns line up: every table row is as long as the header.
    EXPECT_EQ(lines[1].size(), lines[0].size());
    EXPECT_EQ(lines[3].size(), lines[0].size());
}

TEST(VbhctlStats, JsonIsValidAndCarriesTheNumbers) {
    auto v = parse_stats(sample);
    ASSERT_TRUE(v);
    auto json = format_stats_json(*v);
    EXPECT_TRUE(python_accepts(
        json, R"(assert d["cpus"][0]["exits"]["msr_write"] == 4; )"
              R"(assert d["cpus"][1]["total_exits"] == 2**64 - 1; )"
              R"(assert d["cpus"][2] == {"cpu": 2, "unavailable": "no hypervisor on this CPU"}; )"
              R"(assert d["total"]["exits"]["npf"] == 7 and d["total"]["cpus"] == 2)"))
        << json;
    EXPECT_FALSE(python_accepts(json, R"(assert d["total"]["exits"]["npf"] == 8)"));
}

TEST(VbhctlStats, JsonOfAnEmptyFile) {
    auto v = parse_stats("");
    ASSERT_TRUE(v);
    EXPECT_TRUE(python_accepts(format_stats_json(*v), R"(assert d["cpus"] == [])"));
}

// The nested-state gauges (docs/nested.md, "State and teardown") as the loader prints
// them, into the table and the JSON; their total is the sum over CPUs.
TEST(VbhctlStats, NestedGaugesAreParsedAndShown) {
    auto v = parse_stats(
        "cpu=0 launched=1 l2_state_drops=2 l2_asids=3 l2_shadow_pages=12 l2_vmcb12=1 "
        "l2_running=0 host_svme=1 host_hsave=1\n"
        "cpu=1 launched=1 l2_state_drops=1 l2_asids=0 l2_shadow_pages=0 l2_vmcb12=0 "
        "l2_running=0 host_svme=0 host_hsave=0\n");
    ASSERT_TRUE(v);
    const auto& s = v->cpus[0].s;
    EXPECT_EQ(s.l2_state_drops, 2u);
    EXPECT_EQ(s.l2_asids, 3u);
    EXPECT_EQ(s.l2_shadow_pages, 12u);
    EXPECT_EQ(s.l2_vmcb12, 1u);
    EXPECT_EQ(s.host_svme, 1u);
    EXPECT_EQ(s.host_hsave, 1u);
    EXPECT_EQ(stats_total(*v).l2_state_drops, 3u);
    EXPECT_NE(format_stats_table(*v).find("l2_shadow_pages"), std::string::npos);
    auto json = format_stats_json(*v);
    EXPECT_TRUE(python_accepts(json, R"(assert d["cpus"][0]["l2_asids"] == 3; )"
                                     R"(assert d["cpus"][1]["host_svme"] == 0; )"
                                     R"(assert d["total"]["l2_shadow_pages"] == 12)"))
        << json;
}
