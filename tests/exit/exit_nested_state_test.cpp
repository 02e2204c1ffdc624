// The host's nested state and its teardown (vbh/svm/nested_state.hpp): what vbh holds
// after the host's guest ran (ASID, shadow tables, VMCB12 copy), that the host's EFER
// write clearing SVME (KVM's hardware disable) drops all of it and the gauges read 0,
// that nothing else drops it, and that a VMRUN after SVME is set again runs on fresh
// state: a new ASID flushed, an empty shadow filled again.
#include "../nested/fixture.hpp"
#include "../nested/shadow_fixture.hpp"
#include "fake_env.hpp"
#include "kvm_layout.hpp"
#include "nested_cpu.hpp"

#include <vbh/svm/nested_state.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace vbh::test {
namespace {

using svm::ExitCode;
using svm::Vmcb;
namespace npte = svm::npte;
namespace npf_code = svm::npf_code;

// FakeEnv's RAM as kvm_layout.hpp lays it out.
using namespace kvm;
constexpr std::uint32_t pool_pages = 8;
constexpr std::uint64_t read_npf = npf_code::user | npf_code::final_gpa;
constexpr std::uint64_t hsave = 0x7000;

struct NestedStateTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();
    std::unique_ptr<NestedMemory> m = std::make_unique<NestedMemory>();
    svm::test::Pool pool{pool_pages};
    svm::Cpu c{};
    svm::NestedShared ns{};

    NestedStateTest() {
        std::memset(m.get(), 0, sizeof(NestedMemory));
        wire_nested_cpu(c, *m);
        c.nested.shadow = pool.s;
        c.host.svme = true;
        c.host.hsave_pa = hsave;
        c.host.gif = false; // KVM: CLGI before VMRUN
        ns = {svm::test::caps(), m->vbh_msrpm, m->vbh_iopm};
        ns.caps.nested_paging = true;
        ns.caps.gbpages = true;
        m->vbh_msrpm[0] = 0x01;
        put_tables(env);
        put_vmcb12(env, svm::Asid::set(0, 5));
        std::memset(env.ram[msrpm_pfn].data(), 0x80, 4096);
    }

    ExitAction vmrun() {
        v = kernel_vcpu();
        v.set_reg(Gpr::rax, v12_pfn << 12);
        return svm::nested_vmrun(c, v, Exit{ExitReason::virt_insn, 3, 0x80, 0, 0}, env, ns,
                                 env.msr_caps);
    }
    svm::L2Exit l2_exit(ExitCode code, std::uint64_t info1 = 0, std::uint64_t info2 = 0) {
        m->l2.exit_code = std::uint64_t(code);
        m->l2.exit_info1 = info1;
        m->l2.exit_info2 = info2;
        return svm::nested_exit(c, v, env, env.cpu_stats[0]);
    }
    // The host's guest ran: entered, one page filled into the shadow, an interrupt
    // exit back to the host (KVM always intercepts INTR).
    void run_guest() {
        ASSERT_EQ(vmrun(), ExitAction::resume);
        ASSERT_EQ(c.active.vmcb, &m->l2);
        ASSERT_EQ(l2_exit(ExitCode::npf, read_npf, 0x3000), svm::L2Exit::done);
        ASSERT_EQ(l2_exit(ExitCode::intr), svm::L2Exit::done);
        ASSERT_EQ(c.active.vmcb, &m->l1);
        v = kernel_vcpu(); // the host's registers again (Backend::read)
    }
    // The host's WRMSR EFER, with SVME as given and the rest as it runs.
    MsrResult write_efer(bool svme) {
        const std::uint64_t x = (v.efer & ~efer_svme) | (svme ? efer_svme : 0);
        return svm::nested_efer_write(c, v, x, env.msr_caps.efer_writable);
    }
    vbh_cpu_stats gauges() {
        vbh_cpu_stats st{};
        svm::nested_gauges(c, st);
        return st;
    }
    bool pool_zero() const {
        const std::uint64_t* p = pool.mem.get();
        return std::all_of(p, p + pool_pages * 512ull, [](std::uint64_t e) { return e == 0; });
    }
    static bool zero(const void* p, std::size_t n) {
        const auto* b = static_cast<const std::uint8_t*>(p);
        return std::all_of(b, b + n, [](std::uint8_t x) { return x == 0; });
    }
};

