// Protected vCPUs on the run path (vbh/svm/pstate_run.hpp through nested_run.hpp)
// against FakeEnv's host RAM: a VMCB12 whose N_CR3 is bound to domain 1 runs, exits to
// the host, and its next VMRUN passes only with what the exit asked for; the host
// rewriting RIP or CR3 gets VMEXIT_INVALID and a log entry naming the field; a second
// VMCB12 joining the domain must start in real mode at the domain's private code.
#include "../nested/fixture.hpp"
#include "../nested/shadow_fixture.hpp"
#include "fake_env.hpp"
#include "kvm_layout.hpp"
#include "nested_cpu.hpp"

#include <vbh/svm/nested_run.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace vbh::test {
namespace {

using svm::ExitCode;
using svm::PField;
using svm::Vmcb;
using svm::Vmcb12Error;
namespace npte = svm::npte;

// KVM's tables and VMCB12 as kvm_layout.hpp lays them out; its root is bound to domain 1.
using namespace kvm;
constexpr std::uint16_t dom = 1;

struct PstateRunTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();
    std::unique_ptr<NestedMemory> m = std::make_unique<NestedMemory>();
    svm::test::Pool pool{8};
    svm::Cpu c{};
    svm::NestedShared ns{};

    PstateRunTest() {
        std::memset(m.get(), 0, sizeof(NestedMemory));
        wire_nested_cpu(c, *m);
        c.nested.shadow = pool.s;
        c.host.svme = true;
        ns = {svm::test::caps(), m->vbh_msrpm, m->vbh_iopm};
        ns.caps.nested_paging = true;
        ns.caps.gbpages = true;
        put_tables(env);
        env.bound_roots[pml4_pfn << 12] = dom;
        put_vmcb12(env, svm::Asid::set(0, 5)).rip = 0x40'1000;
    }

    std::uint64_t& entry(std::uint64_t pfn, unsigned i) { return table_entry(env, pfn, i); }
    Vmcb& host_vmcb12() { return *reinterpret_cast<Vmcb*>(env.ram[v12_pfn].data()); }
    // The host's VMRUN; true if the L2 runs.
    bool vmrun() {
        c.active = c.l1;
        v.set_reg(Gpr::rax, v12_pfn << 12);
        v.inject = {};
        svm::nested_vmrun(c, v, Exit{ExitReason::virt_insn, 3, 0x80, 0, 0}, env, ns, env.msr_caps);
        return c.active.vmcb == &m->l2;
    }
    // An L2 exit the host intercepts, reflected to it.
    void l2_exit(ExitCode code, std::uint64_t info1, std::uint64_t info2, std::uint64_t next_rip) {
        m->l2.exit_code = std::uint64_t(code);
        m->l2.exit_info1 = info1;
        m->l2.exit_info2 = info2;
        m->l2.next_rip = next_rip;
        ASSERT_EQ(svm::nested_exit(c, v, env, env.cpu_stats[0]), svm::L2Exit::done);
        ASSERT_EQ(c.active.vmcb, &m->l1) << "reflected to the host";
        // Back in the host: its own RAX/RSP in the GPR array (the L2's stay in VMCB12).
        v.set_reg(Gpr::rax, v12_pfn << 12);
    }
    // An L2 nested page fault the shadow fills (a read of gpa).
    svm::L2Exit npf_fill(std::uint64_t gpa) {
        m->l2.exit_code = std::uint64_t(ExitCode::npf);
        m->l2.exit_info1 = svm::npf_code::user | svm::npf_code::final_gpa;
        m->l2.exit_info2 = gpa;
        return svm::nested_exit(c, v, env, env.cpu_stats[0]);
    }
    vbh_log_entry last_log() {
        vbh_log_page page{};
        const auto n = env.event_log.read(0, page).count;
        return n ? page.entries[n - 1] : vbh_log_entry{};
    }
    std::uint64_t refusal(Vmcb12Error e, PField f) {
        return std::uint64_t(e) | std::uint64_t(f) << 8 | std::uint64_t(dom) << 16;
    }
};

