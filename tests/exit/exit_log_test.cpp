// EventLog ring: sequence numbers, overwrite of the oldest entries, page-size limits.
#include <vbh/exit_log.hpp>

#include <gtest/gtest.h>

namespace vbh {
namespace {

TEST(EventLog, OverwritesOldestAndReportsLoss) {
    static EventLog log;
    const std::uint64_t total = VBH_LOG_RING_ENTRIES + 10;
    for (std::uint64_t i = 0; i < total; ++i)
        log.record(VBH_LOG_NPF, 0, i << 12, i, 0);
    EXPECT_EQ(log.next_seq(), total);
    static vbh_log_page page;
    const auto c = log.read(0, page);
    EXPECT_EQ(c.count, VBH_LOG_PAGE_ENTRIES);
    EXPECT_EQ(c.first, 10u);
    EXPECT_EQ(page.lost, 10u);
    EXPECT_EQ(page.entries[0].seq, 10u);
    EXPECT_EQ(page.entries[0].addr, 10u << 12);
    EXPECT_EQ(page.entries[VBH_LOG_PAGE_ENTRIES - 1].seq, 10u + VBH_LOG_PAGE_ENTRIES - 1);
}

TEST(EventLog, ReadFromTheEndIsEmpty) {
    static EventLog log;
    log.record(VBH_LOG_SEAL, 1, 0, 0, 0);
    static vbh_log_page page;
    const auto c = log.read(1, page);
    EXPECT_EQ(c.count, 0u);
    EXPECT_EQ(page.next_seq, 1u);
    EXPECT_EQ(page.lost, 0u);
}

} // namespace
} // namespace vbh
