// The SVM backend (AMD APM vol. 2 ch. 15): what the image's vendor-neutral launch
// and VMRUN loop call, as one struct of static functions (image/backend.hpp checks it
// against the Backend concept and picks it once). The per-exit functions are inline
// so that the image's loop compiles to one straight path from #VMEXIT to VMRUN.
#pragma once

#include <ept/format_npt.hpp>
#include <vbh/arch/cpu.hpp>
#include <vbh/arch/kernel_state.hpp>
#include <vbh/boot.h>
#include <vbh/io_policy.hpp>
#include <vbh/result.hpp>
#include <vbh/svm/cpu.hpp>
#include <vbh/svm/exit_svm.hpp>
#include <vbh/svm/host_insn.hpp>
#include <vbh/svm/insn.hpp>
#include <vbh/svm/msr.hpp>
#include <vbh/svm/nested_run.hpp>
#include <vbh/svm/nested_state.hpp>

#include <cstdint>

// vmrun.S: VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD hypervisor; tsc[0] before the
// VMLOAD, tsc[1] after #VMEXIT (exit_cycles.hpp).
extern "C" void vbh_vmrun(std::uint64_t* gprs, std::uint64_t vmcb_pa, std::uint64_t hyp_state_pa,
                          std::uint64_t* tsc);

namespace vbh::svm {

// Set once by Svm::check_cpu() and Svm::init(), read-only after.
struct Shared {
    std::uint32_t features; // CPUID 8000_000Ah EDX
    std::uint64_t msrpm_pa;
    std::uint64_t iopm_pa;
    MsrCaps msr_caps;
    std::uint32_t nasid;    // CPUID 8000_000Ah EBX: ASIDs 0..nasid-1
    NestedShared nested;    // what the host's VMRUN is checked against, vbh's maps
};

// The CPU's MSRs, for the writes the MSR emulation performs for the host (msr.hpp).
struct CpuMsrs {
    static std::uint64_t read(std::uint32_t msr) { return arch::rdmsr(msr); }
    static void write(std::uint32_t msr, std::uint64_t x) { arch::wrmsr(msr, x); }
};
extern Shared shared;
// The protected vCPUs' records (pstate.hpp), one table for every CPU: a vCPU moves.
extern PstateTable pstates;

struct Svm {
    using Cpu = svm::Cpu;
    using Pages = svm::Pages;
    using Stage2 = ept::Npt; // the host's stage-2 format

    // Once at init: CPU support (SVM, NPT, not disabled by firmware), then the shared
    // MSR/IO permission maps (the IOPM traps the reset and sleep ports of `ports`).
    // mem is the image's hypervisor memory:
    // mem.alloc_contig(n) gives n zeroed, physically contiguous frames, mem.phys(p)
    // the physical address of a byte of hypervisor memory.
    static Status check_cpu();
    template <class Mem>
    static Result<void> init(Mem& mem, const PlatformPorts& ports) {
        auto msrpm = mem.alloc_contig(2); // 8 KiB (§15.11)
        auto iopm = mem.alloc_contig(3);  // 12 KiB (§15.10.1)
        if (!msrpm || !iopm)
            return unexpected(Status::no_memory);
        init_maps(static_cast<std::uint8_t*>(*msrpm), mem.phys(*msrpm),
                  static_cast<std::uint8_t*>(*iopm), mem.phys(*iopm), ports);
        return {};
    }

