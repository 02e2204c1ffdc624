// Hosted tests of the log parser and the follower that polls it by sequence number.
#include "json.hpp"
#include "logview.hpp"

#include <gtest/gtest.h>

using namespace vbhctl;

namespace {

std::string page(std::uint64_t next, std::uint64_t first, std::uint64_t last) {
    std::string t = "next_seq=" + std::to_string(next) + " lost=0 count=" +
                    std::to_string(last >= first ? last - first + 1 : 0) + "\n";
    for (auto s = first; s <= last && last >= first; ++s)
        t += "seq=" + std::to_string(s) + " cpu=1 kind=npf addr=0x1000 rip=0 info=0x7\n";
    return t;
}

std::vector<std::uint64_t> seqs(const std::vector<vbh_log_entry>& es) {
    std::vector<std::uint64_t> out;
    for (const auto& e : es)
        out.push_back(e.seq);
    return out;
}

LogView view(const std::string& text) {
    auto v = parse_log(text);
    EXPECT_TRUE(v) << text;
    return v ? *v : LogView{};
}

} // namespace

TEST(VbhctlLog, ParsesTheLoaderFormat) {
    auto v = parse_log("next_seq=12 lost=2 count=2\n"
                       "seq=10 cpu=0 kind=launch addr=0 rip=0xffffffff81000000 info=0x3\n"
                       "seq=11 cpu=1 kind=msr_denied addr=0xc0000080 rip=0x10 info=0\n");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->next_seq, 12u);
    EXPECT_EQ(v->lost, 2u);
    ASSERT_EQ(v->entries.size(), 2u);
    EXPECT_EQ(v->entries[0].kind, static_cast<std::uint32_t>(VBH_LOG_LAUNCH));
    EXPECT_EQ(v->entries[0].rip, 0xffffffff81000000ull);
    EXPECT_EQ(v->entries[1].addr, 0xc0000080u);
    EXPECT_EQ(v->entries[1].cpu, 1u);
    EXPECT_EQ(format_log_entry(v->entries[1]),
              "seq=11 cpu=1 kind=msr_denied addr=0xc0000080 rip=0x10 info=0x0");
}

// A flood moves the ring on; the totals and first entries of each kind stay.
TEST(VbhctlLog, ParsesTotalsAndFirstEntries) {
    auto v = view("next_seq=300 lost=0 count=1\n"
                  "seq=299 cpu=0 kind=msr_denied addr=0xc0010010 rip=0x10 info=0\n"
                  "total kind=launch count=2\n"
                  "first seq=0 cpu=0 kind=launch addr=0 rip=0x20 info=0\n"
                  "first seq=1 cpu=1 kind=launch addr=0 rip=0x20 info=0x1\n"
                  "total kind=msr_denied count=297\n"
                  "first seq=2 cpu=0 kind=msr_denied addr=0xc0010010 rip=0x10 info=0x5\n");
    ASSERT_EQ(v.entries.size(), 1u);
    ASSERT_EQ(v.totals.size(), 2u);
    EXPECT_EQ(v.totals[1].kind, static_cast<std::uint32_t>(VBH_LOG_MSR_DENIED));
    EXPECT_EQ(v.totals[1].count, 297u);
    ASSERT_EQ(v.firsts.size(), 3u);
    EXPECT_EQ(v.firsts[2].seq, 2u);
    EXPECT_EQ(v.firsts[2].info, 5u);
    EXPECT_TRUE(view("next_seq=0 lost=0 count=0\nsummary unavailable: x\n").totals.empty());
}

TEST(VbhctlLog, RejectsJunk) {
    std::string bad;
    EXPECT_FALSE(parse_log("count=2\n", &bad));
    EXPECT_EQ(bad, "count=2");
    EXPECT_FALSE(parse_log("next_seq=2\nseq=1 cpu=x\n"));
    EXPECT_FALSE(parse_log("next_seq=2\ncpu=1 kind=npf\n"));           // no seq
    EXPECT_FALSE(parse_log("next_seq=3\nseq=1 kind=npf\nseq=1 kind=npf\n")); // not increasing
    auto off = parse_log("unavailable: hypervisor not launched\n");
    ASSERT_TRUE(off);
    EXPECT_EQ(off->unavailable, "hypervisor not launched");
}

