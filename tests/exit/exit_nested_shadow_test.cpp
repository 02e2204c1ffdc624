// The shadow NPT at run time (vbh/svm/nested_shadow.hpp) against FakeEnv's host RAM:
// a host VMRUN with NP_ENABLE runs its L2 on the shadow, the L2's nested page faults
// fill it from KVM's table in host RAM or go to the host as the CPU's #VMEXIT(NPF)
// would, a frame vbh refuses stops the L2, and the shadow is dropped when its key or
// TLB_CONTROL says so.
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
using svm::Vmcb;
namespace npte = svm::npte;
namespace npf_code = svm::npf_code;

// FakeEnv's RAM as kvm_layout.hpp lays it out.
using namespace kvm;

struct NestedShadowTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();
    std::unique_ptr<NestedMemory> m = std::make_unique<NestedMemory>();
    svm::test::Pool pool{8};
    svm::Cpu c{};
    svm::NestedShared ns{};

    NestedShadowTest() {
        std::memset(m.get(), 0, sizeof(NestedMemory));
        wire_nested_cpu(c, *m);
        c.nested.shadow = pool.s;
        c.host.svme = true;
        ns = {svm::test::caps(), m->vbh_msrpm, m->vbh_iopm};
        ns.caps.nested_paging = true;
        ns.caps.gbpages = true;
        put_tables(env);
        put_vmcb12(svm::Asid::set(0, 5), 0);
    }

    std::uint64_t& entry(std::uint64_t pfn, unsigned i) { return table_entry(env, pfn, i); }
    Vmcb& host_vmcb12() { return *reinterpret_cast<Vmcb*>(env.ram[v12_pfn].data()); }
    void put_vmcb12(std::uint64_t asid_tlb, std::uint64_t tlb_control) {
        kvm::put_vmcb12(env, svm::TlbControl::set(asid_tlb, tlb_control));
    }
    ExitAction vmrun() {
        c.active = c.l1;
        v.set_reg(Gpr::rax, v12_pfn << 12);
        v.inject = {};
        return svm::nested_vmrun(c, v, Exit{ExitReason::virt_insn, 3, 0x80, 0, 0}, env, ns,
                                 env.msr_caps);
    }
    svm::L2Exit npf(std::uint64_t gpa, std::uint64_t info1) {
        m->l2.exit_code = std::uint64_t(ExitCode::npf);
        m->l2.exit_info1 = info1;
        m->l2.exit_info2 = gpa;
        return svm::nested_exit(c, v, env, env.cpu_stats[0]);
    }
    vbh_log_entry last_log() {
        vbh_log_page page{};
        const auto n = env.event_log.read(0, page).count;
        return n ? page.entries[n - 1] : vbh_log_entry{};
    }
};

constexpr std::uint64_t read_npf = npf_code::user | npf_code::final_gpa;

TEST_F(NestedShadowTest, TheL2RunsOnTheShadowNeverOnKvmsTable) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.active.vmcb, &m->l2);
    EXPECT_TRUE(c.nested.np);
    EXPECT_EQ(m->l2.n_cr3, svm::test::Pool::pa);
    EXPECT_TRUE(svm::NpEnable::test(m->l2.np_ctl));
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

TEST_F(NestedShadowTest, WithoutAPoolNestedPagingIsRefused) {
    c.nested.shadow = svm::ShadowNpt{};
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_TRUE(svm::is_vmexit_invalid(host_vmcb12().exit_code));
    EXPECT_EQ(last_log().info, std::uint64_t(svm::Vmcb12Error::nested_paging));
}

TEST_F(NestedShadowTest, AFaultFillsTheShadowFromKvmsTable) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    m->l2.exit_int_info = svm::EventInj::Valid::set(14, 1);
    EXPECT_EQ(npf(0x3000 + 0x123, read_npf), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l2) << "the L2 runs on";
    EXPECT_EQ(c.nested.shadow.lookup(0x3000) & 0x000ffffffffff000ull, 0x3000u);
    EXPECT_EQ(m->l2.event_inj, m->l2.exit_int_info) << "an interrupted delivery is redone";
    EXPECT_TRUE(entry(pml4_pfn, 0) & npte::a) << "A set in KVM's entries as the CPU would";
    EXPECT_TRUE(entry(pdpt_pfn, 0) & npte::a);
    EXPECT_EQ(env.cpu_stats[0].l2_shadow_fills, 1u);
    EXPECT_EQ(env.cpu_stats[0].l2_reflected, 0u);
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

