// The host's own SVM, emulated (svm/host_svm.hpp, svm/host_insn.hpp; docs/svm-host.md):
// EFER.SVME, VM_CR and VM_HSAVE_PA as shadows; VMLOAD/VMSAVE between a host page and
// the host's control block; CLGI/STGI as a virtual GIF that holds NMIs; INVLPGA; VMRUN
// and SKINIT refused. Every refusal: the exact event, RIP unchanged, nothing written,
// a log entry.
#include "fake_env.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace vbh::test {
namespace {

using svm::ExitCode;

struct HostSvmTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();
    svm::HostSvm& host = env.host[0];
    svm::Vmcb& l1 = env.l1[0];

    // A WRMSR exit: gp = an event was injected, value = how far RIP moved.
    MsrResult wr(std::uint32_t msr, std::uint64_t value) {
        v.inject = {};
        v.set_reg(Gpr::rcx, msr);
        v.set_reg(Gpr::rax, std::uint32_t(value));
        v.set_reg(Gpr::rdx, value >> 32);
        const auto rip = v.rip;
        dispatch_exit(v, Exit{ExitReason::msr_write, 2, 0x7c, 1, 0}, env);
        return {v.inject.pending(), v.rip - rip};
    }
    std::uint64_t rd(std::uint32_t msr) {
        v.set_reg(Gpr::rcx, msr);
        dispatch_exit(v, Exit{ExitReason::msr_read, 2, 0x7c, 0, 0}, env);
        EXPECT_FALSE(v.inject.pending());
        return (v.reg(Gpr::rdx) << 32) | v.reg(Gpr::rax);
    }
    ExitAction insn(ExitCode c, std::uint64_t rax = 0) {
        v.inject = {};
        v.set_reg(Gpr::rax, rax);
        return dispatch_exit(v, Exit{ExitReason::virt_insn, 3, std::uint64_t(c), 0, 0}, env);
    }
    std::uint64_t logged() {
        vbh_log_page page{};
        return env.event_log.read(0, page).count;
    }
    vbh_log_entry last_log() {
        vbh_log_page page{};
        const auto n = env.event_log.read(0, page).count;
        return n ? page.entries[n - 1] : vbh_log_entry{};
    }
    // The host's VMLOAD state in l1, each field a distinct pattern.
    void fill_l1_state() {
        svm::Vmcb s{};
        s.fs = {0x10, 0x93, 0xffff, 0x7f0000001000};
        s.gs = {0x18, 0x93, 0xffff, 0xffff888007c00000};
        s.tr = {0x40, 0x8b, 0x4087, 0xfffffe0000003000};
        s.ldtr = {0, 0x82, 0, 0};
        s.kernel_gs_base = 0x7f1234560000;
        s.star = 0x0023001000000000;
        s.lstar = 0xffffffff81e00080;
        s.cstar = 0xffffffff81e01000;
        s.sfmask = 0x47700;
        s.sysenter_cs = 0x10;
        s.sysenter_esp = 0xfffffe0000001000;
        s.sysenter_eip = 0xffffffff81e02000;
        svm::copy_vmload_state(s, l1);
    }
};

bool same_state(const svm::Vmcb& a, const svm::Vmcb& b) {
    svm::Vmcb x{}, y{};
    svm::copy_vmload_state(a, x);
    svm::copy_vmload_state(b, y);
    return std::memcmp(&x, &y, sizeof x) == 0;
}

// --- EFER.SVME, VM_CR, VM_HSAVE_PA -------------------------------------------------

TEST_F(HostSvmTest, LaunchStateIsTheKernelsWithSvmOffered) {
    const auto h = svm::host_svm_at_launch(efer_lme | efer_lma, svm::vm_cr_lock | svm::vm_cr_svmdis |
                                                                     svm::vm_cr_r_init, 0x5000);
    EXPECT_FALSE(h.svme);
    EXPECT_EQ(h.vm_cr, svm::vm_cr_r_init); // unlocked, SVM not disabled
    EXPECT_EQ(h.hsave_pa, 0x5000u);
    EXPECT_TRUE(h.gif);
    EXPECT_TRUE(svm::host_svm_at_launch(efer_svme, 0, 0).svme);
}

