// The protected-vCPU rule engine (pstate.hpp): what an exit lets the host change before
// the next VMRUN of that VMCB12. The allowances follow what KVM 6.12's svm.c writes for
// a guest with nested paging (docs/protected-vm.md, "Authoritative vCPU state"):
//   - an instruction it completed: RIP to the exit's nRIP (IOIO: EXITINFO2; without
//     an nRIP forward by 1..15 bytes, KVM's decoded skip), the
//     instruction's result registers (CPUID: RAX/RBX/RCX/RDX; RDMSR: RAX/RDX; IN: RAX;
//     VMMCALL: KVM's hypercall result in RAX; MOV from CR/DR with decode assists: the
//     GPR EXITINFO1 names);
//   - an instruction it emulated after an NPF (MMIO): RIP forward by 1..15 bytes, any
//     GPR but RSP, the arithmetic RFLAGS bits;
//   - a write the guest asked for: a CR/DR to the GPR the decode assist names (CR0 with
//     CD/NW cleared: KVM_X86_QUIRK_CD_NW_CLEARED; CR4 with the host's MCE: svm_set_cr4;
//     EFER.LMA when that CR0 write turns paging on with LME), an MSR that VMCB12 backs
//     to EDX:EAX (EFER with SVME, KVM's svm_set_efer, and its old LMA);
//   - every run: DR6 reset to DR6_ACTIVE_LOW (svm_vcpu_run), RFLAGS.RF and the
//     interrupt shadow cleared (the emulator's retirement);
//   - events: an external interrupt (vector >= 32) or NMI, the intercepted exception
//     reflected back, #UD/#GP for an instruction it refused, or EXITINTINFO re-injected.
// Intercept words, V_IRQ/V_TPR/V_INTR, TSC offset, ASID/TLB control and the pause
// filter are the host's to change: they decide when the guest exits, never what it
// runs; only a #PF intercept added is refused (its decode assist copies private code).
#include <vbh/svm/pstate.hpp>

#include <cstring>

