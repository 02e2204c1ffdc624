// MSR emulation through the dispatcher: EFER keeps SVME, VM_CR reports SVMDIS|LOCK,
// VM_HSAVE_PA is a shadow, everything else #GPs; RIP moves by the instruction length.
#include "fake_env.hpp"

#include <gtest/gtest.h>

namespace vbh::test {
namespace {

struct MsrTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();

    ExitAction wrmsr(std::uint32_t msr, std::uint64_t value) {
        v.set_reg(Gpr::rcx, msr);
        v.set_reg(Gpr::rax, std::uint32_t(value));
        v.set_reg(Gpr::rdx, value >> 32);
        return dispatch_exit(v, Exit{ExitReason::msr_write, 2, 0x7c, 1, 0}, env);
    }
    ExitAction rdmsr(std::uint32_t msr) {
        v.set_reg(Gpr::rcx, msr);
        v.set_reg(Gpr::rax, 0xdead);
        v.set_reg(Gpr::rdx, 0xbeef);
        return dispatch_exit(v, Exit{ExitReason::msr_read, 2, 0x7c, 0, 0}, env);
    }
};

TEST_F(MsrTest, EferWriteClearingSvmeKeepsSvme) {
    const auto rip = v.rip;
    EXPECT_EQ(wrmsr(msr_efer, v.efer & ~efer_svme & ~efer_nxe), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_NE(v.efer & efer_svme, 0u);
    EXPECT_EQ(v.efer & efer_nxe, 0u); // the rest of the write took effect
    EXPECT_EQ(v.rip, rip + 2);
}

TEST_F(MsrTest, EferReservedBitsOrLmeChangeGetGp) {
    const auto before = v.efer;
    const auto rip = v.rip;
    EXPECT_EQ(wrmsr(msr_efer, before | (1ull << 40)), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_EQ(v.efer, before);
    EXPECT_EQ(v.rip, rip);
    v.inject = {};
    EXPECT_EQ(wrmsr(msr_efer, before & ~efer_lme), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_EQ(v.efer, before);
}

TEST_F(MsrTest, EferLmaIsReadOnly) {
    EXPECT_EQ(wrmsr(msr_efer, v.efer & ~efer_lma), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_NE(v.efer & efer_lma, 0u);
}

TEST_F(MsrTest, VmCrReadReportsSvmDisabledAndLocked) {
    const auto rip = v.rip;
    EXPECT_EQ(rdmsr(msr_vm_cr), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(v.reg(Gpr::rax), svm::vm_cr_svmdis | svm::vm_cr_lock);
    EXPECT_EQ(v.reg(Gpr::rdx), 0u);
    EXPECT_EQ(v.rip, rip + 2);
}

TEST_F(MsrTest, VmCrWriteGetsGp) {
    EXPECT_EQ(wrmsr(msr_vm_cr, 0), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
}

TEST_F(MsrTest, HsavePaReadsZeroAndWritesGetGp) {
    EXPECT_EQ(wrmsr(msr_vm_hsave_pa, 0x123000), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
    v.inject = {};
    const auto rip = v.rip;
    EXPECT_EQ(rdmsr(msr_vm_hsave_pa), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(v.reg(Gpr::rax), 0u);
    EXPECT_EQ(v.reg(Gpr::rdx), 0u);
    EXPECT_EQ(v.rip, rip + 2);
}

TEST_F(MsrTest, UnknownMsrGetsGpAndIsLogged) {
    const auto rip = v.rip;
    EXPECT_EQ(rdmsr(0x40000000), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_EQ(v.reg(Gpr::rax), 0xdeadu); // registers untouched
    EXPECT_EQ(v.rip, rip);
    vbh_log_page page{};
    ASSERT_EQ(env.event_log.read(0, page).count, 1u);
    EXPECT_EQ(page.entries[0].kind, unsigned(VBH_LOG_MSR_DENIED));
    EXPECT_EQ(page.entries[0].addr, 0x40000000u);
    EXPECT_EQ(env.cpu_stats[0].exits[VBH_EXIT_MSR_READ], 1u);
}

} // namespace
} // namespace vbh::test
