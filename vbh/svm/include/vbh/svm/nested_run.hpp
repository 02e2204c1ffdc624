// Nested SVM at run time (docs/nested.md): the host's VMRUN of its VMCB12 becomes a
// VMRUN of the L2 block vbh builds (nested.hpp), and each L2 exit is either handled by
// vbh (its flush kick, its own intercepts) or reflected into VMCB12 as the CPU's
// #VMEXIT would (AMD APM vol. 2 §15.5, §15.6). The host's page is read once, into
// hypervisor memory, and written back only in the bytes a #VMEXIT writes; both go
// through host_page(), which refuses anything but host-owned RAM and holds off a
// concurrent donate of the page (host_insn.hpp).
//
// Registers across the switch: VMRUN takes the guest's RAX, RSP and RIP from VMCB12 and
// every other GPR as the host left it; #VMEXIT restores the host's RAX, RSP and RIP
// and leaves the other GPRs as the guest left them (§15.5.1, §15.6). vbh's loop keeps
// the GPRs in one array for whichever block runs, so only RAX/RSP/RIP move: the host's
// into its own block (l1) at VMRUN, from where they are entered again after the exit.
#pragma once

#include <vbh/exit_log.hpp>
#include <vbh/svm/cpu.hpp>
#include <vbh/svm/host_insn.hpp>
#include <vbh/svm/nested.hpp>
#include <vbh/svm/nested_shadow.hpp>
#include <vbh/svm/pstate_run.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vbh::svm {

// While the host's GIF is 0 a physical interrupt waits, as on the CPU (§15.17): the
// host's block then runs with V_INTR_MASKING, under which physical interrupts are
// gated by the IF of whoever executes VMRUN (§15.21.1), vbh's, which is 0. Without it
// the host would take an interrupt right after its VMRUN returns, still holding its
// guest's GS base and TR (KVM restores them with the VMLOAD that follows).
inline void hold_host_interrupts(Cpu& c) {
    Vmcb& l1 = *c.l1.vmcb;
    l1.vintr = IntCtl::VIntrMasking::set(l1.vintr, c.host.gif ? 0 : 1);
}

// n bytes of host RAM at pa (page aligned) into dst, page by page; false, with nothing
// read after the refused page, if one is not host-owned RAM.
template <HostInsnEnv E>
bool copy_from_host(E& env, std::uint64_t pa, void* dst, std::size_t n) {
    for (std::size_t off = 0; off < n; off += 4096) {
        const Result<void*> p = env.host_page((pa + off) >> 12);
        if (p)
            std::memcpy(static_cast<std::uint8_t*>(dst) + off, *p, 4096);
        env.host_frame_done();
        if (!p)
            return false;
    }
    return true;
}

// The bytes of spans from the copy into the host's VMCB12 page, if it still is host
// RAM (a page the host donated meanwhile receives nothing; logged).
template <HostInsnEnv E, std::size_t N>
void write_back(E& env, const NestedCpu& n, const VmcbSpan (&spans)[N], std::uint32_t cpu) {
    const Result<void*> p = env.host_page(n.v12_pa >> 12);
    if (p) {
        const auto* from = reinterpret_cast<const std::uint8_t*>(n.v12);
        for (const VmcbSpan& s : spans)
            std::memcpy(static_cast<std::uint8_t*>(*p) + s.first, from + s.first, s.end - s.first);
    }
    env.host_frame_done();
    if (!p)
        env.log().record(VBH_LOG_VMRUN_REFUSED, cpu, n.v12_pa, n.v12->rip,
                         std::uint64_t(Vmcb12Error::vmcb12_gone));
}

// The host's maps (for the intercepts it enabled) copied out of host RAM: the copies
// decide whose an L2 exit is, and are merged with vbh's into the maps the L2 block
// points at.
template <HostInsnEnv E>
Vmcb12Error copy_host_maps(NestedCpu& n, const Vmcb& v12, E& env) {
    n.maps = {nullptr, nullptr};
    if (v12.icpt_misc3 & icpt3::msr_prot) {
        if (!copy_from_host(env, msrpm_range(v12).pa, n.host_msrpm, msrpm_bytes))
            return Vmcb12Error::map_not_host;
        n.maps.msrpm = n.host_msrpm;
    }
    if (v12.icpt_misc3 & icpt3::ioio_prot) {
        if (!copy_from_host(env, iopm_range(v12).pa, n.host_iopm, iopm_bytes))
            return Vmcb12Error::map_not_host;
        n.maps.iopm = n.host_iopm;
    }
    return Vmcb12Error::ok;
}