TEST_F(PstateRunTest, CpuidRoundTripPasses) {
    ASSERT_TRUE(vmrun());
    l2_exit(ExitCode::cpuid, 0, 0, 0x40'1002);
    // KVM's answer: the four result registers and RIP at nRIP.
    host_vmcb12().rax = 0x8000001f;
    v.set_reg(Gpr::rbx, 0x68747541);
    v.set_reg(Gpr::rcx, 0x444d4163);
    v.set_reg(Gpr::rdx, 0x69746e65);
    host_vmcb12().rip = 0x40'1002;
    EXPECT_TRUE(vmrun());
    EXPECT_EQ(m->l2.rip, 0x40'1002u);
    EXPECT_EQ(env.pstate_table->in_use(), 1u);
}

TEST_F(PstateRunTest, IoAndHypercallAndMmioRoundTripsPass) {
    env.ram[iopm_pfn][0x70 / 8] |= 1u << (0x70 % 8); // the host intercepts port 0x70
    ASSERT_TRUE(vmrun());
    // IN AL, 0x70: RAX and RIP to EXITINFO2.
    l2_exit(ExitCode::ioio, svm::IoioInfo::In::mask | svm::IoioInfo::Sz8::mask | (0x70ull << 16),
            0x40'1001, 0x40'1001);
    host_vmcb12().rax = 0x12;
    host_vmcb12().rip = 0x40'1001;
    ASSERT_TRUE(vmrun());
    // VMMCALL: KVM's result in RAX.
    l2_exit(ExitCode::vmmcall, 0, 0, 0x40'1004);
    host_vmcb12().rax = 0;
    host_vmcb12().rip = 0x40'1004;
    ASSERT_TRUE(vmrun());
    // An NPF KVM emulates as an MMIO read into RCX: 6 bytes forward (PDPT[1] absent in
    // KVM's table, so the fault is the host's).
    m->l2.exit_code = std::uint64_t(ExitCode::npf);
    m->l2.exit_info1 = svm::npf_code::user | svm::npf_code::final_gpa;
    m->l2.exit_info2 = 0x40005000;
    ASSERT_EQ(svm::nested_exit(c, v, env, env.cpu_stats[0]), svm::L2Exit::done);
    ASSERT_EQ(c.active.vmcb, &m->l1);
    v.set_reg(Gpr::rcx, 0xabcd);
    host_vmcb12().rip = 0x40'100a;
    EXPECT_TRUE(vmrun());
    EXPECT_EQ(v.reg(Gpr::rcx), 0xabcdu);
}

TEST_F(PstateRunTest, HostRewritingRipIsRefused) {
    ASSERT_TRUE(vmrun());
    l2_exit(ExitCode::cpuid, 0, 0, 0x40'1002);
    host_vmcb12().rip = 0x1234; // the host's code in shared memory
    const std::uint64_t pos = env.event_log.next_seq();
    EXPECT_FALSE(vmrun());
    EXPECT_TRUE(svm::is_vmexit_invalid(host_vmcb12().exit_code));
    EXPECT_GT(env.event_log.next_seq(), pos);
    EXPECT_EQ(last_log().kind, unsigned(VBH_LOG_VMRUN_REFUSED));
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_state, PField::rip));
    // The host puts RIP back: the vCPU runs on from its own state.
    host_vmcb12().rip = 0x40'1000;
    host_vmcb12().exit_code = std::uint64_t(ExitCode::cpuid);
    EXPECT_TRUE(vmrun());
}

TEST_F(PstateRunTest, HostRewritingCr3OrAGprIsRefused) {
    ASSERT_TRUE(vmrun());
    l2_exit(ExitCode::intr, 0, 0, 0);
    host_vmcb12().cr3 = 0x5000; // its own page tables
    EXPECT_FALSE(vmrun());
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_state, PField::cr3));
    host_vmcb12().cr3 = m->l2.cr3;
    v.set_reg(Gpr::rdi, 0x5000); // a pointer the guest will follow
    EXPECT_FALSE(vmrun());
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_state, PField::rdi));
}