    // The per-CPU block is virtually contiguous, not physically: each page's physical
    // address comes from mem.phys().
    template <class Mem>
    static void setup(Cpu& c, Pages& p, Mem& mem) {
        c.l1 = {&p.host_guest, mem.phys(&p.host_guest)};
        c.active = c.l1;
        c.hyp_state_pa = mem.phys(&p.hyp_state);
        c.hsave_pa = mem.phys(p.hsave);
        NestedCpu& n = c.nested;
        n.l2 = {&p.l2, mem.phys(&p.l2)};
        n.v12 = &p.v12;
        n.host_msrpm = p.host_msrpm;
        n.host_iopm = p.host_iopm;
        // Without the merged maps or a spare ASID the host's VMRUN gets #GP.
        auto msrpm = mem.alloc_contig(2), iopm = mem.alloc_contig(3);
        if (msrpm && iopm) {
            n.msrpm = static_cast<std::uint8_t*>(*msrpm);
            n.msrpm_pa = mem.phys(n.msrpm);
            n.iopm = static_cast<std::uint8_t*>(*iopm);
            n.iopm_pa = mem.phys(n.iopm);
            n.ready = n.asids.init(shared.nasid, l1_asid);
        }
        // The shadow NPT's pool (kvm_amd npt=1); without it this CPU refuses NP_ENABLE.
        if (auto pool = mem.alloc_contig(shadow_pool_pages)) {
            n.shadow_pool = static_cast<std::uint64_t*>(*pool);
            n.shadow_pool_pa = mem.phys(*pool);
        }
    }

    // Launch, in the kernel's context: build the host's control block from the
    // kernel's state (may fail, nothing changed), then switch the CPU on (cannot fail).
    static Status prepare(Cpu& c, const arch::KernelState& k, const vbh_guest_entry& e,
                          std::uint64_t stage2_root, std::uint32_t cpu);
    static void enable(Cpu& c, const arch::KernelState& k);
    // First thing on the hypervisor's stack: keep the hypervisor's VMLOAD state.
    static void start(Cpu& c) { vmsave(c.hyp_state_pa); }

    // Enter the active guest until its next #VMEXIT; flush: the host stage-2 changed
    // since this CPU last entered (docs/launch.md). False if VMRUN failed its checks.
    // A flush of every ASID already asked for (the host's INVLPGA) is kept.
    // Once an L2 has run here, a stage-2 change flushes every ASID: the host NPT is
    // under the L2's translations too. An L2 is entered with RFLAGS.IF as the host had
    // it at its VMRUN: with V_INTR_MASKING (KVM's choice) the IF of whoever executes
    // VMRUN decides whether physical interrupts reach the L2, i.e. exit from it
    // (§15.21.1; KVM runs VMRUN with IF = 1). GIF is 0 around it, so vbh takes none.
    // An L2 block that fails VMRUN's checks is the host's exit, not a vbh failure.
    // A stage-2 change is an ownership change: the shadow NPT (npt=1) is dropped, since
    // a frame it names may no longer be the host's (nested_shadow.hpp).
    static bool run(Cpu& c, VcpuState& s, bool flush, std::uint64_t* tsc) {
        if (flush) [[unlikely]]
            flush_stage2(c);
        if (in_l2(c)) [[unlikely]]
            return run_l2(c, s, tsc);
        Vmcb& v = *c.active.vmcb;
        vbh_vmrun(s.gpr, c.active.pa, c.hyp_state_pa, tsc);
        v.asid_tlb = TlbControl::set(v.asid_tlb, 0);
        return !is_vmexit_invalid(v.exit_code);
    }
    static bool in_l2(const Cpu& c) { return l2_active(c); }

    // An exit of the host's guest: vbh's own (dispatched as usual, on the L2's state)
    // or reflected to the host (nested_run.hpp).
    // True: handled there, re-enter; false: dispatch it as any exit.
    template <class E>
    static bool l2_exit(Cpu& c, VcpuState& s, E& env, vbh_cpu_stats& st) {
        return nested_exit(c, s, env, st) == L2Exit::done;
    }

    // The exit in vendor-neutral terms.
    static Exit exit(const Cpu& c) { return translate(*c.active.vmcb, shared.features); }

    // The registers the handlers see that the world switch left in the control block.
    static void read(const Cpu& c, VcpuState& s) {
        const Vmcb& v = *c.active.vmcb;
        s.set_reg(Gpr::rax, v.rax);
        s.set_reg(Gpr::rsp, v.rsp);
        s.rip = v.rip;
        s.efer = v.efer;
        s.cpl = v.cpl;
        s.inject.type = Event::Type::none; // the rest of an Event is set with its type
    }