namespace vbh::svm {

namespace {

using I = EventInj;

constexpr std::uint64_t bit(unsigned n) { return 1ull << n; }
constexpr std::uint64_t cr0_cd = bit(30), cr0_nw = bit(29), cr0_pg = bit(31);
constexpr std::uint64_t cr4_mce = bit(6);
constexpr std::uint64_t efer_lme = bit(8), efer_lma = bit(10), efer_svme_bit = bit(12);
constexpr std::uint64_t rflags_arith = 0x8d5; // CF, PF, AF, ZF, SF, OF
constexpr std::uint64_t rflags_rf = bit(16);
constexpr std::uint64_t dr6_active_low = 0xffff0ff0;
constexpr std::uint64_t decode_valid = bit(63); // EXITINFO1 of MOV CR/DR (§15.33)
constexpr unsigned pf_vector = 14, ud_vector = 6, gp_vector = 13;

constexpr std::uint64_t npf = 0x400, cpuid = 0x72, ioio = 0x7b, msr = 0x7c, vmmcall = 0x81;
constexpr std::uint64_t cr0_sel_write = 0x65, exc_first = 0x40;

// Exits of an instruction the host may complete (and so skip to nRIP): MOV CR/DR,
// CR0 selective write, RDTSC, RDPMC, CPUID, INVD, HLT, INVLPG, IOIO, MSR, the SVM
// instructions, RDTSCP, WBINVD, MONITOR, MWAIT, XSETBV, RDPRU.
bool instruction_exit(std::uint64_t c) {
    return c < 0x40 || c == cr0_sel_write || c == 0x6e || c == 0x6f || c == cpuid ||
           c == 0x76 || c == 0x78 || c == 0x79 || c == ioio || c == msr ||
           (c >= 0x80 && c <= 0x87) || (c >= 0x89 && c <= 0x8e);
}

// The GPRs the exit's result may change (bit i: Gpr i).
std::uint32_t result_gprs(const PstateSnapshot& s) {
    constexpr auto g = [](Gpr r) { return std::uint32_t(1) << unsigned(r); };
    const std::uint64_t c = s.exit_code;
    if (c == npf)
        return 0xffffu & ~g(Gpr::rsp);
    if (c == cpuid)
        return g(Gpr::rax) | g(Gpr::rbx) | g(Gpr::rcx) | g(Gpr::rdx);
    if (c == msr && s.exit_info1 == 0)
        return g(Gpr::rax) | g(Gpr::rdx);
    if (c == ioio && IoioInfo::In::test(s.exit_info1) && !IoioInfo::String::test(s.exit_info1))
        return g(Gpr::rax);
    if (c == vmmcall)
        return g(Gpr::rax);
    // MOV from CRn (0x00-0x0f) or DRn (0x20-0x2f) with the decode assist's GPR.
    if ((c < 0x10 || (c >= 0x20 && c < 0x30)) && (s.exit_info1 & decode_valid))
        return std::uint32_t(1) << (s.exit_info1 & 0xf);
    return 0;
}

// RIP: kept, or past the instruction the exit completed: to nRIP (IOIO: EXITINFO2), or,
// where the CPU gave no nRIP (QEMU 7.2 TCG leaves it 0 for most intercepts, and KVM's
// svm_skip_emulated_instruction then decodes the instruction: EMULTYPE_SKIP), forward
// by one instruction's length at most, as after an emulated MMIO access (NPF).
bool rip_ok(const PstateSnapshot& s, std::uint64_t rip) {
    if (rip == s.rip)
        return true;
    const bool forward = rip - s.rip >= 1 && rip - s.rip <= 15;
    if (instruction_exit(s.exit_code))
        return s.next_rip != 0 ? rip == s.next_rip : forward;
    if (s.exit_code == ioio && rip == s.exit_info2)
        return true;
    return s.exit_code == npf && forward;
}

// The value a MOV to CR/DR n asked for (exit 0x10+n / 0x30+n, or the CR0 selective
// write), if this exit is one with the decode assist.
bool mov_to(const PstateSnapshot& s, std::uint64_t code, std::uint64_t& value) {
    const bool hit = s.exit_code == code || (code == 0x10 && s.exit_code == cr0_sel_write);
    if (!hit || !(s.exit_info1 & decode_valid))
        return false;
    value = s.gpr[s.exit_info1 & 0xf];
    return true;
}

// The value a WRMSR of this exit asked for, if it wrote `index`.
bool wrmsr_of(const PstateSnapshot& s, std::uint32_t index, std::uint64_t& value) {
    if (s.exit_code != msr || s.exit_info1 != 1 || std::uint32_t(s.gpr[unsigned(Gpr::rcx)]) != index)
        return false;
    value = (s.gpr[unsigned(Gpr::rdx)] << 32) | std::uint32_t(s.gpr[unsigned(Gpr::rax)]);
    return true;
}

// An MSR-backed field: unchanged, or the value this exit's WRMSR asked for.
bool msr_field_ok(const PstateSnapshot& s, std::uint32_t index, std::uint64_t was, std::uint64_t now) {
    std::uint64_t v;
    return now == was || (wrmsr_of(s, index, v) && now == v);
}

bool cr0_ok(const PstateSnapshot& s, std::uint64_t now) {
    std::uint64_t v;
    return now == s.cr0 || (mov_to(s, 0x10, v) && (now == v || now == (v & ~(cr0_cd | cr0_nw))));
}

bool efer_ok(const PstateSnapshot& s, std::uint64_t now, std::uint64_t cr0_now) {
    if (now == s.efer)
        return true;
    std::uint64_t v;
    if (wrmsr_of(s, 0xc0000080, v))
        return now == (v | efer_svme_bit) || now == ((v & ~efer_lma) | (s.efer & efer_lma) | efer_svme_bit);
    // svm_set_cr0: paging turned on with LME sets LMA (and LME) in VMCB12's EFER.
    const bool paging_on = !(s.cr0 & cr0_pg) && (cr0_now & cr0_pg) && (s.efer & efer_lme);
    return paging_on && mov_to(s, 0x10, v) && now == (s.efer | efer_lma | efer_lme);
}

bool same(const Segment& a, const Segment& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// A segment whose base an MSR writes (FS, GS): the rest unchanged, the base unchanged
// or the WRMSR's value.
bool seg_msr_ok(const PstateSnapshot& s, std::uint32_t index, const Segment& was, const Segment& now) {
    Segment rebased = now;
    rebased.base = was.base;
    return same(was, rebased) && msr_field_ok(s, index, was.base, now.base);
}

// The event VMRUN would deliver (EVENTINJ), against what the exit asked for.
bool event_ok(const PstateSnapshot& s, const Vmcb& v) {
    const std::uint64_t e = v.event_inj;
    if (!I::Valid::test(e))
        return true;
    const std::uint64_t type = I::Type::get(e), vec = I::Vector::get(e);
    if (type == I::type_intr)
        return vec >= 32;
    if (type == I::type_nmi)
        return true;
    // Re-injection: exactly the event whose delivery the exit interrupted.
    constexpr std::uint64_t what = I::Valid::mask | I::Type::mask | I::Vector::mask | I::Ev::mask;
    const std::uint64_t was = s.exit_int_info;
    if (I::Valid::test(was) && (e & what) == (was & what) &&
        (!I::Ev::test(e) || I::Error::get(e) == I::Error::get(was))) {
        // A soft interrupt returns to nRIP: within an instruction after RIP.
        return type != I::type_soft_int || (v.next_rip - v.rip >= 1 && v.next_rip - v.rip <= 15);
    }
    if (type != I::type_exception)
        return false;
    if (s.exit_code == exc_first + vec)
        return true; // the intercepted exception, reflected back
    return instruction_exit(s.exit_code) && (vec == ud_vector || vec == gp_vector);
}

} // namespace

void pstate_capture(const Vmcb& v, const Vmcb& l1, const std::uint64_t* gpr, PstateSnapshot& o) {
    for (std::size_t i = 0; i < pstate_gprs; ++i)
        o.gpr[i] = gpr[i];
    o.gpr[unsigned(Gpr::rax)] = v.rax;
    o.gpr[unsigned(Gpr::rsp)] = v.rsp;
    o.rip = v.rip;
    o.rflags = v.rflags;
    o.cr0 = v.cr0;
    o.cr2 = v.cr2;
    o.cr3 = v.cr3;
    o.cr4 = v.cr4;
    o.efer = v.efer;
    o.dr6 = v.dr6;
    o.dr7 = v.dr7;
    o.es = v.es;
    o.cs = v.cs;
    o.ss = v.ss;
    o.ds = v.ds;
    o.gdtr = v.gdtr;
    o.idtr = v.idtr;
    // The VMLOAD set: the L2's, which reflect_exit() left in the host's block.
    o.fs = l1.fs;
    o.gs = l1.gs;
    o.ldtr = l1.ldtr;
    o.tr = l1.tr;
    o.star = l1.star;
    o.lstar = l1.lstar;
    o.cstar = l1.cstar;
    o.sfmask = l1.sfmask;
    o.kernel_gs_base = l1.kernel_gs_base;
    o.sysenter_cs = l1.sysenter_cs;
    o.sysenter_esp = l1.sysenter_esp;
    o.sysenter_eip = l1.sysenter_eip;
    o.g_pat = v.g_pat;
    o.s_cet = v.s_cet;
    o.ssp = v.ssp;
    o.isst_addr = v.isst_addr;
    o.spec_ctrl = v.spec_ctrl;
    o.int_shadow = v.int_shadow & IntShadow::mask;
    o.icpt_exc = v.icpt_exc;
    o.cpl = v.cpl;
    o.exit_code = v.exit_code;
    o.exit_info1 = v.exit_info1;
    o.exit_info2 = v.exit_info2;
    o.exit_int_info = v.exit_int_info;
    o.next_rip = v.next_rip;
}

PField pstate_check(const PstateSnapshot& s, const Vmcb& v, const Vmcb& l1, const std::uint64_t* gpr) {
    const std::uint32_t results = result_gprs(s);
    for (std::size_t i = 0; i < pstate_gprs; ++i) {
        const std::uint64_t now = i == unsigned(Gpr::rax) ? v.rax : i == unsigned(Gpr::rsp) ? v.rsp : gpr[i];
        if (now != s.gpr[i] && !((results >> i) & 1))
            return PField(i);
    }
    if (!rip_ok(s, v.rip))
        return PField::rip;
    const std::uint64_t flags = v.rflags ^ s.rflags;
    const std::uint64_t may = (s.exit_code == npf ? rflags_arith : 0) | (s.rflags & rflags_rf);
    if (flags & ~may)
        return PField::rflags;
    if (!cr0_ok(s, v.cr0))
        return PField::cr0;
    if (v.cr2 != s.cr2)
        return PField::cr2;
    std::uint64_t want;
    if (v.cr3 != s.cr3 && !(mov_to(s, 0x13, want) && v.cr3 == want))
        return PField::cr3;
    if (v.cr4 != s.cr4 && !(mov_to(s, 0x14, want) && (v.cr4 == want || v.cr4 == (want | cr4_mce))))
        return PField::cr4;
    if (!efer_ok(s, v.efer, v.cr0))
        return PField::efer;
    if (v.dr6 != s.dr6 && v.dr6 != dr6_active_low && !(mov_to(s, 0x36, want) && v.dr6 == want))
        return PField::dr6;
    if (v.dr7 != s.dr7 && !(mov_to(s, 0x37, want) && v.dr7 == want))
        return PField::dr7;
    if (v.cpl != s.cpl)
        return PField::cpl;
    const struct {
        const Segment& was;
        const Segment& now;
        PField f;
    } segs[] = {{s.es, v.es, PField::es},       {s.cs, v.cs, PField::cs},
                {s.ss, v.ss, PField::ss},       {s.ds, v.ds, PField::ds},
                {s.gdtr, v.gdtr, PField::gdtr}, {s.idtr, v.idtr, PField::idtr},
                {s.ldtr, l1.ldtr, PField::ldtr}, {s.tr, l1.tr, PField::tr}};
    for (const auto& g : segs)
        if (!same(g.was, g.now))
            return g.f;
    if (!seg_msr_ok(s, 0xc0000100, s.fs, l1.fs))
        return PField::fs;
    if (!seg_msr_ok(s, 0xc0000101, s.gs, l1.gs))
        return PField::gs;
    const struct {
        std::uint32_t index;
        std::uint64_t was, now;
        PField f;
    } msrs[] = {
        {0xc0000081, s.star, l1.star, PField::star},
        {0xc0000082, s.lstar, l1.lstar, PField::lstar},
        {0xc0000083, s.cstar, l1.cstar, PField::cstar},
        {0xc0000084, s.sfmask, l1.sfmask, PField::sfmask},
        {0xc0000102, s.kernel_gs_base, l1.kernel_gs_base, PField::kernel_gs_base},
        {0x174, s.sysenter_cs, l1.sysenter_cs, PField::sysenter_cs},
        {0x175, s.sysenter_esp, l1.sysenter_esp, PField::sysenter_esp},
        {0x176, s.sysenter_eip, l1.sysenter_eip, PField::sysenter_eip},
        {0x277, s.g_pat, v.g_pat, PField::g_pat},
        {0x6a2, s.s_cet, v.s_cet, PField::s_cet},
        {0, s.ssp, v.ssp, PField::ssp}, // no MSR writes the current SSP
        {0x6a8, s.isst_addr, v.isst_addr, PField::isst_addr},
        {0x48, s.spec_ctrl, v.spec_ctrl, PField::spec_ctrl},
    };
    for (const auto& m : msrs)
        if (!msr_field_ok(s, m.index, m.was, m.now))
            return m.f;
    if ((v.icpt_exc & ~s.icpt_exc) & (1u << pf_vector))
        return PField::icpt_pf;
    if ((v.int_shadow & IntShadow::mask) & ~s.int_shadow)
        return PField::int_shadow;
    if (!event_ok(s, v))
        return PField::event_inj;
    return PField::none;
}

PstateRecord* PstateTable::find(std::uint64_t pa, std::uint16_t dom) {
    for (PstateRecord& r : records_)
        if (r.v12_pa == pa && r.dom == dom)
            return &r;
    return nullptr;
}

PstateRecord* PstateTable::claim(std::uint64_t pa, std::uint16_t dom) {
    for (PstateRecord& r : records_)
        if (r.v12_pa == 0) {
            r.v12_pa = pa;
            r.dom = dom;
            return &r;
        }
    return nullptr;
}

void PstateTable::release(PstateRecord& r) { std::memset(&r, 0, sizeof r); }

std::uint32_t PstateTable::forget(std::uint16_t dom) {
    std::uint32_t n = 0;
    for (PstateRecord& r : records_)
        if (r.v12_pa != 0 && r.dom == dom) {
            release(r);
            ++n;
        }
    if (dom < max_domains)
        __atomic_store_n(&private_[dom], false, __ATOMIC_RELEASE);
    return n;
}

std::uint32_t PstateTable::in_use() const {
    std::uint32_t n = 0;
    for (const PstateRecord& r : records_)
        n += r.v12_pa != 0;
    return n;
}

} // namespace vbh::svm