TEST_F(HostSvmTest, EferReadsAndWritesTheHostsOwnSvme) {
    EXPECT_EQ(rd(msr_efer), v.efer & ~efer_svme); // the CPU's has SVME, the host's not
    EXPECT_EQ(wr(msr_efer, (v.efer & ~efer_svme) | efer_svme).value, 2u);
    EXPECT_TRUE(host.svme);
    EXPECT_EQ(rd(msr_efer), v.efer);
    EXPECT_EQ(wr(msr_efer, v.efer & ~efer_svme).value, 2u); // kvm_amd's disable
    EXPECT_FALSE(host.svme);
    EXPECT_NE(v.efer & efer_svme, 0u); // the CPU's stays 1: VMRUN needs it
    EXPECT_TRUE(FakeMsrs::writes.empty());
}

TEST_F(HostSvmTest, EferSvmeIsMbzWhileVmCrSvmdisIsSet) {
    host.vm_cr = svm::vm_cr_svmdis;
    const auto efer = v.efer;
    EXPECT_TRUE(wr(msr_efer, efer | efer_svme).gp);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_FALSE(host.svme);
    EXPECT_EQ(v.efer, efer);
    EXPECT_EQ(last_log().kind, unsigned(VBH_LOG_MSR_DENIED));
}

TEST_F(HostSvmTest, VmCrFollowsLockAndSvmdisRules) {
    EXPECT_EQ(rd(msr_vm_cr), 0u);
    EXPECT_TRUE(wr(msr_vm_cr, 1u << 5).gp); // reserved
    EXPECT_EQ(host.vm_cr, 0u);
    EXPECT_FALSE(wr(msr_vm_cr, svm::vm_cr_svmdis | svm::vm_cr_lock).gp);
    EXPECT_EQ(rd(msr_vm_cr), svm::vm_cr_svmdis | svm::vm_cr_lock);
    // Locked: LOCK and SVMDIS silently keep their values, the other bits are written.
    EXPECT_FALSE(wr(msr_vm_cr, svm::vm_cr_dpd).gp);
    EXPECT_EQ(rd(msr_vm_cr), svm::vm_cr_svmdis | svm::vm_cr_lock | svm::vm_cr_dpd);
    EXPECT_TRUE(FakeMsrs::writes.empty()); // never the CPU's VM_CR
}

TEST_F(HostSvmTest, SettingSvmdisWithSvmeOnGpsEvenWhenLocked) {
    host.svme = true;
    EXPECT_TRUE(wr(msr_vm_cr, svm::vm_cr_svmdis).gp);
    EXPECT_EQ(host.vm_cr, 0u);
    host.vm_cr = svm::vm_cr_lock;
    EXPECT_TRUE(wr(msr_vm_cr, svm::vm_cr_lock | svm::vm_cr_svmdis).gp);
    EXPECT_EQ(host.vm_cr, svm::vm_cr_lock);
    EXPECT_FALSE(wr(msr_vm_cr, svm::vm_cr_lock).gp);
}

TEST_F(HostSvmTest, HsavePaIsACheckedShadow) {
    EXPECT_FALSE(wr(msr_vm_hsave_pa, 0x12345000).gp); // kvm_amd's hardware enable
    EXPECT_EQ(rd(msr_vm_hsave_pa), 0x12345000u);
    for (std::uint64_t bad : {0x12345008ull, 1ull << 40, ~0xfffull}) {
        const MsrResult r = wr(msr_vm_hsave_pa, bad);
        EXPECT_TRUE(r.gp) << std::hex << bad;
        EXPECT_EQ(r.value, 0u); // RIP unchanged
        EXPECT_EQ(host.hsave_pa, 0x12345000u);
    }
    EXPECT_TRUE(FakeMsrs::writes.empty()); // the CPU's stays vbh's save area
}

// --- VMLOAD / VMSAVE ---------------------------------------------------------------