TEST_F(PstateRunTest, AnOrdinaryVmcb12IsNotChecked) {
    env.bound_roots.clear();
    ASSERT_TRUE(vmrun());
    l2_exit(ExitCode::cpuid, 0, 0, 0x40'1002);
    host_vmcb12().rip = 0x1234;
    EXPECT_TRUE(vmrun());
    EXPECT_EQ(env.pstate_table->in_use(), 0u);
}

TEST_F(PstateRunTest, TheSameVmcb12OnTwoCpusIsRefused) {
    ASSERT_TRUE(vmrun());
    svm::Cpu other = c;   // a second CPU's state, same host page
    other.active = other.l1;
    VcpuState w = v;
    w.set_reg(Gpr::rax, v12_pfn << 12);
    svm::nested_vmrun(other, w, Exit{ExitReason::virt_insn, 3, 0x80, 0, 0}, env, ns, env.msr_caps);
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_busy, PField::none));
}

// Every VMCB12 that enters before a private frame of the domain was ever mapped for a
// guest is one of its initial vCPUs (nothing private exists yet).
TEST_F(PstateRunTest, BeforeAnyPrivateFillNewVmcb12sJoinFreely) {
    ASSERT_TRUE(vmrun());
    l2_exit(ExitCode::intr, 0, 0, 0);
    {
        LockGuard g{env.pstate_table->lock()}; // a second VMCB12: a new record
        env.pstate_table->release(*env.pstate_table->find(v12_pfn << 12, dom));
    }
    host_vmcb12().rip = 0x1234;
    EXPECT_TRUE(vmrun());
}

// Once the shadow mapped a private frame of the domain, a VMCB12 new to it must start
// in real mode at the domain's private code, its IVT private too.
TEST_F(PstateRunTest, ALateJoinerMustStartInRealModeAtPrivateCode) {
    host_vmcb12().icpt_misc3 &= ~svm::icpt3::msr_prot; // no MSRPM: frames 2-3 are free
    ASSERT_TRUE(vmrun());
    env.blocked_pfns.insert(3);       // donated: not the host's any more
    env.private_frames[3] = {dom, 3}; // domain 1's private memory at gfn 3
    ASSERT_EQ(npf_fill(0x3000), svm::L2Exit::done);
    ASSERT_EQ(c.active.vmcb, &m->l2) << "the private frame entered the shadow";
    EXPECT_TRUE(env.pstate_table->holds_private(dom));
    l2_exit(ExitCode::intr, 0, 0, 0);
    {
        LockGuard g{env.pstate_table->lock()};
        env.pstate_table->release(*env.pstate_table->find(v12_pfn << 12, dom));
    }
    EXPECT_FALSE(vmrun());
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_join, PField::join_mode));
    // Real mode at gfn 2, IVT at gfn 3: the code page not private yet, then private.
    Vmcb& y = host_vmcb12();
    y.cr0 = 0x10;
    y.efer = efer_svme;
    y.cs = {0x200, 0x93, 0xffff, 0x2000};
    y.rip = 0x10;
    y.idtr = {0, 0, 0x3ff, 0x5000};
    y.exit_code = 0;
    EXPECT_FALSE(vmrun());
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_join, PField::join_code));
    y.cs = {0x300, 0x93, 0xffff, 0x3000};
    EXPECT_FALSE(vmrun());
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_join, PField::join_idt));
    y.idtr.base = 0x3000;
    EXPECT_TRUE(vmrun());
}

TEST_F(PstateRunTest, DomainDestroyForgetsTheRecords) {
    ASSERT_TRUE(vmrun());
    l2_exit(ExitCode::intr, 0, 0, 0);
    EXPECT_EQ(svm::pstate_forget(*env.pstate_table, dom), 1u);
    EXPECT_EQ(env.pstate_table->in_use(), 0u);
    // A new domain 1 on the same page: its first VMRUN is its initial state.
    host_vmcb12().rip = 0x1234;
    EXPECT_TRUE(vmrun());
}

TEST_F(PstateRunTest, AFullTableRefusesANewProtectedVcpu) {
    {
        LockGuard g{env.pstate_table->lock()};
        for (std::uint32_t i = 0; i < svm::PstateTable::capacity; ++i)
            ASSERT_NE(env.pstate_table->claim(0x100000 + 0x1000 * i, 2), nullptr);
    }
    EXPECT_FALSE(vmrun());
    EXPECT_EQ(last_log().info, refusal(Vmcb12Error::protected_full, PField::none));
}

} // namespace
} // namespace vbh::test
