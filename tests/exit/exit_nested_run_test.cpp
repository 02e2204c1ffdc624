// The host's VMRUN and its guest's exits at run time (vbh/svm/nested_run.hpp) against
// FakeEnv's host RAM: what is read from and written to the host's pages, which block
// runs next, what the host's registers become, and that a refusal changes nothing else.
#include "../nested/fixture.hpp"
#include "fake_env.hpp"
#include "nested_cpu.hpp"

#include <vbh/svm/nested_run.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace vbh::test {
namespace {

using svm::ExitCode;
using svm::Vmcb;
using svm::Vmcb12Error;

// FakeEnv's RAM: VMCB12 in frame 1, the MSRPM in 2-3, the IOPM in 4-6.
constexpr std::uint64_t v12_pfn = 1, msrpm_pfn = 2, iopm_pfn = 4;

struct NestedRunTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();
    std::unique_ptr<NestedMemory> m = std::make_unique<NestedMemory>();
    svm::Cpu c{};
    svm::NestedShared ns{};

    NestedRunTest() {
        std::memset(m.get(), 0, sizeof(NestedMemory));
        wire_nested_cpu(c, *m);
        c.host.svme = true;
        c.host.gif = false; // KVM: CLGI before VMRUN
        m->vbh_msrpm[0] = 0x01;
        m->vbh_iopm[0] = 0x10;
        ns = {svm::test::caps(), m->vbh_msrpm, m->vbh_iopm};
        put_vmcb12(*svm::test::valid_vmcb12());
        std::memset(env.ram[msrpm_pfn].data(), 0x80, 4096); // host map bytes, recognisable
        std::memset(env.ram[iopm_pfn].data(), 0x02, 4096);
    }

    Vmcb& host_vmcb12() { return *reinterpret_cast<Vmcb*>(env.ram[v12_pfn].data()); }
    void put_vmcb12(const Vmcb& x) {
        Vmcb y = x;
        y.msrpm_pa = msrpm_pfn << 12;
        y.iopm_pa = iopm_pfn << 12;
        std::memcpy(env.ram[v12_pfn].data(), &y, sizeof y);
    }
    ExitAction vmrun(std::uint64_t rax = v12_pfn << 12) {
        v.set_reg(Gpr::rax, rax);
        v.inject = {};
        return svm::nested_vmrun(c, v, Exit{ExitReason::virt_insn, 3, 0x80, 0, 0}, env, ns,
                                 env.msr_caps);
    }
    svm::L2Exit l2_exit(ExitCode code, std::uint64_t info1 = 0) {
        m->l2.exit_code = std::uint64_t(code);
        m->l2.exit_info1 = info1;
        return svm::nested_exit(c, v, env, env.cpu_stats[0]);
    }
    vbh_log_entry last_log() {
        vbh_log_page page{};
        const auto n = env.event_log.read(0, page).count;
        return n ? page.entries[n - 1] : vbh_log_entry{};
    }
};

TEST_F(NestedRunTest, AcceptedVmrunEntersTheL2WithVbhsAddresses) {
    const std::uint64_t rip = v.rip, rsp = v.reg(Gpr::rsp);
    EXPECT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.active.vmcb, &m->l2);
    EXPECT_FALSE(v.inject.pending());
    // The guest's RAX/RSP/RIP now, the host's kept in its block for the #VMEXIT.
    EXPECT_EQ(v.rip, 0x401000u);
    EXPECT_EQ(m->l1.rip, rip + 3);
    EXPECT_EQ(m->l1.rsp, rsp);
    EXPECT_EQ(m->l1.rax, v12_pfn << 12);
    // Every address in the L2 block is vbh's.
    EXPECT_EQ(m->l2.n_cr3, npt_root);
    EXPECT_EQ(m->l2.msrpm_pa, merged_msrpm_pa);
    EXPECT_EQ(m->l2.iopm_pa, merged_iopm_pa);
    EXPECT_NE(svm::Asid::get(m->l2.asid_tlb), 0u);
    EXPECT_NE(svm::Asid::get(m->l2.asid_tlb), 1u);
    // The merged maps: the host's bits and vbh's.
    EXPECT_EQ(m->msrpm[0], 0x81);
    EXPECT_EQ(m->iopm[0], 0x12);
    EXPECT_EQ(env.cpu_stats[0].l2_entries, 1u);
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