TEST_F(NestedShadowTest, KvmsRefusalIsTheHostsNpf) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    // PDPT[1] absent; a guest-table access that writes (bit 33, W).
    EXPECT_EQ(npf(0x40000000 + 0x5000, npf_code::write | npf_code::user | npf_code::table_gpa),
              svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_EQ(host_vmcb12().exit_code, std::uint64_t(ExitCode::npf));
    EXPECT_EQ(host_vmcb12().exit_info1, npf_code::write | npf_code::user | npf_code::table_gpa);
    EXPECT_EQ(host_vmcb12().exit_info2, 0x40005000u);
    // Read-only in KVM's table: a write is a protection fault (P set).
    entry(pdpt_pfn, 0) &= ~npte::rw;
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(npf(0x3000, npf_code::write | npf_code::user | npf_code::final_gpa), svm::L2Exit::done);
    EXPECT_EQ(host_vmcb12().exit_info1,
              npf_code::present | npf_code::write | npf_code::user | npf_code::final_gpa);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
    EXPECT_EQ(env.cpu_stats[0].l2_reflected, 2u);
}

TEST_F(NestedShadowTest, AFrameVbhRefusesStopsTheL2) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    env.blocked_pfns.insert(3); // donated or hypervisor memory (the MSRPM's, once read)
    EXPECT_EQ(npf(0x3000, read_npf), svm::L2Exit::done);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
    EXPECT_EQ(c.active.vmcb, &m->l1);
    EXPECT_EQ(host_vmcb12().exit_code, std::uint64_t(ExitCode::shutdown));
    EXPECT_EQ(last_log().kind, VBH_LOG_VMRUN_REFUSED);
    EXPECT_EQ(last_log().addr, 0x3000u);
    EXPECT_EQ(last_log().info, std::uint64_t(svm::Vmcb12Error::shadow_refused));
    // MMIO (not RAM) the same way.
    env.blocked_pfns.clear();
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(npf(0x9000, read_npf), svm::L2Exit::done);
    EXPECT_EQ(host_vmcb12().exit_code, std::uint64_t(ExitCode::shutdown));
    EXPECT_EQ(c.nested.shadow.lookup(0x9000), 0u);
}

TEST_F(NestedShadowTest, KvmsTablesMustBeHostRam) {
    env.blocked_pfns.insert(pdpt_pfn);
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(npf(0x3000, read_npf), svm::L2Exit::done);
    EXPECT_EQ(host_vmcb12().exit_code, std::uint64_t(ExitCode::shutdown));
    EXPECT_EQ(last_log().addr, pdpt_pfn << 12);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
}

TEST_F(NestedShadowTest, TheShadowIsDroppedOnTlbControlAsidOrRootChange) {
    ASSERT_EQ(vmrun(), ExitAction::resume);
    ASSERT_EQ(npf(0x3000, read_npf), svm::L2Exit::done);
    // Same key, no flush asked: the shadow stays.
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_NE(c.nested.shadow.lookup(0x3000), 0u);
    // A flush of the host's ASID: dropped, and vbh's ASID flushed.
    put_vmcb12(svm::Asid::set(0, 5), svm::tlb_flush_guest);
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
    EXPECT_NE(svm::TlbControl::get(m->l2.asid_tlb), 0u);
    EXPECT_EQ(env.cpu_stats[0].l2_shadow_drops, 1u);
    // Another host ASID.
    put_vmcb12(svm::Asid::set(0, 5), 0);
    ASSERT_EQ(vmrun(), ExitAction::resume);
    ASSERT_EQ(npf(0x3000, read_npf), svm::L2Exit::done);
    put_vmcb12(svm::Asid::set(0, 6), 0);
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
    // Another root.
    ASSERT_EQ(npf(0x3000, read_npf), svm::L2Exit::done);
    Vmcb& h = host_vmcb12();
    h.n_cr3 = pdpt_pfn << 12;
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.nested.shadow.lookup(0x3000), 0u);
    EXPECT_EQ(env.cpu_stats[0].l2_shadow_drops, 3u);
}

