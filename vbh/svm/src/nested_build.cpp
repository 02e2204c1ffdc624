// build_l2(): the control block vbh really runs for the host's L2 guest, built from the
// checked copy of VMCB12 (AMD APM vol. 2 §15.5 VMRUN, appendix B). The block starts all
// zero and each field is written on purpose, so a field of VMCB12 this file does not
// name (AVIC tables, VMSA, GHCB, N_CR3, the maps' addresses, reserved bytes) never
// reaches the hardware; every physical address in the result is one of L2Inputs'.
#include <vbh/svm/nested.hpp>

#include <cstring>

namespace vbh::svm {

namespace {

// Intercepts: the host's, plus vbh's own (nested.hpp, l2_required3/4). The exits vbh
// adds and the host did not ask for are handled by vbh (host_wants_exit()).
void build_intercepts(const Vmcb& v12, Vmcb& l2) {
    l2.icpt_cr = v12.icpt_cr;
    l2.icpt_dr = v12.icpt_dr;
    l2.icpt_exc = v12.icpt_exc;
    l2.icpt_misc3 = v12.icpt_misc3 | l2_required3;
    l2.icpt_misc4 = v12.icpt_misc4 | l2_required4 | gif_intercepts(v12);
    l2.icpt_misc5 = v12.icpt_misc5 & icpt5::defined;
    l2.pause_thresh = v12.pause_thresh;
    l2.pause_count = v12.pause_count;
}

// TLB_CONTROL (§15.16.1): what the host asked for, on vbh's ASID; a fresh ASID is
// flushed whole. FlushByAsid missing: only "flush all" exists.
std::uint64_t tlb_control(const Vmcb& v12, const NestedCaps& caps, bool flush) {
    const std::uint64_t host = TlbControl::get(v12.asid_tlb);
    if (host == tlb_flush_all)
        return tlb_flush_all;
    if (!flush && host == 0)
        return 0;
    if (!(caps.svm_features & svm_feature_flush_by_asid))
        return tlb_flush_all;
    return flush ? tlb_flush_guest : host;
}

// Virtual interrupt state (§15.21): the defined fields the host may set. AVIC and
// V_NMI_ENABLE were refused by the check; reserved bits are dropped.
std::uint64_t int_ctl(const Vmcb& v12) {
    using I = IntCtl;
    constexpr std::uint64_t pass = I::VTpr::mask | I::VIrq::mask | I::VGif::mask |
                                   I::VIntrPrio::mask | I::VIgnTpr::mask |
                                   I::VIntrMasking::mask | I::VGifEnable::mask |
                                   I::VIntrVector::mask;
    std::uint64_t r = v12.vintr & pass;
    if (!I::VGifEnable::test(r))
        r = I::VGif::set(r, 0);
    return r;
}

void build_control(const Vmcb& v12, const Vmcb& l1, const NestedCaps& caps, const L2Inputs& in,
                   Vmcb& l2) {
    build_intercepts(v12, l2);
    l2.iopm_pa = in.iopm_pa;
    l2.msrpm_pa = in.msrpm_pa;
    // The L2's TSC is the host's TSC plus the host's offset for it (§15.30.5).
    l2.tsc_offset = l1.tsc_offset + v12.tsc_offset;
    l2.asid_tlb = TlbControl::set(Asid::set(0, in.asid), tlb_control(v12, caps, in.flush));
    l2.vintr = int_ctl(v12);
    l2.int_shadow = v12.int_shadow & IntShadow::mask;
    // vbh's stage-2 always translates the L2's physical addresses (§15.25).
    l2.np_ctl = NpEnable::set(0, 1);
    l2.n_cr3 = in.npt_root;
    l2.event_inj = v12.event_inj;
    // A soft interrupt or INT3/INTO injected by the host returns to nRIP (§15.20).
    l2.next_rip = v12.next_rip;
}

// The state VMRUN loads (§15.5.1): from VMCB12.
void build_vmrun_state(const Vmcb& v12, Vmcb& l2) {
    l2.es = v12.es;
    l2.cs = v12.cs;
    l2.ss = v12.ss;
    l2.ds = v12.ds;
    l2.gdtr = v12.gdtr;
    l2.idtr = v12.idtr;
    l2.cpl = v12.cpl;
    l2.efer = v12.efer;
    l2.cr0 = v12.cr0;
    l2.cr2 = v12.cr2;
    l2.cr3 = v12.cr3;
    l2.cr4 = v12.cr4;
    l2.dr6 = v12.dr6;
    l2.dr7 = v12.dr7;
    l2.rflags = v12.rflags;
    l2.rip = v12.rip;
    l2.rsp = v12.rsp;
    l2.rax = v12.rax;
    l2.s_cet = v12.s_cet;
    l2.ssp = v12.ssp;
    l2.isst_addr = v12.isst_addr;
    l2.spec_ctrl = v12.spec_ctrl;
}

} // namespace

// The state VMLOAD loads (§15.5.2) is not VMRUN's: the L2 runs with whatever the host's
// last VMLOAD put into the CPU, which vbh keeps in the host's block (its VMLOAD/VMSAVE
// emulation writes there). vmrun.S loads it from the L2 block before VMRUN.
void copy_vmload_state(const Vmcb& from, Vmcb& to) {
    to.fs = from.fs;
    to.gs = from.gs;
    to.tr = from.tr;
    to.ldtr = from.ldtr;
    to.kernel_gs_base = from.kernel_gs_base;
    to.star = from.star;
    to.lstar = from.lstar;
    to.cstar = from.cstar;
    to.sfmask = from.sfmask;
    to.sysenter_cs = from.sysenter_cs;
    to.sysenter_esp = from.sysenter_esp;
    to.sysenter_eip = from.sysenter_eip;
}

void build_l2(const Vmcb& v12, const Vmcb& l1, const NestedCaps& caps, const L2Inputs& in,
              Vmcb& l2) {
    std::memset(&l2, 0, sizeof l2);
    build_control(v12, l1, caps, in, l2);
    build_vmrun_state(v12, l2);
    copy_vmload_state(l1, l2);
    // Guest PAT (§15.25.8): with the host's nested paging the L2's own; without, the
    // L2 runs under the host's PAT, which vbh's NPT mode keeps in the host's G_PAT.
    l2.g_pat = host_nested_paging(v12) ? v12.g_pat : l1.g_pat;
}

void merge_permission_map(const std::uint8_t* host, const std::uint8_t* vbh, std::uint8_t* out,
                          std::size_t bytes) {
    if (!host) {
        std::memcpy(out, vbh, bytes);
        return;
    }
    std::size_t i = 0;
    for (; i + 8 <= bytes; i += 8) {
        std::uint64_t a, b;
        std::memcpy(&a, host + i, 8);
        std::memcpy(&b, vbh + i, 8);
        a |= b;
        std::memcpy(out + i, &a, 8);
    }
    for (; i < bytes; ++i)
        out[i] = std::uint8_t(host[i] | vbh[i]);
}

} // namespace vbh::svm
