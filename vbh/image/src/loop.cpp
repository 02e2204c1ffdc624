// The VMRUN loop of one CPU: flush if the host NPT changed, enter the guest, turn
// the SVM exit into a vendor-neutral Exit, dispatch, write the result back.
#include "env.hpp"

#include <vbh/svm/exit_svm.hpp>

#include <vbh/arch/apic.hpp>
#include <vbh/arch/cpu.hpp>
#include <vbh/arch/serial.hpp>
#include <vbh/svm/insn.hpp>
#include <vbh/svm/svm.hpp>

extern "C" void vbh_vmrun(std::uint64_t* gprs, std::uint64_t vmcb_pa, std::uint64_t host_vmcb_pa,
                          std::uint64_t* tsc);

namespace vbh::svm {

using namespace vbh::image;

[[noreturn]] void launch_failed(PerCpu* pc);
[[noreturn]] void devirt(PerCpu* pc);

// An intercepted NMI stays pending while GIF = 0 (§15.17): open GIF with IF = 0 so
// it is taken, once, by the hypervisor's NMI handler (isr.S), instead of causing the
// next VMRUN to exit again.
static void drain_nmi(PerCpu* pc) {
    const std::uint64_t before = __atomic_load_n(&pc->nmis_in_host, __ATOMIC_RELAXED);
    stgi();
    for (unsigned i = 0; i < 1000 && __atomic_load_n(&pc->nmis_in_host, __ATOMIC_RELAXED) == before; ++i)
        arch::pause();
    clgi();
}

static void before_entry(PerCpu* pc) {
    Vmcb& v = *pc->vmcb;
    __atomic_store_n(&pc->in_guest, 1, __ATOMIC_SEQ_CST);
    const std::uint64_t gen = __atomic_load_n(&g.npt_gen, __ATOMIC_SEQ_CST);
    if (gen != pc->seen_gen) {
        const bool by_asid = g.svm_features & svm_feature_flush_by_asid;
        v.asid_tlb = TlbControl::set(v.asid_tlb, by_asid ? tlb_flush_guest : tlb_flush_all);
        __atomic_store_n(&pc->seen_gen, gen, __ATOMIC_SEQ_CST);
        ++pc->stats.flushes;
    }
}

static void sync_in(PerCpu* pc) {
    const Vmcb& v = *pc->vmcb;
    VcpuState& s = pc->vcpu;
    s.set_reg(Gpr::rax, v.rax);
    s.set_reg(Gpr::rsp, v.rsp);
    s.rip = v.rip;
    s.efer = v.efer;
    s.cpl = v.cpl;
    s.inject = {};
}

static void sync_out(PerCpu* pc) {
    Vmcb& v = *pc->vmcb;
    const VcpuState& s = pc->vcpu;
    v.rax = s.reg(Gpr::rax);
    v.rsp = s.reg(Gpr::rsp);
    v.rip = s.rip;
    v.efer = s.efer | efer_svme;
    // An event whose delivery the exit interrupted is delivered again unless the
    // handler chose another one (§15.7.2, EXITINTINFO).
    if (s.inject.pending())
        v.event_inj = encode_event(s.inject);
    else if (EventInj::Valid::get(v.exit_int_info))
        v.event_inj = v.exit_int_info;
    else
        v.event_inj = 0;
}

[[noreturn]] static void vcpu_loop(PerCpu* pc) {
    SvmEnv env{pc};
    for (;;) {
        before_entry(pc);
        vbh_vmrun(pc->vcpu.gpr, pc->vmcb_pa, pc->host_vmcb_pa, pc->tsc);
        __atomic_store_n(&pc->in_guest, 0, __ATOMIC_SEQ_CST);
        pc->clock.entered(*pc->cycles, pc->tsc[0]);
        Vmcb& v = *pc->vmcb;
        v.asid_tlb = TlbControl::set(v.asid_tlb, 0);
        if (is_vmexit_invalid(v.exit_code)) {
            if (!pc->entered)
                launch_failed(pc);
            fatal("VMEXIT_INVALID", pc->cpu, v.rip);
        }
        pc->entered = true;
        const Exit x = translate(v, g.svm_features);
        pc->clock.exited(std::uint8_t(x.reason), pc->tsc[1]);
        if (x.reason == ExitReason::nmi)
            drain_nmi(pc);
        sync_in(pc);
        const ExitAction a = dispatch_exit(pc->vcpu, x, env);
        sync_out(pc);
        if (a == ExitAction::devirt)
            devirt(pc);
        if (a == ExitAction::fatal)
            fatal(x.reason == ExitReason::shutdown ? "guest shutdown" : "unhandled exit", x.code, v.rip);
    }
}

} // namespace vbh::svm

// First C++ on the hypervisor's stack, CR3, GDT and IDT (vbh_enter_hyp).
extern "C" [[noreturn]] void vbh_vcpu_start(vbh::image::PerCpu* pc) {
    using namespace vbh;
    arch::wrmsr(arch::msr_gs_base, reinterpret_cast<std::uint64_t>(pc));
    svm::vmsave(pc->host_vmcb_pa); // the host half of the VMLOAD/VMSAVE state
    // The xAPIC page is reachable only through our direct map (VA = PA, UC).
    pc->apic_id = arch::LocalApic::id();
    pc->stats.apic_id = pc->apic_id;
    image::g.log.record(VBH_LOG_LAUNCH, pc->cpu, 0, pc->entry.rip, pc->apic_id);
    arch::Serial::puts("vbh-hyp: cpu ");
    arch::Serial::dec(pc->cpu);
    arch::Serial::puts(" entering guest\n");
    svm::vcpu_loop(pc);
}