// Protected guests (docs/nested.md, "Shadow NPT"): L2 page 9 is frame 9, which
// host_page() refuses (FakeEnv's RAM ends at frame 8; frames 0-7 hold KVM's tables,
// VMCB12 and the maps) and vbh holds as domain 3's private memory for gfn 9.
struct ProtectedShadowTest : NestedShadowTest {
    ProtectedShadowTest() { env.private_frames[9] = {3, 9}; }
    void bind(std::uint16_t dom) { env.bound_roots[pml4_pfn << 12] = dom; }
    void expect_refused(std::uint64_t gpa) {
        EXPECT_EQ(npf(gpa, read_npf), svm::L2Exit::done);
        EXPECT_EQ(c.active.vmcb, &m->l1);
        EXPECT_EQ(host_vmcb12().exit_code, std::uint64_t(ExitCode::shutdown));
        EXPECT_EQ(last_log().info, std::uint64_t(svm::Vmcb12Error::shadow_refused));
        EXPECT_EQ(c.nested.shadow.lookup(gpa), 0u);
    }
};

TEST_F(ProtectedShadowTest, ABoundRootsShadowTakesItsDomainsFrameAtItsGfn) {
    bind(3);
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.nested.shadow.key().dom, 3u);
    EXPECT_EQ(npf(0x9000, read_npf), svm::L2Exit::done);
    EXPECT_EQ(c.active.vmcb, &m->l2) << "the L2 runs on";
    EXPECT_EQ(c.nested.shadow.lookup(0x9000) & 0x000ffffffffff000ull, 0x9000u);
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

TEST_F(ProtectedShadowTest, ItsFrameAtAnotherGfnIsRefused) {
    bind(3);
    env.private_frames[9] = {3, 10};
    ASSERT_EQ(vmrun(), ExitAction::resume);
    expect_refused(0x9000);
}

TEST_F(ProtectedShadowTest, AnotherDomainsRootOrAnUnboundOneGetsNoPrivateFrame) {
    bind(4);
    ASSERT_EQ(vmrun(), ExitAction::resume);
    expect_refused(0x9000);
    env.bound_roots.clear();
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_EQ(c.nested.shadow.key().dom, 0u);
    expect_refused(0x9000);
}

TEST_F(ProtectedShadowTest, ARootRebindBetweenFaultsEmptiesTheShadowFirst) {
    bind(3);
    ASSERT_EQ(vmrun(), ExitAction::resume);
    ASSERT_EQ(npf(0x9000, read_npf), svm::L2Exit::done);
    ASSERT_NE(c.nested.shadow.lookup(0x9000), 0u);
    (void)c.nested.shadow.take_flush();
    // The host rebinds the root to domain 4 while the L2 runs: the next fault (a host
    // frame) finds the shadow serving 4, without 3's frame, and asks for a flush.
    bind(4);
    ASSERT_EQ(npf(0x3000, read_npf), svm::L2Exit::done);
    EXPECT_EQ(c.nested.shadow.key().dom, 4u);
    EXPECT_EQ(c.nested.shadow.lookup(0x9000), 0u);
    EXPECT_NE(c.nested.shadow.lookup(0x3000), 0u);
    EXPECT_TRUE(c.nested.shadow.take_flush());
    expect_refused(0x9000);
}

TEST_F(NestedShadowTest, WithoutNestedPagingTheHostNptStays) {
    Vmcb& h = host_vmcb12();
    h.np_ctl = 0;
    ASSERT_EQ(vmrun(), ExitAction::resume);
    EXPECT_FALSE(c.nested.np);
    EXPECT_EQ(m->l2.n_cr3, 0xabc000u);
    // An NPF is then vbh's own (its host NPT), dispatched as for the host.
    EXPECT_EQ(npf(0x3000, read_npf), svm::L2Exit::dispatch);
}

} // namespace
} // namespace vbh::test
