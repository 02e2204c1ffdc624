// The bounded cross-CPU flush wait (vbh/flush_wait.hpp): which CPUs are waited for,
// kicks re-sent to silent CPUs, a CPU that stays deaf in guest mode never skipped.
#include <vbh/flush_wait.hpp>

#include <gtest/gtest.h>

#include <array>
#include <functional>

namespace vbh {
namespace {

struct Cpu {
    bool in_guest = false;
    std::uint64_t seen = 0;
    bool writing = false;
    bool init = false;
    int answer_after_kicks = -1; // flush after this many kicks; -1: never
    int kicks = 0;
    bool apic_takes = true;
};

struct FakeFlush {
    std::array<Cpu, 4> cpu{};
    std::uint32_t self = 0;
    std::uint64_t gen = 1;
    std::uint64_t clock = 0;
    int stalls = 0;
    std::function<void(FakeFlush&)> on_relax;

    std::uint32_t nr_cpus() const { return 4; }
    bool is_self(std::uint32_t i) const { return i == self; }
    bool in_guest(std::uint32_t i) const { return cpu[i].in_guest; }
    std::uint64_t seen_gen(std::uint32_t i) const { return cpu[i].seen; }
    bool host_writing(std::uint32_t i) const { return cpu[i].writing; }
    bool left_by_init(std::uint32_t i) const { return cpu[i].init; }
    bool kick(std::uint32_t i) {
        Cpu& c = cpu[i];
        if (!c.apic_takes)
            return false;
        if (++c.kicks == c.answer_after_kicks)
            c.seen = gen; // takes the NMI exit, flushes, re-enters
        return true;
    }
    std::uint64_t now() { return clock += 1000; }
    void relax() {
        if (on_relax)
            on_relax(*this);
    }
    void stalled(std::uint32_t) { ++stalls; }
};
static_assert(FlushEnv<FakeFlush>);

constexpr FlushTiming fast{10'000, 5}; // 10 polls a round, stall logged after 5 rounds

TEST(FlushWait, CpusInTheHypervisorAreNotKicked) {
    FakeFlush f;
    f.cpu[1].in_guest = false; // in the hypervisor: flushes at its next entry
    f.cpu[2].in_guest = true;
    f.cpu[2].seen = 1;         // already flushed for this generation
    EXPECT_EQ(flush_wait(f, 1, fast), 0u);
    EXPECT_EQ(f.cpu[1].kicks + f.cpu[2].kicks + f.cpu[3].kicks, 0);
}

TEST(FlushWait, OneKickWhenTheCpuAnswers) {
    FakeFlush f;
    f.cpu[3].in_guest = true;
    f.cpu[3].answer_after_kicks = 1;
    EXPECT_EQ(flush_wait(f, 1, fast), 1u);
    EXPECT_EQ(f.cpu[0].kicks, 0); // never itself
}

TEST(FlushWait, LostKickIsSentAgainNextRound) {
    FakeFlush f;
    f.cpu[1].in_guest = true;
    f.cpu[1].answer_after_kicks = 3; // two NMIs merged with ones being handled
    EXPECT_EQ(flush_wait(f, 1, fast), 3u);
    EXPECT_EQ(f.stalls, 0);
}

TEST(FlushWait, CpuResetByInitIsNotWaitedFor) {
    FakeFlush f;
    f.cpu[2].in_guest = true; // never came back to clear it: QEMU reset it
    f.cpu[2].init = true;
    f.cpu[2].answer_after_kicks = -1;
    EXPECT_EQ(flush_wait(f, 1, fast), 0u);
}

TEST(FlushWait, HostWritingIsWaitedForWithoutKicks) {
    FakeFlush f;
    f.cpu[1].writing = true;
    int polls = 0;
    f.on_relax = [&](FakeFlush& s) {
        if (++polls == 25)
            s.cpu[1].writing = false; // the copy into the host frame finished
    };
    EXPECT_EQ(flush_wait(f, 1, fast), 0u);
    EXPECT_GE(polls, 25);
}

TEST(FlushWait, DeafCpuInGuestIsNeverSkippedButLoggedOnce) {
    FakeFlush f;
    f.cpu[1].in_guest = true;
    f.cpu[1].apic_takes = false; // its APIC (or ours) will not take the NMI
    f.cpu[2].in_guest = true;
    f.cpu[2].answer_after_kicks = 1;
    int polls = 0;
    f.on_relax = [&](FakeFlush& s) {
        if (++polls == 200) // ~20 rounds later the host lets it answer
            s.cpu[1].in_guest = false;
    };
    EXPECT_EQ(flush_wait(f, 1, fast), 1u); // only CPU 2's kick went out
    EXPECT_EQ(f.stalls, 1);
    EXPECT_GE(polls, 200);
}

TEST(FlushWait, SilentCpuIsKickedEveryRound) {
    FakeFlush f;
    f.cpu[3].in_guest = true;
    f.cpu[3].answer_after_kicks = 30;
    EXPECT_EQ(flush_wait(f, 1, fast), 30u);
    EXPECT_EQ(f.stalls, 1); // silent past stall_rounds, logged once
}

} // namespace
} // namespace vbh