TEST_F(NestedStateTest, NothingIsHeldBeforeTheHostsGuestRuns) {
    const vbh_cpu_stats st = gauges();
    EXPECT_EQ(st.l2_asids, 0u);
    EXPECT_EQ(st.l2_shadow_pages, 0u);
    EXPECT_EQ(st.l2_vmcb12, 0u);
    EXPECT_EQ(st.l2_running, 0u);
    EXPECT_EQ(st.l2_state_drops, 0u);
    EXPECT_EQ(st.host_svme, 1u);
    EXPECT_EQ(st.host_hsave, 1u);
    EXPECT_FALSE(svm::nested_state_held(c));
}

TEST_F(NestedStateTest, TheGaugesShowWhatAGuestLeftBehind) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(gauges().l2_running, 1u) << "in the L2";
    ASSERT_EQ(l2_exit(ExitCode::npf, read_npf, 0x3000), svm::L2Exit::done);
    ASSERT_EQ(l2_exit(ExitCode::intr), svm::L2Exit::done);
    const vbh_cpu_stats st = gauges();
    EXPECT_EQ(st.l2_running, 0u) << "back in the host";
    EXPECT_EQ(st.l2_asids, 1u);
    EXPECT_EQ(st.l2_shadow_pages, 3u) << "PDPT, PD and PT under the kept root";
    EXPECT_EQ(st.l2_vmcb12, 1u);
    EXPECT_TRUE(svm::nested_state_held(c));
}

TEST_F(NestedStateTest, ClearingSvmeDropsEverythingTheGuestLeft) {
    run_guest();
    c.host.gif = false; // KVM's unload runs STGI first; the drop does not depend on it
    const MsrResult r = write_efer(false);
    EXPECT_FALSE(r.gp);
    EXPECT_FALSE(c.host.svme);
    EXPECT_EQ(v.efer & efer_svme, efer_svme) << "the CPU keeps SVME";
    const vbh_cpu_stats st = gauges();
    EXPECT_EQ(st.l2_asids, 0u);
    EXPECT_EQ(st.l2_shadow_pages, 0u);
    EXPECT_EQ(st.l2_vmcb12, 0u);
    EXPECT_EQ(st.l2_running, 0u);
    EXPECT_EQ(st.host_svme, 0u);
    EXPECT_EQ(st.l2_state_drops, 1u);
    EXPECT_FALSE(svm::nested_state_held(c));
    // Nothing of the guest stays in hypervisor memory: shadow tables, VMCB12 copy,
    // host and merged maps, L2 block.
    EXPECT_TRUE(pool_zero());
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
    EXPECT_EQ(c.nested.shadow.key(), svm::ShadowNpt::Key{});
    EXPECT_TRUE(zero(&m->v12, sizeof(Vmcb)));
    EXPECT_TRUE(zero(&m->l2, sizeof(Vmcb)));
    EXPECT_TRUE(zero(m->host_msrpm, sizeof m->host_msrpm));
    EXPECT_TRUE(zero(m->msrpm, sizeof m->msrpm));
    EXPECT_TRUE(zero(m->iopm, sizeof m->iopm));
    EXPECT_EQ(c.nested.maps.msrpm, nullptr);
    EXPECT_EQ(c.nested.asids.find(5), 0u);
    // vbh's L2 ASIDs may still tag translations: every ASID is flushed at the host's
    // next entry, after which stage-2 flushes need not cover them.
    EXPECT_EQ(svm::TlbControl::get(m->l1.asid_tlb), svm::tlb_flush_all);
    EXPECT_FALSE(c.nested.used);
    // The GIF rule of the EFER write still holds: SVME = 0 leaves GIF = 1 and the
    // host's block no longer holds interrupts.
    EXPECT_TRUE(c.host.gif);
    EXPECT_FALSE(svm::IntCtl::VIntrMasking::test(m->l1.vintr));
    // KVM then writes VM_HSAVE_PA = 0: the last gauge.
    ASSERT_FALSE(svm::write_host_hsave(c.host, 0, env.msr_caps).gp);
    EXPECT_EQ(gauges().host_hsave, 0u);
}

