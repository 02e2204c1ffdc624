// The deprivileged host's own SVM, emulated per CPU (docs/svm-host.md): what the host
// believes its EFER.SVME, VM_CR, VM_HSAVE_PA and GIF are. The CPU's real registers stay
// vbh's: EFER.SVME = 1 at all times (VMRUN checks it, AMD APM vol. 2 §15.5.1), VM_HSAVE_PA
// points at vbh's save area, GIF is 0 whenever vbh runs. Pure functions over this state,
// hosted-tested (tests/exit/exit_host_svm_test.cpp); the instructions are host_insn.hpp.
#pragma once

#include <vbh/exit_msr.hpp>
#include <vbh/svm/exit_svm.hpp>
#include <vbh/svm/msr_policy.hpp>

#include <cstdint>

namespace vbh::svm {

// VM_CR (C001_0114h, APM vol. 2 §15.30.1): bits 63:5 reserved.
inline constexpr std::uint64_t vm_cr_dpd = 1u << 0;      // disable the debug port
inline constexpr std::uint64_t vm_cr_r_init = 1u << 1;   // INIT as #SX
inline constexpr std::uint64_t vm_cr_dis_a20m = 1u << 2;
inline constexpr std::uint64_t vm_cr_lock = 1u << 3;
inline constexpr std::uint64_t vm_cr_svmdis = 1u << 4;
inline constexpr std::uint64_t vm_cr_valid = 0x1f;

struct HostSvm {
    std::uint64_t vm_cr = 0;    // the host's VM_CR: a shadow, never written to the CPU
    std::uint64_t hsave_pa = 0; // the host's VM_HSAVE_PA: a shadow vbh never uses
    bool svme = false;          // the host's EFER.SVME
    bool gif = true;            // the host's GIF (CLGI/STGI)
    bool nmi_held = false;      // an NMI for the host arrived while gif = 0
};

// The host's state at launch: SVME and VM_HSAVE_PA as the kernel left them; VM_CR
// unlocked with SVMDIS clear (vbh offers SVM), the firmware's other bits kept.
constexpr HostSvm host_svm_at_launch(std::uint64_t kernel_efer, std::uint64_t real_vm_cr,
                                     std::uint64_t kernel_hsave) {
    return {real_vm_cr & (vm_cr_dpd | vm_cr_r_init | vm_cr_dis_a20m), kernel_hsave,
            (kernel_efer & efer_svme) != 0, true, false};
}

// STGI, or EFER.SVME cleared (which leaves GIF = 1 for the host, as KVM does for its
// guests: with SVME = 0 no STGI could ever set it): an NMI held meanwhile is due now.
inline void set_gif(HostSvm& h, VcpuState& v) {
    h.gif = true;
    if (h.nmi_held) {
        h.nmi_held = false;
        v.inject = Event::nmi();
    }
}

// EFER as the host reads it: the CPU's value with the host's own SVME.
constexpr std::uint64_t host_efer(const HostSvm& h, std::uint64_t real_efer) {
    return (real_efer & ~efer_svme) | (h.svme ? efer_svme : 0);
}

// A host EFER write of the value it holds, SVME on: what Linux does far more often
// than it changes EFER (it writes back what it read). Every check of the full rule
// below is re-made (SVME against SVMDIS, the bits CPUID reports; LME cannot change,
// the value is the current one), and when this says true the full rule would change
// nothing: EFER stays, SVME stays 1, so GIF stays too (tests/exit: exit_host_svm_test).
// Nor would write_efer alone (an L2's EFER write, nested_state.hpp): its checks are
// among these.
inline bool host_efer_unchanged(const HostSvm& h, const VcpuState& v, std::uint64_t value,
                                std::uint64_t writable) {
    return value == v.efer && h.svme && (value & efer_svme) && !(value & ~writable) &&
           !(h.vm_cr & vm_cr_svmdis);
}

// A host EFER write (§3.1.7). The CPU keeps SVME; the host's SVME is what it wrote.
// With VM_CR.SVMDIS set, SVME is MBZ (§15.30.1): #GP, as for any MBZ bit.
inline MsrResult write_host_efer(HostSvm& h, VcpuState& v, std::uint64_t value,
                                 std::uint64_t writable) {
    const bool svme = (value & efer_svme) != 0;
    if (svme && (h.vm_cr & vm_cr_svmdis))
        return {true, 0};
    const MsrResult r = write_efer(v, value | efer_svme, writable);
    if (r.gp)
        return r;
    h.svme = svme;
    if (!svme)
        set_gif(h, v);
    return r;
}

// A host VM_CR write (§15.30.1): reserved bits #GP; setting SVMDIS while the host's
// EFER.SVME is 1 #GPs whatever LOCK says; with LOCK set, writes to LOCK and SVMDIS are
// silently ignored and the other bits are written. SVM_KEY (§15.31) is not emulated,
// so a LOCK the host sets lasts until the CPU is launched again.
inline MsrResult write_host_vm_cr(HostSvm& h, std::uint64_t value) {
    if ((value & ~vm_cr_valid) != 0 || ((value & vm_cr_svmdis) && h.svme))
        return {true, 0};
    const std::uint64_t keep = (h.vm_cr & vm_cr_lock) ? (vm_cr_lock | vm_cr_svmdis) : 0;
    h.vm_cr = (h.vm_cr & keep) | (value & ~keep);
    return {false, 0};
}

// A host VM_HSAVE_PA write: 4 KiB aligned and below the maximum physical address, or
// #GP (§15.30.4; KVM checks the same for its guests). Only remembered: vbh keeps the
// host's state in its own memory, so this page is never read or written.
inline MsrResult write_host_hsave(HostSvm& h, std::uint64_t value, const MsrCaps& caps) {
    if ((value & 0xfff) != 0 || value >= caps.phys_limit)
        return {true, 0};
    h.hsave_pa = value;
    return {false, 0};
}

// EVENTINJ for the next entry of the host: the handler's event, except that an NMI waits
// while the host's GIF is 0 (§15.17: NMIs are held pending while GIF = 0) and is
// injected by set_gif(); otherwise an event whose delivery the exit interrupted is
// delivered again (§15.7.2, EXITINTINFO).
inline std::uint64_t host_event_inj(HostSvm& h, const Event& e, std::uint64_t exit_int_info) {
    if (e.pending()) [[unlikely]] {
        if (e.type != Event::Type::nmi || h.gif)
            return encode_event(e);
        h.nmi_held = true;
    }
    return EventInj::Valid::get(exit_int_info) ? exit_int_info : 0;
}

} // namespace vbh::svm
