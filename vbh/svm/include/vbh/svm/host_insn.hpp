// The host's SVM instructions (AMD APM vol. 3 VMLOAD, VMSAVE, CLGI, STGI, INVLPGA,
// VMRUN, SKINIT; vol. 2 §15.5.2, §15.17), emulated on the host's own SVM state
// (host_svm.hpp) and its control block (`l1`, the VMCB the host runs in). Every one is
// intercepted (svm/prepare.cpp), so the CPU has made only the checks that come before
// an intercept (§15.9: the CPL check, #UD for the CPU's own EFER.SVME, which is always
// 1); the rest are made here, as the instruction would:
//   #UD   the host's EFER.SVME is 0 (STGI exempt when CPUID reports SKINIT or SVM-Lock);
//         VMRUN and SKINIT always (VMRUN: not emulated yet, docs/svm-host.md);
//   #GP(0) CPL > 0 (the CPU checks this first; repeated for a CPU that does not);
//          VMLOAD/VMSAVE: rAX not 4 KiB aligned, at or above MAXPHYADDR, or not a page
//          of host-owned RAM (vbh's own, a donated frame, MMIO: logged).
// The address size of rAX is taken as 64 bits: an address-size prefix is not decoded
// (no decode assists under QEMU TCG, docs/platform.md quirk 1; Linux never uses one).
#pragma once

#include <vbh/svm/host_svm.hpp>
#include <vbh/svm/nested.hpp>
#include <vbh/svm/vmcb.hpp>

#include <cstdint>

namespace vbh::svm {

// The VMLOAD/VMSAVE state (§15.5.2): FS, GS, TR, LDTR with their hidden parts,
// KernelGsBase, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_CS/ESP/EIP. After every #VMEXIT vbh
// VMSAVEs the host's into its control block and VMLOADs it from there before the next
// VMRUN (vmrun.S), so that block is where the host's CPU holds them: VMLOAD copies a
// host page into it, VMSAVE the reverse (copy_vmload_state, nested.hpp). No field is
// checked: the CPU takes them as they are when vbh's own VMLOAD runs, exactly as it
// would from the host's page.

// What the emulation needs from the hypervisor: a host page and the log. host_page()
// gives a frame only while it is host-owned RAM mapped for the host, and holds off a
// concurrent donate of it until host_frame_done() (the output-frame protocol of
// docs/launch.md, "Output frames").
template <class E>
concept HostInsnEnv = requires(E& e, std::uint64_t pfn) {
    { e.host_page(pfn) } -> std::same_as<Result<void*>>;
    { e.host_frame_done() } -> std::same_as<void>;
    { e.log() } -> std::same_as<EventLog&>;
};

// A refusal: logged with rAX and the exit code, the event injected, RIP unchanged.
template <HostInsnEnv E>
ExitAction refuse_host_insn(VcpuState& v, const Exit x, E& env, Event e) {
    env.log().record(VBH_LOG_VIRT_INSN, v.cpu, v.reg(Gpr::rax), v.rip, x.code);
    v.inject = e;
    return ExitAction::resume;
}

template <HostInsnEnv E>
[[gnu::always_inline]] inline ExitAction host_vmload_vmsave(Vmcb& l1, VcpuState& v, const Exit& x, E& env,
                              const MsrCaps& caps) {
    const std::uint64_t pa = v.reg(Gpr::rax);
    if ((pa & 0xfff) != 0 || pa >= caps.phys_limit)
        return refuse_host_insn(v, x, env, Event::gp(0));
    const Result<void*> page = env.host_page(pa >> 12);
    if (!page) {
        env.host_frame_done();
        return refuse_host_insn(v, x, env, Event::gp(0));
    }
    auto& host = *static_cast<Vmcb*>(*page);
    if (ExitCode(x.code) == ExitCode::vmload)
        copy_vmload_state(host, l1);
    else
        copy_vmload_state(l1, host);
    env.host_frame_done();
    v.rip += x.insn_len;
    return ExitAction::resume;
}

// INVLPGA rAX, ECX (§15.16.3): invalidate one page of one of the host's ASIDs. No
// translation of any ASID but the host's own (its 0, vbh's ASID of l1) exists yet
// (VMRUN is not emulated), and later ones belong to guests the host enters from l1:
// flushing every ASID when l1 next enters (TLB_CONTROL 1, always supported) is
// correct for all of them, if more than asked for; KVM issues INVLPGA only for
// shadow-paged guests.
inline void host_invlpga(Vmcb& l1) { l1.asid_tlb = TlbControl::set(l1.asid_tlb, tlb_flush_all); }

// The exit of one of the host's SVM instructions; inline on the exit path (Svm::virt_insn).
template <HostInsnEnv E>
[[gnu::always_inline]] inline ExitAction emulate_host_insn(HostSvm& h, Vmcb& l1, VcpuState& v, const Exit& x, E& env,
                             const MsrCaps& caps) {
    const auto code = ExitCode(x.code);
    const bool enabled = h.svme || (code == ExitCode::stgi && caps.stgi_without_svme);
    if (!enabled || code == ExitCode::vmrun || code == ExitCode::skinit)
        return refuse_host_insn(v, x, env, Event::ud());
    if (v.cpl != 0)
        return refuse_host_insn(v, x, env, Event::gp(0));
    switch (code) {
    case ExitCode::clgi: h.gif = false; break;
    case ExitCode::stgi: set_gif(h, v); break;
    case ExitCode::vmload:
    case ExitCode::vmsave: return host_vmload_vmsave(l1, v, x, env, caps);
    case ExitCode::invlpga: host_invlpga(l1); break;
    default: return refuse_host_insn(v, x, env, Event::ud());
    }
    v.rip += x.insn_len;
    return ExitAction::resume;
}

} // namespace vbh::svm
