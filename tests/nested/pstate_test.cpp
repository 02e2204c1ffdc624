// The protected-vCPU rule engine (vbh/svm/pstate.hpp): a VMRUN that repeats the state
// of the last exit passes; each change that exit asks for passes; every other field
// changed is refused with its own name; the join rule; the record table.
#include <vbh/svm/pstate.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

namespace vbh::svm {
namespace {

constexpr std::uint64_t cr0_pe = 1, cr0_pg = 1ull << 31, cr0_cd = 1ull << 30, cr0_nw = 1ull << 29;
constexpr std::uint64_t efer_lme = 1ull << 8, efer_lma = 1ull << 10, efer_svme_ = 1ull << 12;

// A protected vCPU in long mode stopped at some exit: VMCB12 as reflect_exit() wrote
// it, the host's block holding the L2's VMLOAD state, the L2's GPRs.
struct PstateTest : ::testing::Test {
    std::unique_ptr<Vmcb> v = std::make_unique<Vmcb>();
    std::unique_ptr<Vmcb> l1 = std::make_unique<Vmcb>();
    std::uint64_t gpr[pstate_gprs] = {};
    PstateSnapshot snap{};

    PstateTest() {
        std::memset(v.get(), 0, sizeof(Vmcb));
        std::memset(l1.get(), 0, sizeof(Vmcb));
        for (unsigned i = 0; i < pstate_gprs; ++i)
            gpr[i] = 0x1000 + i;
        v->rax = 0x1000;
        v->rsp = 0x1004;
        v->rip = 0x40'1000;
        v->rflags = 0x202;
        v->cr0 = cr0_pe | cr0_pg | (1ull << 16);
        v->cr3 = 0x7000;
        v->cr4 = 0x20;
        v->efer = efer_lme | efer_lma | efer_svme_;
        v->dr6 = 0xffff0ff0;
        v->dr7 = 0x400;
        v->cs = {0x8, 0x29b, 0xffffffff, 0};
        v->ss = {0x10, 0x93, 0xffffffff, 0};
        v->gdtr = {0, 0, 0x27, 0x5000};
        v->idtr = {0, 0, 0xfff, 0x6000};
        v->g_pat = 0x0007040600070406;
        v->icpt_exc = 1u << 6;
        l1->fs = {0, 0x93, 0xffffffff, 0x10000};
        l1->gs = {0, 0x93, 0xffffffff, 0x20000};
        l1->tr = {0x18, 0x8b, 0x67, 0x3000};
        l1->lstar = 0x40'2000;
        l1->star = 0x0023001000000000;
    }
    // The exit the snapshot is taken at.
    void exit(std::uint64_t code, std::uint64_t info1 = 0, std::uint64_t info2 = 0,
              std::uint64_t next_rip = 0, std::uint64_t int_info = 0) {
        v->exit_code = code;
        v->exit_info1 = info1;
        v->exit_info2 = info2;
        v->next_rip = next_rip;
        v->exit_int_info = int_info;
        pstate_capture(*v, *l1, gpr, snap);
    }
    PField check() { return pstate_check(snap, *v, *l1, gpr); }
    std::uint64_t& reg(Gpr r) {
        return r == Gpr::rax ? v->rax : r == Gpr::rsp ? v->rsp : gpr[unsigned(r)];
    }
};

TEST_F(PstateTest, UnchangedStatePasses) {
    exit(0x60); // INTR
    EXPECT_EQ(check(), PField::none);
}

TEST_F(PstateTest, HostChangesOnlyWhatItMay) {
    exit(0x60);
    v->vintr = 0x1ff;           // V_TPR, V_IRQ
    v->tsc_offset = 12345;
    v->asid_tlb = 0x100000007;  // ASID and TLB_CONTROL
    v->icpt_misc3 |= 1u << 4;   // VINTR intercept (KVM's interrupt window)
    v->icpt_cr |= 1u << 16;     // CR0 write intercept (svm_set_cr0)
    v->pause_count = 3000;
    v->dr6 = 0xffff0ff0;        // DR6_ACTIVE_LOW every run
    EXPECT_EQ(check(), PField::none);
}

TEST_F(PstateTest, CpuidResultsAndRipAdvance) {
    exit(0x72, 0, 0, v->rip + 2);
    for (Gpr r : {Gpr::rax, Gpr::rbx, Gpr::rcx, Gpr::rdx})
        reg(r) = 0xc0ffee;
    v->rip += 2;
    EXPECT_EQ(check(), PField::none);
    reg(Gpr::rsi) = 1;
    EXPECT_EQ(check(), PField::rsi);
}

TEST_F(PstateTest, RipOnlyToNextRip) {
    exit(0x72, 0, 0, v->rip + 2);
    v->rip += 3;
    EXPECT_EQ(check(), PField::rip);
    v->rip = 0x1234; // the host's own code
    EXPECT_EQ(check(), PField::rip);
}

// No nRIP from the CPU (QEMU TCG): KVM decodes the instruction to skip it.
TEST_F(PstateTest, WithoutNextRipRipMovesOneInstructionAtMost) {
    exit(0x81); // VMMCALL, nRIP 0
    reg(Gpr::rax) = 0;
    v->rip += 3;
    EXPECT_EQ(check(), PField::none);
    v->rip += 13;
    EXPECT_EQ(check(), PField::rip);
    v->rip = snap.rip - 1;
    EXPECT_EQ(check(), PField::rip);
    exit(0x60); // an interrupt completes no instruction
    v->rip += 3;
    EXPECT_EQ(check(), PField::rip);
}

TEST_F(PstateTest, RdmsrResultsInRaxRdxOnly) {
    exit(0x7c, 0, 0, v->rip + 2);
    reg(Gpr::rax) = 1;
    reg(Gpr::rdx) = 2;
    v->rip += 2;
    EXPECT_EQ(check(), PField::none);
    reg(Gpr::rbx) = 3;
    EXPECT_EQ(check(), PField::rbx);
}

TEST_F(PstateTest, InResultAndIoioNextRip) {
    exit(0x7b, IoioInfo::In::mask | (0x70ull << 16), v->rip + 1);
    reg(Gpr::rax) = 0x55;
    v->rip += 1;
    EXPECT_EQ(check(), PField::none);
}

TEST_F(PstateTest, OutHasNoResult) {
    exit(0x7b, 0x70ull << 16, v->rip + 1);
    reg(Gpr::rax) = 0x55;
    EXPECT_EQ(check(), PField::rax);
}

TEST_F(PstateTest, VmmcallResultInRax) {
    exit(0x81, 0, 0, v->rip + 3);
    reg(Gpr::rax) = 0;
    v->rip += 3;
    EXPECT_EQ(check(), PField::none);
    reg(Gpr::rcx) = 0;
    EXPECT_EQ(check(), PField::rcx);
}

TEST_F(PstateTest, MmioReadAnyGprButRsp) {
    exit(0x400, 0x4, 0xfee00000);
    reg(Gpr::r11) = 0xdead;
    v->rip += 7;
    v->rflags |= 0x41; // CF, ZF
    EXPECT_EQ(check(), PField::none);
    v->rip += 9; // 16 bytes past: no instruction is that long
    EXPECT_EQ(check(), PField::rip);
    v->rip -= 9;
    reg(Gpr::rsp) -= 8;
    EXPECT_EQ(check(), PField::rsp);
}

TEST_F(PstateTest, RflagsSystemBitsLocked) {
    exit(0x400, 0x4, 0xfee00000);
    v->rflags |= 1u << 8; // TF
    EXPECT_EQ(check(), PField::rflags);
    v->rflags = 0x202;
    v->rflags &= ~(1ull << 9); // IF
    EXPECT_EQ(check(), PField::rflags);
}

TEST_F(PstateTest, RfMayBeClearedNotSet) {
    exit(0x60);
    v->rflags |= 1u << 16;
    EXPECT_EQ(check(), PField::rflags);
    v->rflags &= ~(1ull << 16);
    v->rflags |= 1u << 16;
    exit(0x60);
    v->rflags &= ~(1ull << 16);
    EXPECT_EQ(check(), PField::none);
}

TEST_F(PstateTest, Cr3RedirectRefused) {
    exit(0x72, 0, 0, v->rip + 2);
    v->cr3 = 0x9000;
    EXPECT_EQ(check(), PField::cr3);
}

TEST_F(PstateTest, CrWriteToTheNamedGpr) {
    constexpr std::uint64_t decode = 1ull << 63;
    gpr[unsigned(Gpr::rbx)] = 0x6b0;
    exit(0x14, decode | unsigned(Gpr::rbx), 0, v->rip + 3); // MOV CR4, RBX
    v->cr4 = 0x6b0 | (1u << 6);                            // | the host's MCE
    v->rip += 3;
    EXPECT_EQ(check(), PField::none);
    v->cr4 = 0x6b8;
    EXPECT_EQ(check(), PField::cr4);
}

TEST_F(PstateTest, Cr0WriteWithCdNwQuirkAndLma) {
    constexpr std::uint64_t decode = 1ull << 63;
    v->cr0 = cr0_pe | cr0_cd | cr0_nw;
    v->efer = efer_lme | efer_svme_;
    gpr[unsigned(Gpr::rdx)] = cr0_pe | cr0_pg | cr0_cd | cr0_nw;
    exit(0x10, decode | unsigned(Gpr::rdx), 0, v->rip + 3);
    v->cr0 = cr0_pe | cr0_pg; // KVM_X86_QUIRK_CD_NW_CLEARED
    v->efer |= efer_lma;      // paging on with LME
    v->rip += 3;
    EXPECT_EQ(check(), PField::none);
}

TEST_F(PstateTest, CrWriteWithoutDecodeAssistRefused) {
    exit(0x10, 0, 0, v->rip + 3);
    v->cr0 &= ~cr0_pg;
    EXPECT_EQ(check(), PField::cr0);
}

TEST_F(PstateTest, WrmsrChangesOnlyItsField) {
    gpr[unsigned(Gpr::rcx)] = 0xc0000082; // LSTAR
    gpr[unsigned(Gpr::rdx)] = 0xffffffff;
    v->rax = 0x81000000;
    exit(0x7c, 1, 0, v->rip + 2);
    l1->lstar = 0xffffffff81000000;
    v->rip += 2;
    EXPECT_EQ(check(), PField::none);
    l1->cstar = 1;
    EXPECT_EQ(check(), PField::cstar);
}

TEST_F(PstateTest, WrmsrEferWithSvme) {
    gpr[unsigned(Gpr::rcx)] = 0xc0000080;
    gpr[unsigned(Gpr::rdx)] = 0;
    v->rax = efer_lme | efer_lma | (1u << 11); // + NXE
    exit(0x7c, 1, 0, v->rip + 2);
    v->efer = efer_lme | efer_lma | (1u << 11) | efer_svme_;
    v->rip += 2;
    EXPECT_EQ(check(), PField::none);
}

TEST_F(PstateTest, WrmsrFsBase) {
    gpr[unsigned(Gpr::rcx)] = 0xc0000100;
    gpr[unsigned(Gpr::rdx)] = 0;
    v->rax = 0x77000;
    exit(0x7c, 1, 0, v->rip + 2);
    l1->fs.base = 0x77000;
    v->rip += 2;
    EXPECT_EQ(check(), PField::none);
    l1->gs.base = 0x77000;
    EXPECT_EQ(check(), PField::gs);
}

// Every locked field, changed alone after an exit that asked for nothing.
TEST_F(PstateTest, EachLockedFieldRefusedByName) {
    struct Case {
        PField f;
        void (*change)(Vmcb& v, Vmcb& l1);
    } cases[] = {
        {PField::cr0, [](Vmcb& v, Vmcb&) { v.cr0 ^= 1u << 16; }},
        {PField::cr2, [](Vmcb& v, Vmcb&) { v.cr2 = 1; }},
        {PField::cr4, [](Vmcb& v, Vmcb&) { v.cr4 ^= 1u << 20; }},
        {PField::efer, [](Vmcb& v, Vmcb&) { v.efer ^= 1u << 11; }},
        {PField::dr6, [](Vmcb& v, Vmcb&) { v.dr6 = 0xffff4ff0; }},
        {PField::dr7, [](Vmcb& v, Vmcb&) { v.dr7 = 0x401; }},
        {PField::cpl, [](Vmcb& v, Vmcb&) { v.cpl = 3; }},
        {PField::es, [](Vmcb& v, Vmcb&) { v.es.base = 1; }},
        {PField::cs, [](Vmcb& v, Vmcb&) { v.cs.base = 0x1000; }},
        {PField::ss, [](Vmcb& v, Vmcb&) { v.ss.attrib = 0; }},
        {PField::ds, [](Vmcb& v, Vmcb&) { v.ds.limit = 1; }},
        {PField::fs, [](Vmcb&, Vmcb& l1) { l1.fs.base = 1; }},
        {PField::gs, [](Vmcb&, Vmcb& l1) { l1.gs.selector = 1; }},
        {PField::gdtr, [](Vmcb& v, Vmcb&) { v.gdtr.base = 0x9000; }},
        {PField::idtr, [](Vmcb& v, Vmcb&) { v.idtr.base = 0x9000; }},
        {PField::ldtr, [](Vmcb&, Vmcb& l1) { l1.ldtr.base = 1; }},
        {PField::tr, [](Vmcb&, Vmcb& l1) { l1.tr.base = 1; }},
        {PField::star, [](Vmcb&, Vmcb& l1) { l1.star = 1; }},
        {PField::lstar, [](Vmcb&, Vmcb& l1) { l1.lstar = 0x1234; }},
        {PField::cstar, [](Vmcb&, Vmcb& l1) { l1.cstar = 1; }},
        {PField::sfmask, [](Vmcb&, Vmcb& l1) { l1.sfmask = 1; }},
        {PField::kernel_gs_base, [](Vmcb&, Vmcb& l1) { l1.kernel_gs_base = 1; }},
        {PField::sysenter_cs, [](Vmcb&, Vmcb& l1) { l1.sysenter_cs = 1; }},
        {PField::sysenter_esp, [](Vmcb&, Vmcb& l1) { l1.sysenter_esp = 1; }},
        {PField::sysenter_eip, [](Vmcb&, Vmcb& l1) { l1.sysenter_eip = 1; }},
        {PField::g_pat, [](Vmcb& v, Vmcb&) { v.g_pat = 0x0606060606060606; }},
        {PField::s_cet, [](Vmcb& v, Vmcb&) { v.s_cet = 1; }},
        {PField::ssp, [](Vmcb& v, Vmcb&) { v.ssp = 8; }},
        {PField::isst_addr, [](Vmcb& v, Vmcb&) { v.isst_addr = 8; }},
        {PField::spec_ctrl, [](Vmcb& v, Vmcb&) { v.spec_ctrl = 1; }},
        {PField::icpt_pf, [](Vmcb& v, Vmcb&) { v.icpt_exc |= 1u << 14; }},
        {PField::int_shadow, [](Vmcb& v, Vmcb&) { v.int_shadow = 1; }},
        {PField::event_inj, [](Vmcb& v, Vmcb&) { v.event_inj = (1u << 31) | (4u << 8) | 0x80; }},
    };
    exit(0x60);
    const Vmcb v0 = *v, l10 = *l1;
    for (const Case& c : cases) {
        *v = v0;
        *l1 = l10;
        c.change(*v, *l1);
        EXPECT_EQ(check(), c.f) << to_string(c.f);
    }
    for (unsigned i = 0; i < pstate_gprs; ++i) {
        *v = v0;
        const std::uint64_t old = reg(Gpr(i));
        reg(Gpr(i)) ^= 0x100;
        EXPECT_EQ(check(), PField(i)) << to_string(PField(i));
        reg(Gpr(i)) = old;
    }
}

TEST_F(PstateTest, EventsAnExitMayAskFor) {
    using I = EventInj;
    const auto ev = [](std::uint64_t type, std::uint64_t vec) {
        return I::Valid::mask | I::Type::set(0, type) | I::Vector::set(0, vec);
    };
    exit(0x60);
    v->event_inj = ev(I::type_intr, 0xec);
    EXPECT_EQ(check(), PField::none);
    v->event_inj = ev(I::type_intr, 14); // an "interrupt" on an exception vector
    EXPECT_EQ(check(), PField::event_inj);
    v->event_inj = ev(I::type_nmi, 2);
    EXPECT_EQ(check(), PField::none);
    v->event_inj = ev(I::type_exception, 14); // a #PF the guest never took
    EXPECT_EQ(check(), PField::event_inj);
    // The intercepted exception (#UD, exit 0x46) reflected back.
    exit(0x46);
    v->event_inj = ev(I::type_exception, 6);
    EXPECT_EQ(check(), PField::none);
    v->event_inj = ev(I::type_exception, 13);
    EXPECT_EQ(check(), PField::event_inj);
    // Re-injection: exactly EXITINTINFO.
    const std::uint64_t pf = ev(I::type_exception, 14) | I::Ev::mask | I::Error::set(0, 2);
    exit(0x400, 0x4, 0x1000, 0, pf);
    v->event_inj = pf;
    EXPECT_EQ(check(), PField::none);
    v->event_inj = pf ^ I::Error::set(0, 1);
    EXPECT_EQ(check(), PField::event_inj);
    // #GP for an instruction KVM refused (WRMSR of an unknown MSR).
    exit(0x7c, 1, 0, v->rip + 2);
    v->event_inj = ev(I::type_exception, 13) | I::Ev::mask;
    EXPECT_EQ(check(), PField::none);
}

TEST_F(PstateTest, InterruptShadowMayBeCleared) {
    v->int_shadow = 1;
    exit(0x60);
    v->int_shadow = 0;
    EXPECT_EQ(check(), PField::none);
}

// The join rule: real mode at the domain's own private code.
TEST_F(PstateTest, JoinOnlyInRealModeAtPrivateCode) {
    v->cr0 = 0x10;
    v->efer = efer_svme_;
    v->cs = {0x9a00, 0x93, 0xffff, 0x9a000};
    v->rip = 0;
    v->idtr = {0, 0, 0xffff, 0x8000};
    const auto private_at = [](std::uint64_t gfn) { return gfn == 0x9a || gfn == 0x8; };
    EXPECT_EQ(pstate_join(*v, private_at), PField::none);
    v->cs.base = 0x7000;
    EXPECT_EQ(pstate_join(*v, private_at), PField::join_code);
    v->cs.base = 0x9a000;
    v->idtr.base = 0;
    EXPECT_EQ(pstate_join(*v, private_at), PField::join_idt);
    v->idtr.base = 0x8000;
    v->cr0 |= cr0_pe;
    EXPECT_EQ(pstate_join(*v, private_at), PField::join_mode);
    v->cr0 = 0x10;
    v->efer |= efer_lme;
    EXPECT_EQ(pstate_join(*v, private_at), PField::join_mode);
}

TEST(PstateTable, ClaimFindReleaseForget) {
    auto t = std::make_unique<PstateTable>();
    LockGuard g{t->lock()};
    EXPECT_EQ(t->find(0x1000, 1), nullptr);
    PstateRecord* a = t->claim(0x1000, 1);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(t->find(0x1000, 1), a);
    EXPECT_EQ(t->find(0x1000, 2), nullptr); // keyed by address and domain
    a->snap.gpr[0] = 42;
    a->has_snapshot = true;
    t->saw_private(1);
    EXPECT_TRUE(t->holds_private(1));
    EXPECT_FALSE(t->holds_private(2));
    ASSERT_NE(t->claim(0x2000, 2), nullptr);
    EXPECT_EQ(t->in_use(), 2u);
    EXPECT_EQ(t->forget(1), 1u);
    EXPECT_FALSE(t->holds_private(1));
    EXPECT_EQ(t->find(0x1000, 1), nullptr);
    EXPECT_EQ(t->in_use(), 1u);
    // Forgotten records are zeroed: the guest's registers do not stay behind.
    for (std::uint32_t i = 0; i < PstateTable::capacity; ++i) {
        if (t->record(i)->v12_pa == 0) {
            EXPECT_EQ(t->record(i)->snap.gpr[0], 0u);
        }
    }
}

TEST(PstateTable, FullTableRefusesNewRecords) {
    auto t = std::make_unique<PstateTable>();
    LockGuard g{t->lock()};
    for (std::uint32_t i = 0; i < PstateTable::capacity; ++i)
        ASSERT_NE(t->claim(0x1000 * (i + 1), 1), nullptr);
    EXPECT_EQ(t->claim(0x100000, 1), nullptr);
    t->release(*t->find(0x1000, 1));
    EXPECT_NE(t->claim(0x100000, 1), nullptr);
}

} // namespace
} // namespace vbh::svm
