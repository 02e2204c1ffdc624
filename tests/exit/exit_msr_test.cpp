// MSR emulation through the dispatcher: EFER keeps SVME and takes only the bits CPUID
// reports, APIC_BASE takes only its own value, DEBUGCTL only BTF, PerfEvtSel is forced
// GuestOnly, everything else #GPs; RIP moves by the instruction length. INVD runs as
// WBINVD. The host's SVM registers (its EFER.SVME, VM_CR, VM_HSAVE_PA):
// exit_host_svm_test.cpp.
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

// A write the CPU does not support must #GP, never reach the VMCB: VMRUN would fail
// its EFER checks (QEMU TCG: TCE and LMSLE are MBZ) and kill the hypervisor.
TEST_F(MsrTest, EferBitsCpuidDoesNotReportGetGp) {
    const auto before = v.efer;
    for (std::uint64_t bit : {efer_tce, efer_lmsle, efer_autoibrs, std::uint64_t(1) << 9}) {
        v.inject = {};
        EXPECT_EQ(wrmsr(msr_efer, before | bit), ExitAction::resume);
        EXPECT_EQ(v.inject.vector, 13) << std::hex << bit;
        EXPECT_EQ(v.efer, before);
    }
    env.msr_caps.efer_writable |= efer_tce;
    v.inject = {};
    EXPECT_EQ(wrmsr(msr_efer, before | efer_tce), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(v.efer, before | efer_tce);
}

TEST(EferCaps, FromCpuid) {
    // EPYC under QEMU: SYSCALL(11), NX(20), FFXSR(25), LM(29); no TCE, no leaf 21h.
    const std::uint32_t edx = (1u << 11) | (1u << 20) | (1u << 25) | (1u << 29);
    EXPECT_EQ(svm::efer_writable_from_cpuid(0x8000001f, 0, edx, 1u << 8),
              efer_sce | efer_lme | efer_lma | efer_nxe | efer_ffxsr | efer_svme);
    EXPECT_EQ(svm::efer_writable_from_cpuid(0x80000021, 1u << 17, 0, 1u << 8),
              efer_svme | efer_tce | efer_autoibrs);
    EXPECT_EQ(svm::efer_writable_from_cpuid(0x80000021, ~0u, ~0u, ~0u) & efer_lmsle, 0u);
}

// Each refused class: the write #GPs, is logged with the MSR and value, and nothing
// reaches the CPU.
TEST_F(MsrTest, MemoryTypeRoutingAndSmmWritesAreRefused) {
    const std::uint32_t refused[] = {msr_syscfg, msr_top_mem, msr_top_mem2, msr_iorr_base0,
                                     msr_hwcr, msr_smm_addr, msr_smm_mask, msr_smm_base,
                                     msr_smm_ctl, msr_mtrr_def_type, msr_mtrr_var_first,
                                     msr_mtrr_fix_first, msr_patch_loader, msr_tsc,
                                     msr_mmio_cfg_base, 0xc0011020, 0x3a};
    const auto rip = v.rip;
    for (std::uint32_t msr : refused) {
        v.inject = {};
        EXPECT_EQ(wrmsr(msr, 0x1234), ExitAction::resume);
        EXPECT_EQ(v.inject.vector, 13) << std::hex << msr;
        EXPECT_EQ(v.rip, rip);
    }
    EXPECT_TRUE(FakeMsrs::writes.empty());
    vbh_log_page page{};
    ASSERT_EQ(env.event_log.read(0, page).count, std::size(refused));
    EXPECT_EQ(page.entries[0].kind, unsigned(VBH_LOG_MSR_DENIED));
    EXPECT_EQ(page.entries[0].addr, msr_syscfg);
    EXPECT_EQ(page.entries[0].info, 0x1234u);
}

TEST_F(MsrTest, ApicBaseTakesOnlyItsOwnValue) {
    FakeMsrs::regs[msr_apic_base] = 0xfee00900; // BSP, enabled
    EXPECT_EQ(wrmsr(msr_apic_base, 0xfee00900), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    for (std::uint64_t bad : {0xfed00900ull, 0xfee00d00ull /* x2APIC */, 0xfee00100ull}) {
        v.inject = {};
        EXPECT_EQ(wrmsr(msr_apic_base, bad), ExitAction::resume);
        EXPECT_EQ(v.inject.vector, 13) << std::hex << bad;
    }
    EXPECT_TRUE(FakeMsrs::writes.empty()); // a same-value write changes nothing
}

TEST_F(MsrTest, DebugCtlOnlyBtf) {
    EXPECT_EQ(wrmsr(msr_debugctl, svm::debugctl_btf), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(wrmsr(msr_debugctl, 1), ExitAction::resume); // LBR
    EXPECT_EQ(v.inject.vector, 13);
    ASSERT_EQ(FakeMsrs::writes.size(), 1u);
    EXPECT_EQ(FakeMsrs::writes[0].second, svm::debugctl_btf);
}

TEST_F(MsrTest, PerfCountersNeverCountTheHypervisor) {
    const std::uint64_t host_only_any_mode = svm::perf_ctl_host_only | (1u << 22) | 0x76;
    EXPECT_EQ(wrmsr(msr_perf_ctl0 + 1, host_only_any_mode), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    ASSERT_EQ(FakeMsrs::writes.size(), 1u);
    EXPECT_EQ(FakeMsrs::writes[0].first, msr_perf_ctl0 + 1);
    EXPECT_EQ(FakeMsrs::writes[0].second, svm::perf_ctl_guest_only | (1u << 22) | 0x76);
    EXPECT_EQ(wrmsr(msr_perf_ctl0, 1ull << 50), ExitAction::resume); // reserved bit
    EXPECT_EQ(v.inject.vector, 13);
    v.inject = {};
    EXPECT_EQ(wrmsr(msr_perf_ext_first, 0x76), ExitAction::resume); // no PerfCtrExtCore
    EXPECT_EQ(v.inject.vector, 13);
    v.inject = {};
    env.msr_caps.perf_ext = true;
    EXPECT_EQ(wrmsr(msr_perf_ext_first + 1, 1ull << 48), ExitAction::resume); // CTR: 48 bits
    EXPECT_EQ(v.inject.vector, 13);
    v.inject = {};
    EXPECT_EQ(wrmsr(msr_perf_ext_first + 1, 5), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(FakeMsrs::writes.size(), 2u);
}

// Native rows never exit on target; if one did (a map bug), the emulation refuses
// instead of writing through.
TEST_F(MsrTest, NativeRowThatExitsIsRefused) {
    EXPECT_EQ(wrmsr(msr_pat, 0x0007040600070406), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_TRUE(FakeMsrs::writes.empty());
}

TEST_F(MsrTest, InvdRunsAsWbinvdAndIsLogged) {
    const auto rip = v.rip;
    EXPECT_EQ(dispatch_exit(v, Exit{ExitReason::invd, 2, 0x76, 1, 0}, env), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(env.cache_flushes, 1);
    EXPECT_EQ(v.rip, rip + 2);
    EXPECT_EQ(env.cpu_stats[0].exits[VBH_EXIT_INVD], 1u);
    vbh_log_page page{};
    ASSERT_EQ(env.event_log.read(0, page).count, 1u);
    EXPECT_EQ(page.entries[0].kind, unsigned(VBH_LOG_INVD));
    // A WBINVD exit (qual 0): run and counted, not logged.
    EXPECT_EQ(dispatch_exit(v, Exit{ExitReason::invd, 2, 0x89, 0, 0}, env), ExitAction::resume);
    EXPECT_EQ(env.cache_flushes, 2);
    EXPECT_EQ(env.event_log.read(0, page).count, 1u);
}

} // namespace
} // namespace vbh::test