    // Write the handlers' results back before the next run().
    static void write(Cpu& c, const VcpuState& s) {
        Vmcb& v = *c.active.vmcb;
        v.rax = s.reg(Gpr::rax);
        v.rsp = s.reg(Gpr::rsp);
        v.rip = s.rip;
        v.efer = s.efer | efer_svme;
        // The handler's event, an NMI held while the host's GIF is 0, or the event
        // whose delivery the exit interrupted (host_svm.hpp).
        v.event_inj = host_event_inj(c.host, s.inject, v.exit_int_info);
    }

    static std::uint64_t exit_code(const Cpu& c) { return c.active.vmcb->exit_code; }

    // Read by another CPU: this CPU took a #VMEXIT(INIT) that the hypervisor never
    // handled. QEMU 7.2 TCG resets the CPU right after writing that exit (the INIT
    // stays pending and is taken in host mode, GIF or not: docs/platform.md), so the
    // CPU no longer runs guest code. A handled INIT exit never re-enters the guest, and
    // a relaunch rebuilds the control block, so the mark cannot be stale.
    static bool left_by_init(const Cpu& c) {
        return __atomic_load_n(&c.l1.vmcb->exit_code, __ATOMIC_ACQUIRE) == std::uint64_t(ExitCode::init);
    }

    // An intercepted NMI stays pending while GIF = 0 (§15.17): opening GIF lets the
    // hypervisor's own NMI handler take it.
    static void open_nmi_window() { stgi(); }
    static void close_nmi_window() { clgi(); }

    // The host's MSRs (msr.hpp) and SVM instructions (host_insn.hpp), over its own
    // SVM state (c.host) and control block.
    static MsrResult rdmsr(const Cpu& c, const VcpuState& s, std::uint32_t msr) {
        return emulate_rdmsr(c.host, s, msr);
    }
    // The host's GIF changes only here (CLGI, STGI, VMRUN; EFER.SVME = 0 sets it) and
    // when an L2 exit returns to the host (nested_run.hpp): each keeps the host's
    // block holding interrupts while it is 0 (hold_host_interrupts), not every exit.
    // The block's V_INTR_MASKING is 0 with GIF 1 at launch (prepare.cpp) and follows
    // every change of GIF after, so an instruction that leaves GIF as it was (VMLOAD,
    // VMSAVE, an EFER write, a CLGI with GIF already 0) needs no update.
    // EFER (the same rule as emulate_wrmsr's) changes GIF only when it clears SVME
    // while GIF is 0, and clearing SVME drops the host's nested state
    // (nested_state.hpp). The host's write of the value it holds, the common one,
    // changes nothing: answered inline (host_efer_unchanged, every check re-made);
    // every other write is a call (write_msr). The same test holds for an L2's EFER
    // write (the L2 runs when this is an L2's exit): its rule (l2_efer_write) is
    // write_efer alone, whose checks host_efer_unchanged re-makes too.
    [[gnu::always_inline]] static MsrResult wrmsr(Cpu& c, VcpuState& s, std::uint32_t msr,
                                                  std::uint64_t x) {
        if (msr == msr_efer && host_efer_unchanged(c.host, s, x, shared.msr_caps.efer_writable))
            [[likely]]
            return {false, 0};
        return write_msr(c, s, msr, x);
    }
    // DOMAIN_DESTROY of dom succeeded: its protected vCPUs' records go (pstate_run.hpp).
    [[gnu::cold]] static void forget_domain(std::uint64_t dom) { pstate_forget(pstates, dom); }
    static PstateTable& protected_vcpus() { return pstates; }
    // The nested-state gauges of vbh_cpu_stats, from the CPU's state (STATS_READ).
    static void gauges(const Cpu& c, vbh_cpu_stats& st) { nested_gauges(c, st); }
    // Inline on the exit path: kvm_amd runs CLGI, VMLOAD, VMSAVE and STGI around every
    // entry of its guests. The host's VMRUN (nested_run.hpp) is a call off it.
    template <HostInsnEnv E>
    [[gnu::always_inline]] static ExitAction virt_insn(Cpu& c, VcpuState& s, const Exit& x, E& env) {
        if (ExitCode(x.code) == ExitCode::vmrun && c.host.svme && s.cpl == 0) [[unlikely]]
            return host_vmrun(c, s, x, env);
        const bool gif = c.host.gif;
        const ExitAction a = emulate_host_insn(c.host, *c.l1.vmcb, s, x, env, shared.msr_caps);
        if (c.host.gif != gif) // CLGI, STGI: the block's V_INTR_MASKING follows (above)
            hold_host_interrupts(c);
        // INVLPGA: the host invalidates a guest translation; the shadow follows KVM's
        // tables, so it goes whole (nested_shadow.hpp).
        if (ExitCode(x.code) == ExitCode::invlpga) [[unlikely]]
            c.nested.shadow.drop();
        return a;
    }
    // INVD (§15.8 intercept, APM vol. 3 INVD): WBINVD writes the dirty lines back
    // where INVD would drop them, the hypervisor's among them.
    static void flush_caches() { asm volatile("wbinvd" ::: "memory"); }