TEST_F(HostSvmTest, VmsaveWritesOnlyTheVmloadStateIntoAHostPage) {
    host.svme = true;
    fill_l1_state();
    std::memset(env.ram[3].data(), 0xcc, 4096);
    const auto rip = v.rip;
    EXPECT_EQ(insn(ExitCode::vmsave, 3 << 12), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(v.rip, rip + 3);
    const auto& page = *reinterpret_cast<const svm::Vmcb*>(env.ram[3].data());
    EXPECT_TRUE(same_state(page, l1));
    // Everything else in the page is as it was: the control area, CS, RIP, CR3...
    EXPECT_EQ(page.exit_code, 0xccccccccccccccccull);
    EXPECT_EQ(page.cs.base, 0xccccccccccccccccull);
    EXPECT_EQ(page.cr3, 0xccccccccccccccccull);
    EXPECT_EQ(page.cr2, 0xccccccccccccccccull);
    EXPECT_EQ(env.frames_asked, env.frames_done);
    EXPECT_EQ(logged(), 0u);
}

TEST_F(HostSvmTest, VmloadCopiesAHostPageIntoTheHostsControlBlock) {
    host.svme = true;
    fill_l1_state();
    svm::Vmcb saved = l1;
    ASSERT_EQ(insn(ExitCode::vmsave, 2 << 12), ExitAction::resume);
    auto& page = *reinterpret_cast<svm::Vmcb*>(env.ram[2].data());
    page.fs.base = 0x7fabcdef0000;
    page.kernel_gs_base = 0xffff8badc0de0000;
    l1.cs = {0x10, 0x29b, 0xffffffff, 0};
    l1.rip = 0xffffffff81234567;
    const auto rip = v.rip;
    EXPECT_EQ(insn(ExitCode::vmload, 2 << 12), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(v.rip, rip + 3);
    EXPECT_EQ(l1.fs.base, 0x7fabcdef0000u);
    EXPECT_EQ(l1.kernel_gs_base, 0xffff8badc0de0000u);
    EXPECT_EQ(l1.gs.base, saved.gs.base);
    EXPECT_EQ(l1.cs.attrib, 0x29b); // not VMLOAD state: untouched
    EXPECT_EQ(l1.rip, 0xffffffff81234567u);
    // And back: the round trip of the host's FS/GS bases.
    page.fs = saved.fs;
    page.kernel_gs_base = saved.kernel_gs_base;
    EXPECT_EQ(insn(ExitCode::vmload, 2 << 12), ExitAction::resume);
    EXPECT_TRUE(same_state(l1, saved));
    EXPECT_EQ(env.frames_asked, env.frames_done);
}

// Each bad VMLOAD/VMSAVE: the exact event, RIP unchanged, neither the page nor the
// control block changed, one log entry naming rAX and the instruction.
struct BadAddress {
    const char* what;
    std::uint64_t rax;
    std::uint8_t cpl;
    bool svme;
    std::uint8_t vector;
};

TEST_F(HostSvmTest, BadVmloadVmsaveChangesNothing) {
    env.blocked_pfns = {4, 5}; // 4: hypervisor memory, 5: a donated frame
    const BadAddress cases[] = {
        {"unaligned", (2 << 12) + 0x10, 0, true, 13},
        {"beyond MAXPHYADDR", 1ull << 40, 0, true, 13},
        {"high bits", 0x8000000000002000, 0, true, 13},
        {"MMIO / not RAM", FakeEnv::frames << 12, 0, true, 13},
        {"hypervisor frame", 4 << 12, 0, true, 13},
        {"donated frame", 5 << 12, 0, true, 13},
        {"CPL 3", 2 << 12, 3, true, 13},
        {"EFER.SVME = 0", 2 << 12, 0, false, 6},
    };
    fill_l1_state();
    for (auto& f : env.ram)
        std::memset(f.data(), 0x5a, f.size());
    const auto ram = env.ram;
    const svm::Vmcb before = l1;
    const auto rip = v.rip;
    std::uint64_t entries = 0;
    for (const BadAddress& c : cases)
        for (ExitCode code : {ExitCode::vmload, ExitCode::vmsave}) {
            host.svme = c.svme;
            v.cpl = c.cpl;
            EXPECT_EQ(insn(code, c.rax), ExitAction::resume) << c.what;
            EXPECT_EQ(v.inject.type, Event::Type::exception) << c.what;
            EXPECT_EQ(v.inject.vector, c.vector) << c.what;
            EXPECT_EQ(v.inject.error, 0u) << c.what;
            EXPECT_EQ(v.rip, rip) << c.what;
            EXPECT_EQ(std::memcmp(&l1, &before, sizeof l1), 0) << c.what;
            EXPECT_TRUE(env.ram == ram) << c.what;
            const vbh_log_entry e = last_log();
            EXPECT_EQ(logged(), ++entries) << c.what;
            EXPECT_EQ(e.kind, unsigned(VBH_LOG_VIRT_INSN)) << c.what;
            EXPECT_EQ(e.addr, c.rax) << c.what;
            EXPECT_EQ(e.info, std::uint64_t(code)) << c.what;
        }
    EXPECT_EQ(env.frames_asked, env.frames_done); // every host_page() closed
    EXPECT_EQ(env.pages_asked, 6);                // MMIO, hypervisor, donated: twice each
}

// --- CLGI / STGI: the host's GIF -----------------------------------------------------

TEST_F(HostSvmTest, NmiWaitsWhileTheHostsGifIsClear) {
    host.svme = true;
    const auto rip = v.rip;
    EXPECT_EQ(insn(ExitCode::clgi), ExitAction::resume);
    EXPECT_FALSE(host.gif);
    EXPECT_EQ(v.rip, rip + 3);
    // An NMI for the host: the dispatcher reflects it, the entry holds it.
    EXPECT_EQ(dispatch_exit(v, Exit{ExitReason::nmi, 0, 0x61, 0, 0}, env), ExitAction::resume);
    EXPECT_EQ(v.inject.type, Event::Type::nmi);
    EXPECT_EQ(svm::host_event_inj(host, v.inject, 0), 0u);
    EXPECT_TRUE(host.nmi_held);
    // A second one merges with it, as on the CPU (one NMI pending at most).
    EXPECT_EQ(svm::host_event_inj(host, Event::nmi(), 0), 0u);
    // Exceptions are not held by GIF.
    EXPECT_EQ(svm::host_event_inj(host, Event::gp(0), 0), svm::encode_event(Event::gp(0)));
    EXPECT_EQ(insn(ExitCode::stgi), ExitAction::resume);
    EXPECT_TRUE(host.gif);
    EXPECT_FALSE(host.nmi_held);
    EXPECT_EQ(v.inject.type, Event::Type::nmi); // delivered after the STGI
    EXPECT_EQ(svm::host_event_inj(host, v.inject, 0), svm::encode_event(Event::nmi()));
    EXPECT_EQ(v.rip, rip + 6);
    EXPECT_EQ(logged(), 0u);
    // With GIF set and nothing held, STGI injects nothing.
    EXPECT_EQ(insn(ExitCode::stgi), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
}

TEST_F(HostSvmTest, HeldNmiKeepsAnInterruptedEventAndIsReleasedBySvmeOff) {
    host.svme = true;
    host.gif = false;
    const std::uint64_t pending_pf = 0x80000b0eull; // #PF being delivered at the exit
    EXPECT_EQ(svm::host_event_inj(host, Event::nmi(), pending_pf), pending_pf);
    EXPECT_TRUE(host.nmi_held);
    // Clearing EFER.SVME leaves GIF = 1: the held NMI is due (and no #GP).
    EXPECT_EQ(wr(msr_efer, v.efer & ~efer_svme).value, 2u);
    EXPECT_TRUE(host.gif);
    EXPECT_FALSE(host.svme);
    EXPECT_EQ(v.inject.type, Event::Type::nmi);
}

TEST_F(HostSvmTest, ClgiStgiNeedSvmeAndCpl0) {
    const auto rip = v.rip;
    EXPECT_EQ(insn(ExitCode::clgi), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 6);
    EXPECT_TRUE(host.gif);
    EXPECT_EQ(insn(ExitCode::stgi), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 6);
    host.svme = true;
    v.cpl = 3;
    EXPECT_EQ(insn(ExitCode::clgi), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_TRUE(host.gif);
    EXPECT_EQ(v.rip, rip);
    EXPECT_EQ(logged(), 3u);
    // STGI without SVME where the CPU has SKINIT or SVM-Lock (APM vol. 3, STGI).
    host.svme = false;
    v.cpl = 0;
    host.gif = false;
    env.msr_caps.stgi_without_svme = true;
    EXPECT_EQ(insn(ExitCode::stgi), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_TRUE(host.gif);
    EXPECT_EQ(insn(ExitCode::clgi), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 6);
}

// --- INVLPGA, VMRUN, SKINIT ------------------------------------------------------------

TEST_F(HostSvmTest, InvlpgaFlushesEveryAsidAtTheNextEntry) {
    host.svme = true;
    l1.asid_tlb = svm::Asid::set(0, 1);
    v.set_reg(Gpr::rcx, 7);
    const auto rip = v.rip;
    EXPECT_EQ(insn(ExitCode::invlpga, 0x7f0000001000), ExitAction::resume);
    EXPECT_FALSE(v.inject.pending());
    EXPECT_EQ(v.rip, rip + 3);
    EXPECT_EQ(svm::TlbControl::get(l1.asid_tlb), svm::tlb_flush_all);
    EXPECT_EQ(svm::Asid::get(l1.asid_tlb), 1u);
    host.svme = false;
    l1.asid_tlb = 0;
    EXPECT_EQ(insn(ExitCode::invlpga, 0x1000), ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 6);
    EXPECT_EQ(l1.asid_tlb, 0u);
}

TEST_F(HostSvmTest, VmrunAndSkinitStayUndefined) {
    host.svme = true;
    fill_l1_state();
    const svm::Vmcb before = l1;
    const auto rip = v.rip;
    for (ExitCode c : {ExitCode::vmrun, ExitCode::skinit}) {
        EXPECT_EQ(insn(c, 2 << 12), ExitAction::resume);
        EXPECT_EQ(v.inject.vector, 6);
        EXPECT_EQ(v.rip, rip);
        EXPECT_EQ(last_log().kind, unsigned(VBH_LOG_VIRT_INSN));
        EXPECT_EQ(last_log().info, std::uint64_t(c));
    }
    EXPECT_EQ(std::memcmp(&l1, &before, sizeof l1), 0);
    EXPECT_EQ(env.pages_asked, 0);
}

// The inline answer to an EFER write (Svm::wrmsr) is sound: wherever
// host_efer_unchanged() says true, the full rule accepts the write and changes nothing
// (EFER, SVME, GIF, a held NMI, VM_CR); it says true for the write Linux repeats, and
// false wherever the full rule would refuse or change something.
TEST(HostEferUnchanged, OnlyWhereTheFullRuleChangesNothing) {
    const std::uint64_t base = efer_sce | efer_lme | efer_lma | efer_nxe | efer_svme;
    const std::uint64_t all = base | efer_ffxsr;
    int fast = 0, checked = 0;
    for (std::uint64_t efer : {base, base & ~efer_svme, base & ~efer_nxe})
        for (std::uint64_t flip : {std::uint64_t(0), efer_svme, efer_nxe, efer_lme, efer_lma,
                                   efer_tce, std::uint64_t(1) << 40})
            for (bool svme : {false, true})
                for (std::uint64_t vm_cr : {std::uint64_t(0), svm::vm_cr_svmdis})
                    for (std::uint64_t writable : {all, all & ~efer_nxe})
                        for (bool gif : {false, true}) {
                            VcpuState v = kernel_vcpu();
                            v.efer = efer;
                            svm::HostSvm h{vm_cr, 0, svme, gif, !gif};
                            const std::uint64_t value = efer ^ flip;
                            if (!svm::host_efer_unchanged(h, v, value, writable))
                                continue;
                            ++fast;
                            VcpuState v2 = v;
                            svm::HostSvm h2 = h;
                            const MsrResult r = svm::write_host_efer(h2, v2, value, writable);
                            ++checked;
                            EXPECT_FALSE(r.gp);
                            EXPECT_EQ(v2.efer, v.efer);
                            EXPECT_EQ(v2.inject.pending(), v.inject.pending());
                            EXPECT_EQ(h2.svme, h.svme);
                            EXPECT_EQ(h2.gif, h.gif);
                            EXPECT_EQ(h2.nmi_held, h.nmi_held);
                            EXPECT_EQ(h2.vm_cr, h.vm_cr);
                            // An L2's EFER write (l2_efer_write): write_efer alone.
                            VcpuState l2 = v;
                            EXPECT_FALSE(write_efer(l2, value | efer_svme, writable).gp);
                            EXPECT_EQ(l2.efer, v.efer);
                        }
    EXPECT_EQ(fast, checked);
    // The common write: the host's SVME on, the value it holds.
    VcpuState v = kernel_vcpu();
    svm::HostSvm h{0, 0, true, true, false};
    EXPECT_TRUE(svm::host_efer_unchanged(h, v, v.efer, all));
    EXPECT_FALSE(svm::host_efer_unchanged(h, v, v.efer & ~efer_svme, all)); // SVME 1 -> 0
    EXPECT_FALSE(svm::host_efer_unchanged(h, v, v.efer ^ efer_nxe, all));   // a change
    EXPECT_FALSE(svm::host_efer_unchanged(h, v, v.efer, all & ~efer_nxe));  // NXE not offered
    h.vm_cr = svm::vm_cr_svmdis;
    EXPECT_FALSE(svm::host_efer_unchanged(h, v, v.efer, all)); // SVMDIS: SVME is MBZ
    h = {0, 0, false, true, false};
    EXPECT_FALSE(svm::host_efer_unchanged(h, v, v.efer, all)); // SVME 0 -> 1
}

} // namespace
} // namespace vbh::test
