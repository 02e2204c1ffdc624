// Vendor-neutral exit dispatch: the backend (svm/, vmx/) turns its exit code into an
// Exit, fills a VcpuState, and calls dispatch_exit(). Everything a handler needs from
// the rest of the hypervisor comes through the ExitEnv concept, so the same code runs
// on target and against a fake in tests/exit.
//
// Policy (docs/threats.md #2, #3, #7, #8):
//   hypercall  ring 0 only (VBH_E_DENIED otherwise, no state change); STATS_READ,
//              LOG_READ, CYCLES_READ, LOG_SUMMARY, LAUNCH_SEAL, DEVIRT here, the rest
//              to the core. The four reads write only into the loader's output
//              frames (ExitEnv::host_frame; docs/launch.md, "Output frames").
//   msr        the backend's rules (ExitEnv::rdmsr/wrmsr; svm/msr.hpp).
//   npf        a blocked host access: logged, reflected as #GP(0) so that
//              copy_from_kernel_nofault() fails cleanly and the host survives.
//   nmi        a cross-CPU kick is swallowed, any other NMI is re-injected.
//   virt_insn  the host's VMRUN/VMLOAD/VMSAVE/STGI/CLGI/SKINIT/INVLPGA: the backend's
//              rules (ExitEnv::virt_insn; svm/host_insn.hpp).
//   shutdown   the host triple-faulted: fatal for this CPU.
//   init       INIT signal: logged; the CPU leaves (ExitAction::init) and the INIT
//              resets it, as it would have without the intercept (docs/launch.md).
//   io         a trapped reset/sleep port (io_policy.hpp): performed, dropped,
//              refused, or a platform reset after the scrub (ExitAction::reset).
//   invd       INVD or WBINVD, run as WBINVD: INVD would drop the hypervisor's dirty
//              lines; logged when the backend knows it was INVD (Exit::qual = 1).
#pragma once

#include <vbh/exit_io.hpp>
#include <vbh/exit_log.hpp>
#include <vbh/exit_msr.hpp>
#include <vbh/hypercall.hpp>
#include <vbh/result.hpp>
#include <vbh/stats.h>
#include <vbh/vcpu.hpp>

#include <concepts>
#include <cstdint>