// What nested_vmrun() needs that is fixed at init (backend.hpp's Shared).
struct NestedShared {
    NestedCaps caps;
    const std::uint8_t* msrpm; // vbh's own maps (the host's block runs with them)
    const std::uint8_t* iopm;
};

// The host's VMRUN (rAX = VMCB12), after the checks every SVM instruction gets
// (emulate_host_insn: EFER.SVME, CPL). The host resumes after its VMRUN in every
// case but success, where the L2 runs first: its exit brings the host back there.
template <HostInsnEnv E>
ExitAction nested_vmrun(Cpu& c, VcpuState& s, const Exit& x, E& env, const NestedShared& ns,
                        const MsrCaps& mc) {
    NestedCpu& n = c.nested;
    const std::uint64_t pa = s.reg(Gpr::rax);
    if ((pa & 0xfff) != 0 || pa >= mc.phys_limit || !n.ready)
        return refuse_host_insn(s, x, env, Event::gp(0));
    if (!copy_from_host(env, pa, n.v12, sizeof(Vmcb)))
        return refuse_host_insn(s, x, env, Event::gp(0));
    n.v12_pa = pa;
    Vmcb& v12 = *n.v12;
    Vmcb12Error e = check_vmcb12(v12, ns.caps);
    if (e == Vmcb12Error::ok)
        e = copy_host_maps(n, v12, env);
    if (e == Vmcb12Error::ok && host_nested_paging(v12) && !shadow_usable(c))
        e = Vmcb12Error::nested_paging;
    // A protected vCPU (N_CR3 bound to a domain): only what its last exit asked for
    // may have changed (pstate_run.hpp). Last, so that nothing after it refuses.
    std::uint64_t info = std::uint64_t(e);
    if (e == Vmcb12Error::ok) {
        const PstateRefusal p = pstate_at_vmrun(n, pa, v12, *c.l1.vmcb, s, env, ns.caps);
        e = p.error;
        info = p.info();
    }
    s.rip += x.insn_len;
    c.host.gif = false; // the #VMEXIT that ends this VMRUN clears GIF (§15.6)
    if (e != Vmcb12Error::ok) {
        env.log().record(VBH_LOG_VMRUN_REFUSED, s.cpu, pa, s.rip, info);
        vmexit_invalid(v12);
        write_back(env, n, {vmexit_invalid_span}, s.cpu);
        return ExitAction::resume;
    }
    merge_permission_map(n.maps.msrpm, ns.msrpm, n.msrpm, msrpm_bytes);
    merge_permission_map(n.maps.iopm, ns.iopm, n.iopm, iopm_bytes);
    const AsidMap::Grant a = n.asids.assign(Asid::get(v12.asid_tlb));
    Vmcb& l1 = *c.l1.vmcb;
    l1.rip = s.rip;
    l1.rsp = s.reg(Gpr::rsp);
    l1.rax = pa;
    Vmcb& l2 = *n.l2.vmcb;
    // npt=0: the L2 runs on vbh's host NPT; npt=1: on the shadow of the host's table
    // (nested_shadow.hpp), whose ASID is flushed whenever the shadow lost entries.
    n.np = host_nested_paging(v12);
    const std::uint64_t root =
        n.np ? shadow_at_vmrun(env, n, v12, l1, ns.caps, env.own_stats(s)) : n.npt_root;
    const bool flush = a.flush || (n.np && n.shadow.take_flush());
    build_l2(v12, l1, ns.caps, {root, n.msrpm_pa, n.iopm_pa, a.asid, flush}, l2);
    // Svm::write() sets EVENTINJ to the handler's event or re-delivers EXITINTINFO; for
    // the first entry the event to deliver is the one VMCB12 asks for. EXITINTINFO is
    // an output of #VMEXIT, which overwrites it: holding the event there changes nothing
    // the CPU reads.
    l2.exit_int_info = l2.event_inj;
    n.used = true;
    ++env.own_stats(s).l2_entries;
    c.active = n.l2;
    s.rip = l2.rip;
    s.set_reg(Gpr::rax, l2.rax);
    s.set_reg(Gpr::rsp, l2.rsp);
    s.efer = l2.efer;
    s.cpl = l2.cpl;
    s.inject.type = Event::Type::none;
    return ExitAction::resume;
}

