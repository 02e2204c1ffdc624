#include "exit_loop.hpp"

#include "kvm_private.hpp"

#include <cerrno>
#include <cstring>
#include <optional>
#include <fmt/format.h>

namespace vmm {

std::string exit_name(std::uint32_t reason) {
    if (reason == uapi::exit_memory_fault) return "KVM_EXIT_MEMORY_FAULT";
    switch (reason) {
#define NAME(r) case r: return #r;
        NAME(KVM_EXIT_UNKNOWN) NAME(KVM_EXIT_EXCEPTION) NAME(KVM_EXIT_IO)
        NAME(KVM_EXIT_HYPERCALL) NAME(KVM_EXIT_DEBUG) NAME(KVM_EXIT_HLT) NAME(KVM_EXIT_MMIO)
        NAME(KVM_EXIT_IRQ_WINDOW_OPEN) NAME(KVM_EXIT_SHUTDOWN) NAME(KVM_EXIT_FAIL_ENTRY)
        NAME(KVM_EXIT_INTR) NAME(KVM_EXIT_SET_TPR) NAME(KVM_EXIT_TPR_ACCESS) NAME(KVM_EXIT_NMI)
        NAME(KVM_EXIT_INTERNAL_ERROR) NAME(KVM_EXIT_SYSTEM_EVENT) NAME(KVM_EXIT_IOAPIC_EOI)
        NAME(KVM_EXIT_X86_RDMSR) NAME(KVM_EXIT_X86_WRMSR) NAME(KVM_EXIT_X86_BUS_LOCK)
        NAME(KVM_EXIT_NOTIFY)
#undef NAME
    }
    return fmt::format("exit reason {}", reason);
}

namespace {

// The vCPU's state where it stopped, for a failure message.
std::string state(const Vcpu& vcpu) {
    auto r = vcpu.regs();
    auto s = vcpu.sregs();
    if (!r || !s) return "(registers unreadable)";
    return fmt::format("rip={:#x} rsp={:#x} rflags={:#x} cr0={:#x} cr3={:#x} cr4={:#x} "
                       "efer={:#x} cs={:#x}",
                       r->rip, r->rsp, r->rflags, s->cr0, s->cr3, s->cr4, s->efer,
                       s->cs.selector);
}

// Why the exit in `run` ends the loop: the details KVM gives for it.
std::string unexpected_exit(const kvm_run& run) {
    std::string why = exit_name(run.exit_reason);
    switch (run.exit_reason) {
    case KVM_EXIT_FAIL_ENTRY:
        // VMRUN refused the guest state: on SVM the reason is the VMCB exit code
        // (VMEXIT_INVALID = -1), AMD APM vol. 2 §15.5.1.
        why += fmt::format(" hardware_entry_failure_reason={:#x} cpu={}",
                           run.fail_entry.hardware_entry_failure_reason, run.fail_entry.cpu);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        why += fmt::format(" suberror={}", run.internal.suberror);
        for (std::uint32_t i = 0; i < run.internal.ndata && i < 16; ++i)
            why += fmt::format(" {:#x}", run.internal.data[i]);
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        why += fmt::format(" type={}", run.system_event.type);
        break;
    case KVM_EXIT_SHUTDOWN:
        why += " (triple fault)";
        break;
    case KVM_EXIT_HYPERCALL:
        why += fmt::format(" nr={}", run.hypercall.nr);
        break;
    default:
        if (run.exit_reason == uapi::exit_memory_fault) {
            // The access's private-ness did not match the page's attribute, or the
            // guest_memfd could not give a page (api.rst, KVM_EXIT_MEMORY_FAULT).
            uapi::MemoryFault f;
            std::memcpy(&f, run.padding, sizeof f);
            why += fmt::format(" gpa={:#x} size={:#x} {}", f.gpa, f.size,
                               f.flags & uapi::memory_exit_flag_private ? "private" : "shared");
        }
        break;
    }
    return why;
}

} // namespace

void cancel_run(Vcpu& vcpu) {
    std::atomic_ref{vcpu.run_page().immediate_exit}.store(1, std::memory_order_release);
}

namespace {

// Hands a port or MMIO exit to the handler; nothing for any other exit.
std::optional<Verdict> dispatch(kvm_run& run, unsigned vcpu, ExitHandler& handler, LoopEnd& end) {
    switch (run.exit_reason) {
    case KVM_EXIT_IO: {
        ++end.io_exits;
        auto* data = reinterpret_cast<std::uint8_t*>(&run) + run.io.data_offset;
        return handler.port(vcpu, PortIo{run.io.port, run.io.direction == KVM_EXIT_IO_OUT,
                                         run.io.size, run.io.count, data});
    }
    case KVM_EXIT_MMIO:
        ++end.mmio_exits;
        return handler.mmio(vcpu, MmioAccess{run.mmio.phys_addr, run.mmio.is_write != 0,
                                             run.mmio.len, run.mmio.data});
    case KVM_EXIT_HYPERCALL:
        // Only the calls enabled with KVM_CAP_EXIT_HYPERCALL come here; KVM completes
        // the VMMCALL with run.hypercall.ret in rax at the next KVM_RUN.
        ++end.hypercalls;
        return handler.hypercall(vcpu, Hypercall{run.hypercall.nr,
                                                 {run.hypercall.args[0], run.hypercall.args[1],
                                                  run.hypercall.args[2]},
                                                 // __u64 is unsigned long long: the
                                                 // same 64 bits as std::uint64_t.
                                                 reinterpret_cast<std::uint64_t*>(
                                                     &run.hypercall.ret)});
    default:
        return std::nullopt;
    }
}

} // namespace

LoopEnd run_vcpu(Vcpu& vcpu, ExitHandler& handler, const std::atomic<const char*>& cancel) {
    LoopEnd end;
    kvm_run& run = vcpu.run_page();
    auto fail = [&](std::string why) {
        end.why = fmt::format("vcpu{}: {}; {}", vcpu.index(), why, state(vcpu));
        return end;
    };
    for (;;) {
        if (const char* why = cancel.load(std::memory_order_acquire))
            return fail(fmt::format("cancelled ({})", why));
        // EINTR: a signal (the VMM's kick, or any other) interrupted KVM_RUN.
        if (int err = vcpu.run(); err == EINTR) {
            ++end.interrupted;
            continue;
        } else if (err != 0) {
            return fail(fmt::format("KVM_RUN: {}", std::strerror(err)));
        }
        if (run.exit_reason == KVM_EXIT_INTR) {
            ++end.interrupted;
            continue;
        }
        auto v = dispatch(run, vcpu.index(), handler, end);
        if (!v) return fail(unexpected_exit(run));
        if (v->kind == Verdict::stop) {
            end.stopped = true;
            return end;
        }
        if (v->kind == Verdict::fault) return fail(v->why);
    }
}

} // namespace vmm