TEST_F(NestedStateTest, OnlyAnSvmeClearDrops) {
    run_guest();
    const std::uint32_t used = c.nested.shadow.used();
    ASSERT_FALSE(write_efer(true).gp) << "an EFER write that keeps SVME";
    ASSERT_FALSE(svm::write_host_hsave(c.host, 0x9000, env.msr_caps).gp);
    EXPECT_EQ(c.nested.shadow.used(), used);
    EXPECT_EQ(c.nested.asids.find(5), svm::Asid::get(m->l2.asid_tlb));
    EXPECT_EQ(gauges().l2_vmcb12, 1u);
    EXPECT_EQ(gauges().l2_state_drops, 0u);
    EXPECT_TRUE(c.nested.used);
}

TEST_F(NestedStateTest, AnSvmeClearWithNothingHeldCountsNoDrop) {
    ASSERT_FALSE(write_efer(false).gp);
    EXPECT_EQ(gauges().l2_state_drops, 0u);
    EXPECT_FALSE(c.host.svme);
}

TEST_F(NestedStateTest, AVmrunAfterReEnableRunsOnFreshState) {
    run_guest();
    ASSERT_FALSE(write_efer(false).gp);
    ASSERT_FALSE(write_efer(true).gp);
    c.host.gif = false;
    c.active = c.l1;
    ASSERT_EQ(vmrun(), ExitAction::resume);
    ASSERT_EQ(c.active.vmcb, &m->l2);
    // A fresh ASID, flushed; the shadow serves KVM's table again, empty until a fault.
    EXPECT_NE(svm::Asid::get(m->l2.asid_tlb), 0u);
    EXPECT_NE(svm::TlbControl::get(m->l2.asid_tlb), 0u);
    EXPECT_EQ(c.nested.shadow.key(), (svm::ShadowNpt::Key{pml4_pfn << 12, 5}));
    EXPECT_EQ(m->l2.n_cr3, svm::test::Pool::pa);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
    EXPECT_EQ(l2_exit(ExitCode::npf, read_npf, 0x3000), svm::L2Exit::done);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000) & 0x000ffffffffff000ull, 0x3000u);
    EXPECT_EQ(l2_exit(ExitCode::intr), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    const vbh_cpu_stats st = gauges();
    EXPECT_EQ(st.l2_asids, 1u);
    EXPECT_EQ(st.l2_shadow_pages, 3u);
    EXPECT_EQ(st.l2_vmcb12, 1u);
    EXPECT_EQ(st.l2_state_drops, 1u);
    EXPECT_TRUE(c.nested.used);
}

// An L2's own EFER write (one its host does not intercept) is the L2's: the host's
// SVME and everything vbh holds for the running guest stay.
TEST_F(NestedStateTest, AnL2sEferWriteNeverTearsItsOwnStateDown) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    ASSERT_EQ(l2_exit(ExitCode::npf, read_npf, 0x3000), svm::L2Exit::done);
    const std::uint64_t l2_efer = v.efer;
    const MsrResult r =
        svm::nested_efer_write(c, v, l2_efer & ~efer_svme, env.msr_caps.efer_writable);
    EXPECT_FALSE(r.gp);
    EXPECT_TRUE(c.host.svme);
    EXPECT_EQ(c.active.vmcb, &m->l2);
    EXPECT_EQ(gauges().l2_state_drops, 0u);
    EXPECT_EQ(gauges().l2_shadow_pages, 3u);
    EXPECT_EQ(gauges().l2_running, 1u);
    EXPECT_EQ(v.efer, l2_efer) << "the L2 block keeps SVME (VMRUN requires it)";
}

} // namespace
} // namespace vbh::test