// What an L2 exit needs besides the host-instruction environment: the flush kick.
template <class E>
concept NestedEnv = HostInsnEnv<E> && requires(E& e, std::uint32_t cpu) {
    { e.take_kick(cpu) } -> std::same_as<bool>;
};

enum class L2Exit : std::uint8_t {
    dispatch, // vbh's own: the common exit dispatch runs on the L2's state
    done,     // handled here: re-enter the active block (the L2, or the host after it)
};

// The host's block runs next, with GIF = 0 and the RAX/RSP/RIP nested_vmrun() kept
// in it; no event is pending for it (an NMI held waits for its STGI).
inline void resume_host(Cpu& c) {
    c.host.gif = false;
    hold_host_interrupts(c);
    c.l1.vmcb->event_inj = 0;
    c.active = c.l1;
}

// Back to the host: VMCB12 written as the #VMEXIT writes it; a protected vCPU's state
// as the host will see it is what its next VMRUN is checked against.
template <HostInsnEnv E>
void leave_l2(Cpu& c, const VcpuState& s, E& env) {
    NestedCpu& n = c.nested;
    reflect_exit(*n.l2.vmcb, *n.v12, *c.l1.vmcb);
    pstate_at_exit(n, *c.l1.vmcb, s, env);
    write_back(env, n, vmexit_spans, s.cpu);
    resume_host(c);
}

// An exit of the L2 block (c.active is n.l2). NMI: vbh's kick stays vbh's (the L2 is
// entered again); any other NMI is the host's, which always intercepts NMI: the exit
// goes to the host and the NMI waits for its STGI, where the CPU would deliver it.
// VMEXIT_INVALID of the L2 block (a check check_vmcb12 leaves to the CPU) is the
// host's VMRUN failing. With the host's nested paging every NPF is the shadow's
// (nested_shadow.hpp): filled and re-entered, or reflected. Everything else goes to
// the host if it intercepts it
// (host_wants_exit), else to vbh's dispatch on the L2's state.
template <NestedEnv E>
L2Exit nested_exit(Cpu& c, VcpuState& s, E& env, vbh_cpu_stats& st) {
    NestedCpu& n = c.nested;
    Vmcb& l2 = *n.l2.vmcb;
    ++st.l2_exits;
    if (ExitCode(l2.exit_code) == ExitCode::nmi) {
        if (env.take_kick(s.cpu)) {
            ++st.kicks_taken;
            l2.event_inj = EventInj::Valid::get(l2.exit_int_info) ? l2.exit_int_info : 0;
            return L2Exit::done;
        }
        ++st.nmis_reflected;
        c.host.nmi_held = true;
    } else if (is_vmexit_invalid(l2.exit_code)) {
        env.log().record(VBH_LOG_VMRUN_REFUSED, s.cpu, n.v12_pa, l2.rip,
                         std::uint64_t(Vmcb12Error::l2_invalid));
        pstate_abort(n, env);
        vmexit_invalid(*n.v12);
        write_back(env, n, {vmexit_invalid_span}, s.cpu);
        resume_host(c);
        return L2Exit::done;
    } else if (n.np && ExitCode(l2.exit_code) == ExitCode::npf) {
        if (shadow_exit(c, s, env, st) == ShadowExit::resume)
            return L2Exit::done;
    } else if (!host_wants_exit(*n.v12, l2, n.maps, std::uint32_t(s.reg(Gpr::rcx)))) {
        return L2Exit::dispatch;
    }
    ++st.l2_reflected;
    leave_l2(c, s, env);
    return L2Exit::done;
}

} // namespace vbh::svm