namespace vbh {

// One member per VBH_EXIT_KINDS entry (stats.h), with its value: the index into
// vbh_cpu_stats.exits.
#define VBH_EXIT_MEMBER_(name, value, text) text = VBH_EXIT_##name,
enum class ExitReason : std::uint8_t { VBH_EXIT_KINDS(VBH_EXIT_MEMBER_) };
#undef VBH_EXIT_MEMBER_
// Every reason indexes the per-kind arrays (stats.exits, cycles.kind) unchecked.
#define VBH_EXIT_IN_RANGE_(name, value, text) static_assert(VBH_EXIT_##name < VBH_EXIT_KIND_COUNT);
VBH_EXIT_KINDS(VBH_EXIT_IN_RANGE_)
#undef VBH_EXIT_IN_RANGE_

struct Exit {
    ExitReason reason = ExitReason::other;
    std::uint8_t insn_len = 0; // length of the exiting instruction (hypercall, msr)
    std::uint64_t code = 0;    // the vendor's raw exit code, for the log
    std::uint64_t qual = 0;    // npf: the fault error code (AMD EXITINFO1)
    std::uint64_t gpa = 0;     // npf: the guest-physical address
};

enum class ExitAction : std::uint8_t {
    resume, // re-enter the guest
    devirt, // leave guest mode on this CPU (VBH_HC_DEVIRT before seal)
    fatal,  // the guest cannot continue (triple fault, unknown exit)
    reset,  // a reset/power-off port write: scrub, then perform it (exit_io.hpp)
    init,   // INIT: this CPU leaves guest mode for the INIT to take it
};

template <class E>
concept ExitEnv = requires(E& e, VcpuState& v, const HypercallRegs& a, std::uint64_t x,
                           std::uint32_t cpu) {
    { e.core_hypercall(v, a) } -> std::same_as<HypercallOut>;
    { e.rdmsr(v, cpu) } -> std::same_as<MsrResult>;        // the backend's MSR rules
    { e.wrmsr(v, cpu, x) } -> std::same_as<MsrResult>;
    { e.virt_insn(v, Exit{}) } -> std::same_as<ExitAction>; // the backend's SVM/VMX rules
    { e.host_frame(x) } -> std::same_as<Result<void*>>; // pfn -> host-owned RAM frame
    { e.host_frame_done() } -> std::same_as<void>;      // after every host_frame()
    { e.host_accessible(x) } -> std::same_as<bool>;     // gpa mapped for the host now
    { e.take_kick(cpu) } -> std::same_as<bool>;         // consume a pending kick
    { e.flush_caches() } -> std::same_as<void>;         // WBINVD (the INVD exit)
    { e.log() } -> std::same_as<EventLog&>;
    { e.stats(cpu) } -> std::same_as<vbh_cpu_stats*>;   // nullptr beyond nr_cpus
    { e.own_stats(v) } -> std::same_as<vbh_cpu_stats&>; // the exiting CPU's: never null
    { e.cycles(cpu) } -> std::same_as<vbh_cpu_cycles*>; // nullptr beyond nr_cpus
    { e.nr_cpus() } -> std::same_as<std::uint32_t>;
    { e.try_seal() } -> std::same_as<bool>;             // false if already sealed
    { e.sealed() } -> std::same_as<bool>;
    // Trapped ports (exit_io.hpp): the boot record's copy, shared state, the access.
    { e.ports() } -> std::same_as<const PlatformPorts&>;
    { e.io_state() } -> std::same_as<IoState&>;
    { e.io_in(std::uint16_t{}, std::uint8_t{}) } -> std::same_as<std::uint32_t>;
    { e.io_out(std::uint16_t{}, std::uint8_t{}, cpu) } -> std::same_as<void>;
};

// Non-template halves (exit_hypercall.cpp).
HypercallOut read_stats(const vbh_cpu_stats* s, std::uint32_t nr_cpus, Result<void*> frame);
HypercallOut read_cycles(const vbh_cpu_cycles* c, std::uint32_t nr_cpus, Result<void*> frame);
HypercallOut read_log(EventLog& log, std::uint64_t from, Result<void*> frame);
HypercallOut read_log_summary(EventLog& log, Result<void*> frame);

template <ExitEnv E>
HypercallOut local_hypercall(VcpuState& v, const HypercallRegs& a, E& env) {
    HypercallOut out;
    switch (a.rax) {
    case VBH_HC_STATS_READ:
        // host_frame() .. host_frame_done() brackets the write: an ownership change
        // of that frame waits for it (docs/launch.md, "Output frames").
        out = read_stats(a.rdi < env.nr_cpus() ? env.stats(std::uint32_t(a.rdi)) : nullptr,
                         env.nr_cpus(), env.host_frame(a.rsi));
        env.host_frame_done();
        return out;
    case VBH_HC_CYCLES_READ:
        out = read_cycles(a.rdi < env.nr_cpus() ? env.cycles(std::uint32_t(a.rdi)) : nullptr,
                          env.nr_cpus(), env.host_frame(a.rsi));
        env.host_frame_done();
        return out;
    case VBH_HC_LOG_READ:
        out = read_log(env.log(), a.rsi, env.host_frame(a.rdi));
        env.host_frame_done();
        return out;
    case VBH_HC_LOG_SUMMARY:
        out = read_log_summary(env.log(), env.host_frame(a.rdi));
        env.host_frame_done();
        return out;
    case VBH_HC_LAUNCH_SEAL:
        if (!env.try_seal())
            return {Status::state};
        env.log().record(VBH_LOG_SEAL, v.cpu, 0, v.rip, 0);
        return {};
    case VBH_HC_DEVIRT:
        return {env.sealed() ? Status::denied : Status::ok};
    default:
        return env.core_hypercall(v, a);
    }
}

// Every hypercall but a ring-0 VERSION (handle_hypercall, below): out of line, so that
// the exit path keeps the arguments in registers. insn_len: of the VMMCALL/VMCALL.
template <ExitEnv E>
[[gnu::noinline]] ExitAction hypercall(VcpuState& v, std::uint8_t insn_len, E& env) {
    const HypercallRegs a{v.reg(Gpr::rax), v.reg(Gpr::rdi), v.reg(Gpr::rsi), v.reg(Gpr::rdx),
                          v.reg(Gpr::rcx)};
    HypercallOut out;
    if (v.cpl != 0) // ring 3 must not reach the hypervisor (abi.h: ring 0 only)
        out = {Status::denied};
    else
        out = local_hypercall(v, a, env);
    v.set_reg(Gpr::rax, std::uint64_t(out.status));
    if (out.status == Status::ok) {
        v.set_reg(Gpr::rdi, out.out0);
        v.set_reg(Gpr::rsi, out.out1);
    }
    v.rip += insn_len;
    if (a.rax == VBH_HC_DEVIRT && out.status == Status::ok && v.cpl == 0) {
        env.log().record(VBH_LOG_DEVIRT, v.cpu, 0, v.rip, 0);
        return ExitAction::devirt;
    }
    return ExitAction::resume;
}

// Inlined into the exit path (dispatch_exit): the null hypercall, VERSION, has no
// arguments and touches no shared state, so it is answered here, with no call, no
// core lock and no decode (the core gives its own callers the same answer, core.hpp).
// From ring 3 it is refused like every other call (hypercall()).
template <ExitEnv E>
[[gnu::always_inline]] inline ExitAction handle_hypercall(VcpuState& v, const Exit& x, E& env) {
    if (v.reg(Gpr::rax) != VBH_HC_VERSION || v.cpl != 0) [[unlikely]]
        return hypercall(v, x.insn_len, env);
    v.set_reg(Gpr::rax, std::uint64_t(Status::ok));
    v.set_reg(Gpr::rdi, VBH_ABI_VERSION);
    v.set_reg(Gpr::rsi, 0);
    v.rip += x.insn_len;
    return ExitAction::resume;
}

// An MSR access the backend refused: logged, #GP(0), RIP unchanged.
template <ExitEnv E>
[[gnu::noinline, gnu::cold]] ExitAction refuse_msr(VcpuState& v, std::uint32_t msr, std::uint64_t in,
                                                   E& env) {
    env.log().record(VBH_LOG_MSR_DENIED, v.cpu, msr, v.rip, in);
    v.inject = Event::gp(0);
    return ExitAction::resume;
}

template <ExitEnv E>
[[gnu::always_inline]] inline ExitAction handle_msr(VcpuState& v, const Exit& x, E& env) {
    const auto msr = std::uint32_t(v.reg(Gpr::rcx));
    if (x.reason == ExitReason::msr_write) {
        const std::uint64_t in = (v.reg(Gpr::rdx) << 32) | std::uint32_t(v.reg(Gpr::rax));
        if (env.wrmsr(v, msr, in).gp) [[unlikely]]
            return refuse_msr(v, msr, in, env);
    } else {
        const MsrResult r = env.rdmsr(v, msr);
        if (r.gp) [[unlikely]]
            return refuse_msr(v, msr, 0, env);
        v.set_reg(Gpr::rax, std::uint32_t(r.value));
        v.set_reg(Gpr::rdx, r.value >> 32);
    }
    v.rip += x.insn_len;
    return ExitAction::resume;
}

template <ExitEnv E>
[[gnu::always_inline]] inline ExitAction handle_npf(VcpuState& v, const Exit& x, E& env,
                                                    vbh_cpu_stats& s) {
    // Another CPU may have mapped the frame again (reclaim) after this CPU faulted:
    // then the access is legitimate and is simply retried.
    if (env.host_accessible(x.gpa))
        return ExitAction::resume;
    env.log().template record<VBH_LOG_NPF>(v.cpu, x.gpa, v.rip, x.qual);
    v.inject = Event::gp(0);
    ++s.faults_reflected;
    return ExitAction::resume;
}

// A trapped port (io_policy.hpp). The decision and the access happen under one lock
// so that the 8042 command/data pair and port 0x92's old value are seen in order. A
// reset leaves the write to the caller, which scrubs first (ExitAction::reset; RIP
// already advanced, RAX holds the value).
template <ExitEnv E>
ExitAction handle_io(VcpuState& v, const Exit x, E& env) {
    const IoAccess a = io_access(x.qual, v.reg(Gpr::rax));
    if (!io_valid(a, x.insn_len)) {
        env.log().record(VBH_LOG_IO_DENIED, v.cpu, a.port, v.rip, io_log_info(a));
        v.inject = Event::gp(0);
        return ExitAction::resume;
    }
    IoState& st = env.io_state();
    LockGuard guard{st.lock};
    std::uint8_t b = 0;
    const std::uint8_t old92 =
        writes_byte(a, port_sysctl_a, b) ? std::uint8_t(env.io_in(port_sysctl_a, 1)) : 0;
    switch (classify(env.ports(), a, st.kbc, old92)) {
    case IoVerdict::perform:
        if (a.in)
            v.set_reg(Gpr::rax, io_merge_in(v.reg(Gpr::rax), a.size, env.io_in(a.port, a.size)));
        else
            env.io_out(a.port, a.size, a.value);
        break;
    case IoVerdict::reset:
        v.rip += x.insn_len;
        return ExitAction::reset;
    case IoVerdict::drop_sleep:
        env.log().record(VBH_LOG_IO_DENIED, v.cpu, a.port, v.rip, io_log_info(a));
        break;
    case IoVerdict::refuse:
        env.log().record(VBH_LOG_IO_DENIED, v.cpu, a.port, v.rip, io_log_info(a));
        v.inject = Event::gp(0);
        return ExitAction::resume;
    }
    v.rip += x.insn_len;
    return ExitAction::resume;
}

// Always inlined into the one VMRUN loop that calls it on target (image/src/loop.cpp):
// the exit path is then one function with no argument spills, 14-26 instructions
// fewer per exit (tests/exitcost, docs/exit-cost.md). Handlers that stay out of line
// get a copy of the exit, so that the loop's own stays in registers.
// s: the exiting CPU's counters (env.own_stats(v)); the loop passes its own.
template <ExitEnv E>
[[gnu::always_inline]] inline ExitAction dispatch_exit(VcpuState& v, const Exit& x, E& env,
                                                       vbh_cpu_stats& s) {
    ++s.exits[std::size_t(x.reason)]; // total_exits: their sum, made by read_stats()
    // Without jump tables (the image's flags) a switch is a tree of compares: the
    // hypercall, the MSR write (EFER: kvm_amd, boot, resume) and the NPF are tested
    // first, one compare each, then the host's SVM instructions (kvm_amd's CLGI,
    // VMLOAD, VMSAVE, STGI around each entry of its guests), the unknown exit (fatal)
    // and the MSR read; the switch takes the rest (NMI, shutdown, IO, INIT, INVD: rare).
    if (x.reason == ExitReason::hypercall) [[likely]]
        return handle_hypercall(v, x, env);
    if (x.reason == ExitReason::msr_write)
        return handle_msr(v, x, env);
    if (x.reason == ExitReason::npf)
        return handle_npf(v, x, env, s);
    if (x.reason == ExitReason::virt_insn)
        return env.virt_insn(v, x);
    if (x.reason == ExitReason::other)
        return ExitAction::fatal;
    if (x.reason == ExitReason::msr_read)
        return handle_msr(v, x, env);
    switch (x.reason) {
    case ExitReason::hypercall: return handle_hypercall(v, x, env);
    case ExitReason::msr_read:
    case ExitReason::msr_write: return handle_msr(v, x, env);
    case ExitReason::npf: return handle_npf(v, x, env, s);
    case ExitReason::nmi:
        if (env.take_kick(v.cpu)) {
            ++s.kicks_taken;
        } else {
            v.inject = Event::nmi();
            ++s.nmis_reflected;
        }
        return ExitAction::resume;
    case ExitReason::virt_insn: return env.virt_insn(v, x);
    case ExitReason::shutdown:
        env.log().record(VBH_LOG_SHUTDOWN, v.cpu, 0, v.rip, x.code);
        return ExitAction::fatal;
    case ExitReason::io: return handle_io(v, x, env);
    case ExitReason::init:
        env.log().record(VBH_LOG_INIT, v.cpu, 0, v.rip, x.code);
        return ExitAction::init;
    case ExitReason::invd:
        if (x.qual != 0) // certainly INVD, not a WBINVD (exit_svm.hpp)
            env.log().record(VBH_LOG_INVD, v.cpu, 0, v.rip, 0);
        env.flush_caches();
        v.rip += x.insn_len;
        return ExitAction::resume;
    case ExitReason::other: return ExitAction::fatal;
    }
    return ExitAction::fatal;
}

template <ExitEnv E>
[[gnu::always_inline]] inline ExitAction dispatch_exit(VcpuState& v, const Exit& x, E& env) {
    return dispatch_exit(v, x, env, env.own_stats(v));
}

} // namespace vbh
