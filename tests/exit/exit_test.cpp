// Dispatch of synthetic exits: hypercall privilege and results, NPF containment, NMI
// kicks, refused virtualization instructions, counters.
#include "fake_env.hpp"

#include <gtest/gtest.h>

namespace vbh::test {
namespace {

struct ExitTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();

    ExitAction call(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0) {
        v.set_reg(Gpr::rax, nr);
        v.set_reg(Gpr::rdi, a0);
        v.set_reg(Gpr::rsi, a1);
        return dispatch_exit(v, vmmcall(), env);
    }
};

// The null hypercall is answered on the exit path: no core lock, no decode.
TEST_F(ExitTest, VersionFromRing0IsAnsweredWithoutTheCoreAndAdvancesRipByThree) {
    const auto rip = v.rip;
    EXPECT_EQ(call(VBH_HC_VERSION), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_OK);
    EXPECT_EQ(v.reg(Gpr::rdi), VBH_ABI_VERSION);
    EXPECT_EQ(v.reg(Gpr::rsi), 0u);
    EXPECT_EQ(v.rip, rip + 3);
    EXPECT_EQ(env.core_calls, 0);
}

TEST_F(ExitTest, OwnershipCallsFromRing0GoToTheCore) {
    const auto rip = v.rip;
    EXPECT_EQ(call(VBH_HC_DOMAIN_CREATE), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_UNKNOWN_CALL); // the fake core knows only VERSION
    EXPECT_EQ(v.rip, rip + 3);
    EXPECT_EQ(env.core_calls, 1);
}

TEST_F(ExitTest, HypercallFromRing3IsDeniedWithoutReachingTheCore) {
    v.cpl = 3;
    v.set_reg(Gpr::rsi, 0x1234);
    const auto rip = v.rip;
    EXPECT_EQ(call(VBH_HC_DEVIRT, 0, 0x1234), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_DENIED);
    EXPECT_EQ(v.reg(Gpr::rsi), 0x1234u); // outputs untouched on error
    EXPECT_EQ(v.rip, rip + 3);
    EXPECT_EQ(env.core_calls, 0);
    v.cpl = 3;
    EXPECT_EQ(call(VBH_HC_VERSION), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_DENIED);
    EXPECT_EQ(env.core_calls, 0);
}

TEST_F(ExitTest, DevirtBeforeSealLeavesGuestModeAfterSealIsDenied) {
    EXPECT_EQ(call(VBH_HC_DEVIRT), ExitAction::devirt);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_OK);
    EXPECT_EQ(call(VBH_HC_LAUNCH_SEAL), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_OK);
    EXPECT_TRUE(env.is_sealed);
    EXPECT_EQ(call(VBH_HC_LAUNCH_SEAL), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_STATE);
    EXPECT_EQ(call(VBH_HC_DEVIRT), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_DENIED);
}

TEST_F(ExitTest, UnknownCallIsReportedByTheCore) {
    EXPECT_EQ(call(0x9999), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_UNKNOWN_CALL);
}

TEST_F(ExitTest, BlockedAccessIsLoggedAndReflectedAsGp) {
    env.blocked_pfns.insert(5);
    const auto rip = v.rip;
    const Exit npf{ExitReason::npf, 0, 0x400, 0x100000004ull, 0x5123};
    EXPECT_EQ(dispatch_exit(v, npf, env), ExitAction::resume);
    EXPECT_EQ(v.rip, rip); // the faulting instruction is not skipped
    EXPECT_EQ(v.inject.type, Event::Type::exception);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_TRUE(v.inject.has_error);
    EXPECT_EQ(v.inject.error, 0u);
    vbh_log_page page{};
    const auto c = env.event_log.read(0, page);
    ASSERT_EQ(c.count, 1u);
    EXPECT_EQ(page.entries[0].kind, unsigned(VBH_LOG_NPF));
    EXPECT_EQ(page.entries[0].addr, 0x5123u);
    EXPECT_EQ(page.entries[0].rip, rip);
    EXPECT_EQ(page.entries[0].info, 0x100000004ull);
    EXPECT_EQ(env.cpu_stats[0].faults_reflected, 1u);
    EXPECT_EQ(env.cpu_stats[0].exits[VBH_EXIT_NPF], 1u);
}

