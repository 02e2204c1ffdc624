// An L2 exit: whose it is (host_wants_exit), and the #VMEXIT the host sees when it is
// the host's (reflect_exit, AMD APM vol. 2 §15.6-§15.7), or VMEXIT_INVALID when its
// VMRUN failed (§15.5.1).
#include <vbh/svm/nested.hpp>

namespace vbh::svm {

namespace {

bool map_bit(const std::uint8_t* map, std::uint64_t bit) { return (map[bit / 8] >> (bit % 8)) & 1; }

// The MSRPM (§15.11, figure 15-5): two bits per MSR (read, write) in three ranges of
// 8K MSRs at bytes 0, 800h and 1000h. An MSR outside them always exits.
bool host_wants_msr(const std::uint8_t* map, std::uint32_t msr, bool write) {
    constexpr std::uint32_t firsts[] = {0x00000000, 0xc0000000, 0xc0010000};
    for (std::uint32_t r = 0; r < 3; ++r)
        if (msr >= firsts[r] && msr - firsts[r] < 0x2000)
            return map_bit(map, std::uint64_t(r) * 0x800 * 8 + (msr - firsts[r]) * 2 + write);
    return true;
}

// The IOPM (§15.10.1): one bit per port; an access exits if the bit of any byte it
// touches is set, which is why the map runs 3 bytes past port FFFFh.
bool host_wants_io(const std::uint8_t* map, std::uint64_t info1) {
    using I = IoioInfo;
    const std::uint64_t port = I::Port::get(info1);
    const unsigned size = I::Sz32::test(info1) ? 4 : I::Sz16::test(info1) ? 2 : 1;
    for (unsigned i = 0; i < size; ++i)
        if (map_bit(map, port + i))
            return true;
    return false;
}

} // namespace

bool host_wants_exit(const Vmcb& v12, const Vmcb& l2, const HostMaps& maps, std::uint32_t ecx) {
    const std::uint64_t code = l2.exit_code;
    if (is_vmexit_invalid(code))
        return true;
    if (code >= intercept_codes)
        return false; // NPF on vbh's stage-2; AVIC and VMGEXIT cannot happen (refused)
    const std::uint32_t words[intercept_words] = {v12.icpt_cr,    v12.icpt_dr,    v12.icpt_exc,
                                                  v12.icpt_misc3, v12.icpt_misc4, v12.icpt_misc5};
    if (!((words[code / 32] >> (code % 32)) & 1))
        return false;
    switch (ExitCode(code)) {
    case ExitCode::msr: return maps.msrpm && host_wants_msr(maps.msrpm, ecx, l2.exit_info1 == 1);
    case ExitCode::ioio: return maps.iopm && host_wants_io(maps.iopm, l2.exit_info1);
    default: return true;
    }
}

void reflect_exit(const Vmcb& l2, Vmcb& v12, Vmcb& l1) {
    // The state VMRUN loaded, as the L2 left it (§15.6).
    v12.es = l2.es;
    v12.cs = l2.cs;
    v12.ss = l2.ss;
    v12.ds = l2.ds;
    v12.gdtr = l2.gdtr;
    v12.idtr = l2.idtr;
    v12.cpl = l2.cpl;
    v12.efer = l2.efer;
    v12.cr0 = l2.cr0;
    v12.cr2 = l2.cr2;
    v12.cr3 = l2.cr3;
    v12.cr4 = l2.cr4;
    v12.dr6 = l2.dr6;
    v12.dr7 = l2.dr7;
    v12.rflags = l2.rflags;
    v12.rip = l2.rip;
    v12.rsp = l2.rsp;
    v12.rax = l2.rax;
    v12.s_cet = l2.s_cet;
    v12.ssp = l2.ssp;
    v12.isst_addr = l2.isst_addr;
    v12.spec_ctrl = l2.spec_ctrl;
    // V_TPR, V_IRQ and (with V_GIF_ENABLE) V_GIF are written back; the rest of the
    // host's virtual interrupt control stays as it wrote it (table B-1).
    using I = IntCtl;
    std::uint64_t back = I::VTpr::mask | I::VIrq::mask;
    if (I::VGifEnable::test(v12.vintr))
        back |= I::VGif::mask;
    v12.vintr = (v12.vintr & ~back) | (l2.vintr & back);
    v12.int_shadow = (v12.int_shadow & ~IntShadow::mask) | (l2.int_shadow & IntShadow::mask);
    v12.exit_code = l2.exit_code;
    v12.exit_info1 = l2.exit_info1;
    v12.exit_info2 = l2.exit_info2;
    v12.exit_int_info = l2.exit_int_info;
    v12.next_rip = l2.next_rip;
    v12.insn_len = l2.insn_len;
    for (unsigned i = 0; i < sizeof v12.insn_bytes; ++i)
        v12.insn_bytes[i] = l2.insn_bytes[i];
    // An injected event was delivered or is in EXITINTINFO: not injected again.
    v12.event_inj = 0;
    if (host_nested_paging(v12))
        v12.g_pat = l2.g_pat;
    else
        l1.g_pat = l2.g_pat; // the host's PAT, which the L2 ran under
    // What #VMEXIT leaves in the CPU: the L2's VMLOAD state until the host's VMSAVE,
    // and a host DR7 with every breakpoint disabled (L0-L3, G0-G3).
    copy_vmload_state(l2, l1);
    l1.dr7 &= ~0xffull;
}

void vmexit_invalid(Vmcb& v12) {
    v12.exit_code = std::uint64_t(ExitCode::invalid);
    v12.exit_info1 = 0;
    v12.exit_info2 = 0;
}

} // namespace vbh::svm