TEST(VbhctlLog, UnknownKindsAreNamedUnknown) {
    EXPECT_EQ(log_kind("npf"), static_cast<std::uint32_t>(VBH_LOG_NPF));
    EXPECT_EQ(log_kind("shutdown"), static_cast<std::uint32_t>(VBH_LOG_SHUTDOWN));
    EXPECT_EQ(log_kind("frobnicate"), 0u);
    EXPECT_STREQ(log_kind_name(0), "unknown");
    EXPECT_STREQ(log_kind_name(99), "unknown");
}

TEST(VbhctlLog, FollowerHandsOutEachEntryOnce) {
    LogFollower f;
    EXPECT_EQ(seqs(f.take(view(page(5, 2, 4)))), (std::vector<std::uint64_t>{2, 3, 4}));
    EXPECT_TRUE(f.take(view(page(5, 2, 4))).empty()); // nothing new
    EXPECT_EQ(seqs(f.take(view(page(7, 3, 6)))), (std::vector<std::uint64_t>{5, 6}));
    EXPECT_EQ(f.lost(), 0u);
    EXPECT_EQ(f.want(), 7u);
}

TEST(VbhctlLog, FollowerCountsOverwrittenEntries) {
    LogFollower f;
    EXPECT_TRUE(f.take(view(page(3, 1, 0))).empty()); // empty ring: start at next_seq 3
    EXPECT_EQ(seqs(f.take(view(page(60, 20, 59)))).front(), 20u);
    EXPECT_EQ(f.lost(), 17u); // 3..19 scrolled away between polls
    EXPECT_TRUE(f.take(view(page(70, 5, 0))).empty());
    EXPECT_EQ(f.lost(), 27u); // next_seq moved on with nothing shown: 60..69 lost
    EXPECT_EQ(f.want(), 70u);
}

TEST(VbhctlLog, FollowerFromASequenceNumber) {
    LogFollower f(3);
    EXPECT_EQ(seqs(f.take(view(page(5, 0, 4)))), (std::vector<std::uint64_t>{3, 4}));
    LogFollower ahead(100);
    EXPECT_TRUE(ahead.take(view(page(5, 0, 4))).empty());
    EXPECT_EQ(ahead.lost(), 0u);
    EXPECT_EQ(ahead.want(), 100u);
}

TEST(VbhctlLog, IoctlPageBecomesAViewAndAFollowerDrainsIt) {
    vbh_log_page p{};
    p.next_seq = 250;
    p.lost = 2;
    p.count = VBH_LOG_PAGE_ENTRIES;
    for (std::uint32_t i = 0; i < p.count; ++i)
        p.entries[i] = vbh_log_entry{12 + i, 0, 0, 0, VBH_LOG_NPF, 0};
    auto v = log_view(p);
    EXPECT_EQ(v.next_seq, 250u);
    EXPECT_EQ(v.lost, 2u);
    ASSERT_EQ(v.entries.size(), VBH_LOG_PAGE_ENTRIES);
    LogFollower f(10);
    EXPECT_EQ(f.take(v).size(), VBH_LOG_PAGE_ENTRIES);
    EXPECT_EQ(f.lost(), 2u);   // 10 and 11 were overwritten
    EXPECT_EQ(f.want(), 112u); // the next page starts after the last one shown
    p.count = 1000;            // a count beyond the page is not trusted
    EXPECT_EQ(log_view(p).entries.size(), VBH_LOG_PAGE_ENTRIES);
}

TEST(VbhctlJson, Escapes) {
    EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\u000a\\u0001\"");
}