TEST_F(ExitTest, NpfOnAFrameMappedAgainIsRetriedSilently) {
    const Exit npf{ExitReason::npf, 0, 0x400, 0x100000004ull, 0x3000};
    EXPECT_EQ(dispatch_exit(v, npf, env), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(env.event_log.next_seq(), 0u);
}

TEST_F(ExitTest, KickNmiIsSwallowedOtherNmiIsReinjected) {
    env.kicks.insert(0);
    const Exit nmi{ExitReason::nmi, 0, 0x61, 0, 0};
    EXPECT_EQ(dispatch_exit(v, nmi, env), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(dispatch_exit(v, nmi, env), ExitAction::resume);
    EXPECT_EQ(v.inject.type, Event::Type::nmi);
    EXPECT_EQ(env.cpu_stats[0].kicks_taken, 1u);
    EXPECT_EQ(env.cpu_stats[0].nmis_reflected, 1u);
    EXPECT_EQ(env.cpu_stats[0].exits[VBH_EXIT_NMI], 2u);
}

TEST_F(ExitTest, VmrunGetsUd) { // the host's SVM: exit_host_svm_test.cpp
    const auto rip = v.rip;
    const Exit vmrun{ExitReason::virt_insn, 3, 0x80, 0, 0};
    EXPECT_EQ(dispatch_exit(v, vmrun, env), ExitAction::resume);
    EXPECT_EQ(v.inject.type, Event::Type::exception);
    EXPECT_EQ(v.inject.vector, 6);
    EXPECT_EQ(v.rip, rip);
}

TEST_F(ExitTest, ShutdownAndUnknownExitsAreFatal) {
    EXPECT_EQ(dispatch_exit(v, Exit{ExitReason::shutdown, 0, 0x7f, 0, 0}, env), ExitAction::fatal);
    EXPECT_EQ(dispatch_exit(v, Exit{ExitReason::other, 0, 0x1234, 0, 0}, env), ExitAction::fatal);
    EXPECT_EQ(env.cpu_stats[0].exits[VBH_EXIT_OTHER], 1u);
}

TEST_F(ExitTest, StatsReadCopiesOneCpuIntoAHostFrame) {
    env.cpu_stats[1].flushes = 77;
    env.cpu_stats[1].cpu = 1;
    env.cpu_stats[1].exits[VBH_EXIT_HYPERCALL] = 5;
    env.cpu_stats[1].exits[VBH_EXIT_NPF] = 2;
    EXPECT_EQ(call(VBH_HC_STATS_READ, 1, 2), ExitAction::resume);
    ASSERT_EQ(v.reg(Gpr::rax), VBH_OK);
    EXPECT_EQ(v.reg(Gpr::rdi), FakeEnv::cpus);
    EXPECT_EQ(v.reg(Gpr::rsi), sizeof(vbh_cpu_stats));
    vbh_cpu_stats out;
    std::memcpy(&out, env.ram[2].data(), sizeof out);
    EXPECT_EQ(out.flushes, 77u);
    EXPECT_EQ(out.cpu, 1u);
    EXPECT_EQ(out.total_exits, 7u); // the sum of the per-kind counts, made at the read
}

TEST_F(ExitTest, StatsReadRefusesBadCpuAndNonHostFrames) {
    EXPECT_EQ(call(VBH_HC_STATS_READ, 2, 2), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_RANGE);
    env.blocked_pfns.insert(3);
    std::memset(env.ram[3].data(), 0xaa, 4096);
    EXPECT_EQ(call(VBH_HC_STATS_READ, 0, 3), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_STATE);
    EXPECT_EQ(env.ram[3][0], 0xaa); // confused deputy: nothing written
    EXPECT_EQ(call(VBH_HC_STATS_READ, 0, 100), ExitAction::resume);
    EXPECT_EQ(v.reg(Gpr::rax), VBH_E_RANGE);
    // Every output-frame lookup is closed, failed or not (the flush waits on it).
    EXPECT_EQ(env.frames_asked, 3);
    EXPECT_EQ(env.frames_done, 3);
}

TEST_F(ExitTest, LogReadReturnsEntriesAndTheNextSequence) {
    env.event_log.record(VBH_LOG_LAUNCH, 0, 0, 1, 0);
    env.event_log.record(VBH_LOG_LAUNCH, 1, 0, 2, 1);
    EXPECT_EQ(call(VBH_HC_LOG_READ, 4, 1), ExitAction::resume);
    ASSERT_EQ(v.reg(Gpr::rax), VBH_OK);
    EXPECT_EQ(v.reg(Gpr::rdi), 1u);
    EXPECT_EQ(v.reg(Gpr::rsi), 2u);
    vbh_log_page page;
    std::memcpy(&page, env.ram[4].data(), sizeof page);
    EXPECT_EQ(page.count, 1u);
    EXPECT_EQ(page.entries[0].cpu, 1u);
    EXPECT_EQ(page.entries[0].seq, 1u);
}

} // namespace
} // namespace vbh::test
