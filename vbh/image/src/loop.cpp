// The VMRUN loop of one CPU, vendor-neutral: flush if the host stage-2 changed, let
// the backend enter the guest, describe the exit and read the registers, dispatch,
// let the backend write the result back. Also the two ways out of guest mode for good.
#include "env.hpp"

#include <vbh/arch/cpu.hpp>
#include <vbh/arch/serial.hpp>
#include <vbh/exit_cycles.hpp>

extern "C" [[noreturn]] void vbh_launch_return(std::uint64_t rsp, std::int64_t status,
                                               std::uint64_t cs, std::uint64_t ss);

namespace vbh::image {

// The first VMRUN on this CPU failed its checks: put the kernel back and return
// VBH_E_STATE from launch() to its caller (header.S).
[[noreturn, gnu::noinline, gnu::cold]] static void launch_failed(PerCpu* pc) {
    const LaunchSave s = pc->save;
    g.log.record(VBH_LOG_LAUNCH_FAIL, pc->cpu, 0, pc->entry.rip, Backend::exit_code(pc->hw));
    arch::Serial::puts("vbh-hyp: VMRUN failed (VMEXIT_INVALID) on cpu ");
    arch::Serial::dec(pc->cpu);
    arch::Serial::puts(", rolled back\n");
    __atomic_store_n(&pc->stats.launched, 0, __ATOMIC_RELEASE);
    Backend::rollback(pc->hw, s.kernel); // GS is the kernel's from here: no this_cpu()
    vbh_launch_return(s.linux_rsp, VBH_E_STATE, s.kernel.cs, s.kernel.ss);
}

[[noreturn]] static void devirt(PerCpu* pc) {
    __atomic_store_n(&pc->stats.launched, 0, __ATOMIC_RELEASE);
    Backend::devirt(pc->hw, pc->vcpu, pc->save.kernel);
}

// An intercepted NMI stays pending while the backend blocks NMIs: open the window
// with IF = 0 so it is taken, once, by the hypervisor's NMI handler (isr.S), instead
// of causing the next VMRUN to exit again.
static void drain_nmi(PerCpu* pc) {
    const std::uint64_t before = __atomic_load_n(&pc->nmis_in_host, __ATOMIC_RELAXED);
    Backend::open_nmi_window();
    for (unsigned i = 0; i < 1000 && __atomic_load_n(&pc->nmis_in_host, __ATOMIC_RELAXED) == before; ++i)
        arch::pause();
    Backend::close_nmi_window();
}

// Another CPU is scrubbing memory for a platform reset (reset.cpp) and kicked this
// one: stop here, GIF = 0, for good.
[[noreturn]] static void park() {
    __atomic_add_fetch(&g.parked, 1, __ATOMIC_SEQ_CST);
    arch::halt_forever();
}

// INIT reached this CPU in guest mode (hardware: the intercept holds it while GIF =
// 0). Nothing emulates wait-for-SIPI yet (docs/launch.md, "INIT and SIPI"): open GIF
// so that the INIT resets the CPU, as it would have without the intercept; the
// loader relaunches it when the host onlines it. in_guest is 0, so no flush waits.
[[noreturn]] static void take_init(PerCpu* pc) {
    __atomic_store_n(&pc->stats.launched, 0, __ATOMIC_RELEASE);
    Backend::open_nmi_window();
    arch::halt_forever();
}

// Every action but resume ends this CPU's loop: one test on the exit path for all.
[[noreturn, gnu::noinline]] static void leave(PerCpu* pc, ExitAction a, Exit x) {
    switch (a) {
    case ExitAction::devirt: devirt(pc);
    case ExitAction::reset: platform_reset(pc, x);
    case ExitAction::init: take_init(pc);
    default:
        fatal(x.reason == ExitReason::shutdown ? "guest shutdown" : "unhandled exit", x.code,
              pc->vcpu.rip);
    }
}

// in_guest before the generation is read: the Dekker pair with CrossCpuFlush
// (stage2.cpp). True if the host stage-2 changed since this CPU last entered.
static bool before_entry(PerCpu* pc) {
    __atomic_store_n(&pc->in_guest, 1, __ATOMIC_SEQ_CST);
    const std::uint64_t gen = __atomic_load_n(&g.npt_gen, __ATOMIC_SEQ_CST);
    if (gen == pc->seen_gen)
        return false;
    __atomic_store_n(&pc->seen_gen, gen, __ATOMIC_SEQ_CST);
    ++pc->stats.flushes;
    return true;
}

// One VMRUN of the active guest, in_guest set around it. False if it failed its checks.
[[gnu::always_inline]] static inline bool enter(PerCpu* pc) {
    const bool flush = before_entry(pc);
    // in_guest is cleared on both paths; the result is not kept across the store.
    if (!Backend::run(pc->hw, pc->vcpu, flush, pc->tsc)) [[unlikely]] {
        __atomic_store_n(&pc->in_guest, 0, __ATOMIC_SEQ_CST);
        return false;
    }
    __atomic_store_n(&pc->in_guest, 0, __ATOMIC_SEQ_CST);
    return true;
}

[[noreturn, gnu::noinline, gnu::cold]] static void entry_failed(PerCpu* pc) {
    fatal("VMEXIT_INVALID", pc->cpu, pc->vcpu.rip);
}

// One exit, from the control block back to it: everything a rare case needs (NMI
// drain, an exit of the host's guest reflected to the host, fatal, devirt) is a call
// off the straight path.
[[gnu::always_inline]] static inline void handle(PerCpu* pc, HypEnv& env, const Exit& x) {
    if (x.reason == ExitReason::nmi) [[unlikely]] {
        drain_nmi(pc);
        if (__atomic_load_n(&g.resetting, __ATOMIC_SEQ_CST)) [[unlikely]]
            park();
    }
    // The host's guest (nested SVM) exited: most of its exits are the host's.
    if (Backend::in_l2(pc->hw) && Backend::l2_exit(pc->hw, pc->vcpu, env, pc->stats)) [[unlikely]]
        return;
    Backend::read(pc->hw, pc->vcpu);
    const ExitAction a = dispatch_exit(pc->vcpu, x, env, pc->stats);
    // A fatal exit never resumes this guest: nothing to write back.
    if (a == ExitAction::fatal) [[unlikely]]
        fatal(x.reason == ExitReason::shutdown ? "guest shutdown" : "unhandled exit", x.code,
              pc->vcpu.rip);
    Backend::write(pc->hw, pc->vcpu);
    if (a != ExitAction::resume) [[unlikely]]
        leave(pc, a, x);
}

// One straight path from #VMEXIT to the next VMRUN for the common exits. The launch's
// first VMRUN is entered before the loop: its failure is the launch's (rolled back),
// and every VMRUN in the loop follows an exit, which the clock closes unconditionally.
[[noreturn]] void vcpu_loop(PerCpu* pc) {
    HypEnv env{pc};
    ExitClock clock;
    if (!enter(pc)) [[unlikely]]
        launch_failed(pc);
    for (;;) {
        Exit x = Backend::exit(pc->hw); // not const: GCC keeps a const one in memory
        clock.exited(*pc->cycles, std::uint8_t(x.reason), pc->tsc[1]);
        handle(pc, env, x);
        if (!enter(pc)) [[unlikely]]
            entry_failed(pc);
        clock.entered(pc->tsc[0]);
    }
}

} // namespace vbh::image