TEST_F(NestedRunTest, HostsExitIsReflectedAndTheHostResumesAfterVmrun) {
    const std::uint64_t after = v.rip + 3;
    ASSERT_EQ(vmrun(), ExitAction::resume);
    m->l2.rip = 0x401234;
    EXPECT_EQ(l2_exit(ExitCode::cpuid), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_EQ(m->l1.rip, after);
    EXPECT_EQ(host_vmcb12().exit_code, std::uint64_t(ExitCode::cpuid));
    EXPECT_EQ(host_vmcb12().rip, 0x401234u);
    EXPECT_FALSE(c.host.gif);
    // GIF 0: the host's block holds physical interrupts until its STGI.
    EXPECT_TRUE(svm::IntCtl::VIntrMasking::test(m->l1.vintr));
    EXPECT_EQ(m->l1.event_inj, 0u);
    EXPECT_EQ(env.cpu_stats[0].l2_reflected, 1u);
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

TEST_F(NestedRunTest, FlushKickStaysVbhsAndTheL2RunsOn) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    env.kicks.insert(0);
    EXPECT_EQ(l2_exit(ExitCode::nmi), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l2);
    EXPECT_EQ(env.cpu_stats[0].kicks_taken, 1u);
    EXPECT_EQ(host_vmcb12().exit_code, 0u);
}

TEST_F(NestedRunTest, OtherNmiGoesToTheHostAndWaitsForItsStgi) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(l2_exit(ExitCode::nmi), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_EQ(host_vmcb12().exit_code, std::uint64_t(ExitCode::nmi));
    EXPECT_TRUE(c.host.nmi_held);
}

TEST_F(NestedRunTest, VbhsOwnInterceptGoesToTheCommonDispatch) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    // INVD: vbh's intercept, not the host's (valid_vmcb12 leaves it clear).
    EXPECT_EQ(l2_exit(ExitCode::invd), svm::L2Exit::dispatch);
    EXPECT_EQ(c.active.vmcb, &m->l2);
    EXPECT_EQ(host_vmcb12().exit_code, 0u);
}

TEST_F(NestedRunTest, RefusedVmcb12GetsVmexitInvalidAndNothingElse) {
    auto bad = svm::test::valid_vmcb12();
    bad->asid_tlb = svm::Asid::set(0, 0);
    put_vmcb12(*bad);
    const std::array<unsigned char, 4096> before = env.ram[v12_pfn];
    const std::uint64_t rip = v.rip;
    EXPECT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_EQ(v.rip, rip + 3);
    EXPECT_TRUE(svm::is_vmexit_invalid(host_vmcb12().exit_code));
    // Only EXITCODE/EXITINFO1/EXITINFO2 changed in the host's page.
    for (std::size_t i = 0; i < 4096; ++i) {
        if (i < svm::vmexit_invalid_span.first || i >= svm::vmexit_invalid_span.end) {
            ASSERT_EQ(env.ram[v12_pfn][i], before[i]) << "byte " << i;
        }
    }
    EXPECT_EQ(last_log().kind, unsigned(VBH_LOG_VMRUN_REFUSED));
    EXPECT_EQ(last_log().info, std::uint64_t(Vmcb12Error::asid_zero));
    EXPECT_EQ(env.cpu_stats[0].l2_entries, 0u);
}

TEST_F(NestedRunTest, Vmcb12OutsideHostRamIsGp) {
    for (std::uint64_t rax : {std::uint64_t(7) << 12, std::uint64_t(100) << 12, (v12_pfn << 12) + 8}) {
        if (rax == std::uint64_t(7) << 12)
            env.blocked_pfns.insert(7); // hypervisor or donated
        const std::uint64_t rip = v.rip;
        EXPECT_EQ(vmrun(rax), ExitAction::resume);
        EXPECT_TRUE(v.inject.pending());
        EXPECT_EQ(v.inject.vector, 13);
        EXPECT_EQ(v.rip, rip);
        EXPECT_EQ(c.active.vmcb, &m->l1);
        EXPECT_EQ(last_log().kind, unsigned(VBH_LOG_VIRT_INSN));
    }
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

TEST_F(NestedRunTest, MapOutsideHostRamIsRefused) {
    env.blocked_pfns.insert(iopm_pfn + 2); // the IOPM's last page
    EXPECT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_TRUE(svm::is_vmexit_invalid(host_vmcb12().exit_code));
    EXPECT_EQ(last_log().info, std::uint64_t(Vmcb12Error::map_not_host));
}

TEST_F(NestedRunTest, Vmcb12DonatedDuringTheRunReceivesNothing) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    env.blocked_pfns.insert(v12_pfn);
    const std::array<unsigned char, 4096> before = env.ram[v12_pfn];
    EXPECT_EQ(l2_exit(ExitCode::cpuid), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_EQ(env.ram[v12_pfn], before);
    EXPECT_EQ(last_log().info, std::uint64_t(Vmcb12Error::vmcb12_gone));
}

TEST_F(NestedRunTest, L2BlockVmexitInvalidIsTheHosts) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    m->l2.exit_code = ~0ull;
    EXPECT_EQ(svm::nested_exit(c, v, env, env.cpu_stats[0]), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_TRUE(svm::is_vmexit_invalid(host_vmcb12().exit_code));
    EXPECT_EQ(last_log().info, std::uint64_t(Vmcb12Error::l2_invalid));
}

} // namespace
} // namespace vbh::test
