// Time in the hypervisor per exit: bucketing, the clock that pairs an exit with the
// next VMRUN, and VBH_HC_CYCLES_READ's copy-out and refusals.
#include "fake_env.hpp"

#include <vbh/exit_cycles.hpp>

#include <gtest/gtest.h>

namespace vbh::test {
namespace {

TEST(CycleBucket, IsFloorLog2CappedAtTheLastBucket) {
    EXPECT_EQ(cycle_bucket(0), 0u);
    EXPECT_EQ(cycle_bucket(1), 0u);
    EXPECT_EQ(cycle_bucket(2), 1u);
    EXPECT_EQ(cycle_bucket(3), 1u);
    EXPECT_EQ(cycle_bucket(1023), 9u);
    EXPECT_EQ(cycle_bucket(1024), 10u);
    EXPECT_EQ(cycle_bucket((1ull << 27) + 5), 27u);
    EXPECT_EQ(cycle_bucket((1ull << 28) - 1), 27u);
    EXPECT_EQ(cycle_bucket(1ull << 28), 28u);
    EXPECT_EQ(cycle_bucket(1ull << 40), VBH_CYCLE_BUCKETS - 1);
    EXPECT_EQ(cycle_bucket(~0ull), VBH_CYCLE_BUCKETS - 1);
}

TEST(ExitClock, ChargesEachExitUpToTheNextEntry) {
    vbh_cpu_cycles c{};
    ExitClock clock; // the loop starts it after the launch's first VMRUN
    clock.exited(c, VBH_EXIT_HYPERCALL, 1000);
    clock.entered(1000 + 3000);
    clock.exited(c, VBH_EXIT_NPF, 9000);
    clock.entered(9000 + 40);
    clock.exited(c, VBH_EXIT_HYPERCALL, 20000);
    clock.entered(20000 + 5000);

    const vbh_exit_cycles& hc = c.kind[VBH_EXIT_HYPERCALL];
    EXPECT_EQ(hc.count, 2u);
    EXPECT_EQ(hc.sum, 8000u);
    EXPECT_EQ(hc.max, 5000u);
    EXPECT_EQ(hc.hist[11], 1u); // 3000: 2048 <= c < 4096
    EXPECT_EQ(hc.hist[12], 1u); // 5000
    const vbh_exit_cycles& npf = c.kind[VBH_EXIT_NPF];
    EXPECT_EQ(npf.count, 1u);
    EXPECT_EQ(npf.hist[5], 1u); // 40
    EXPECT_EQ(c.kind[VBH_EXIT_NMI].count, 0u);
}

TEST(ExitClock, ATscThatWentBackIsNotADuration) {
    vbh_cpu_cycles c{};
    ExitClock clock;
    clock.exited(c, VBH_EXIT_MSR_WRITE, 1'000'000);
    clock.entered(10); // the guest wrote the TSC (not intercepted)
    EXPECT_EQ(c.kind[VBH_EXIT_MSR_WRITE].count, 0u);
    clock.exited(c, VBH_EXIT_MSR_WRITE, 20);
    clock.entered(70);
    EXPECT_EQ(c.kind[VBH_EXIT_MSR_WRITE].count, 1u);
    EXPECT_EQ(c.kind[VBH_EXIT_MSR_WRITE].max, 50u);
}

TEST(ExitClock, AnExitLongerThanTheUncappedRangeLandsInTheLastBucket) {
    vbh_cpu_cycles c{};
    ExitClock clock;
    clock.exited(c, VBH_EXIT_NPF, 100);
    clock.entered(100 + uncapped_cycles - 1);
    clock.exited(c, VBH_EXIT_NPF, 0);
    clock.entered(uncapped_cycles);
    clock.exited(c, VBH_EXIT_NPF, 5);
    clock.entered(5 + (1ull << 40));
    const vbh_exit_cycles& k = c.kind[VBH_EXIT_NPF];
    EXPECT_EQ(k.count, 3u);
    EXPECT_EQ(k.max, 1ull << 40);
    EXPECT_EQ(k.hist[VBH_CYCLE_BUCKETS - 2], 1u);
    EXPECT_EQ(k.hist[VBH_CYCLE_BUCKETS - 1], 2u);
    EXPECT_EQ(k.sum, uncapped_cycles - 1 + uncapped_cycles + (1ull << 40));
}

TEST(ExitClock, AnUnknownKindCountsAsOther) {
    vbh_cpu_cycles c{};
    record_exit_cycles(c, 200, 7);
    EXPECT_EQ(c.kind[VBH_EXIT_OTHER].count, 1u);
    EXPECT_EQ(c.kind[VBH_EXIT_OTHER].hist[2], 1u);
}

struct CyclesReadTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();

    void read(std::uint64_t cpu, std::uint64_t pfn) {
        v.set_reg(Gpr::rax, VBH_HC_CYCLES_READ);
        v.set_reg(Gpr::rdi, cpu);
        v.set_reg(Gpr::rsi, pfn);
        ASSERT_EQ(dispatch_exit(v, vmmcall(), env), ExitAction::resume);
    }
};

TEST_F(CyclesReadTest, CopiesOneCpuIntoAHostFrame) {
    env.cpu_cycles[1].version = VBH_CYCLES_VERSION;
    env.cpu_cycles[1].cpu = 1;
    record_exit_cycles(env.cpu_cycles[1], VBH_EXIT_NPF, 12345);
    read(1, 2);
    ASSERT_EQ(v.reg(Gpr::rax), VBH_OK);
    EXPECT_EQ(v.reg(Gpr::rdi), FakeEnv::cpus);
    EXPECT_EQ(v.reg(Gpr::rsi), sizeof(vbh_cpu_cycles));
    vbh_cpu_cycles out;
    std::memcpy(&out, env.ram[2].data(), sizeof out);
    EXPECT_EQ(out.cpu, 1u);
    EXPECT_EQ(out.kind[VBH_EXIT_NPF].max, 12345u);
    EXPECT_EQ(out.kind[VBH_EXIT_NPF].hist[13], 1u);
    EXPECT_EQ(env.core_calls, 0);
}

TEST_F(CyclesReadTest, RefusesBadCpuNonHostFramesAndRing3WritingNothing) {
    std::memset(env.ram[3].data(), 0xaa, 4096);
    read(FakeEnv::cpus, 3);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_RANGE);
    env.blocked_pfns.insert(3);
    read(0, 3);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_STATE);
    read(0, 100);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_RANGE);
    env.blocked_pfns.clear();
    v.cpl = 3;
    read(0, 3);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_DENIED);
    EXPECT_EQ(env.ram[3][0], 0xaa);
    EXPECT_EQ(env.ram[3][4095], 0xaa);
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

} // namespace
} // namespace vbh::test