    // Leaving guest mode for good on this CPU, from hypervisor memory (mapped at the
    // same address in the kernel's tables, boot.h). rollback(): the first VMRUN
    // failed; the kernel's registers, VMLOAD state, GIF and EFER are back when it
    // returns. devirt(): VBH_HC_DEVIRT; returns into the kernel after its VMMCALL.
    static void rollback(Cpu& c, const arch::KernelState& k);
    [[noreturn]] static void devirt(Cpu& c, VcpuState& s, const arch::KernelState& k);

private:
    [[gnu::noinline]] static MsrResult write_msr(Cpu& c, VcpuState& s, std::uint32_t msr,
                                                 std::uint64_t x) {
        if (msr != msr_efer)
            return emulate_wrmsr<CpuMsrs>(c.host, s, msr, x, shared.msr_caps);
        return nested_efer_write(c, s, x, shared.msr_caps.efer_writable);
    }
    template <HostInsnEnv E>
    [[gnu::noinline]] static ExitAction host_vmrun(Cpu& c, VcpuState& s, const Exit x, E& env) {
        const ExitAction a = nested_vmrun(c, s, x, env, shared.nested, shared.msr_caps);
        hold_host_interrupts(c);
        return a;
    }
    [[gnu::noinline, gnu::cold]] static void flush_stage2(Cpu& c) {
        Vmcb& v = *c.active.vmcb;
        c.nested.shadow.drop();
        if (TlbControl::get(v.asid_tlb) != tlb_flush_all) {
            const bool by_asid = (shared.features & svm_feature_flush_by_asid) && !c.nested.used;
            v.asid_tlb = TlbControl::set(v.asid_tlb, by_asid ? tlb_flush_guest : tlb_flush_all);
        }
    }
    // A shadow that lost entries since the L2 last ran: its ASID may cache them.
    [[gnu::noinline]] static bool run_l2(Cpu& c, VcpuState& s, std::uint64_t* tsc) {
        Vmcb& v = *c.active.vmcb;
        if (c.nested.shadow.take_flush() && c.nested.np && TlbControl::get(v.asid_tlb) != tlb_flush_all)
            v.asid_tlb = TlbControl::set(v.asid_tlb, (shared.features & svm_feature_flush_by_asid)
                                                         ? tlb_flush_guest : tlb_flush_all);
        const bool intr = (c.l1.vmcb->rflags & rflags_if) != 0;
        if (intr)
            asm volatile("sti" ::: "memory");
        vbh_vmrun(s.gpr, c.active.pa, c.hyp_state_pa, tsc);
        if (intr)
            asm volatile("cli" ::: "memory");
        v.asid_tlb = TlbControl::set(v.asid_tlb, 0);
        return true;
    }
    static constexpr std::uint64_t rflags_if = 1u << 9;
    static constexpr std::uint32_t l1_asid = 1; // prepare.cpp
    static void init_maps(std::uint8_t* msrpm, std::uint64_t msrpm_pa, std::uint8_t* iopm,
                          std::uint64_t iopm_pa, const PlatformPorts& ports);
};

} // namespace vbh::svm
