// The exit loop of one vCPU: KVM_RUN until the guest stops, something fails or the VMM
// cancels. Exits KVM handles in the kernel (CPUID, HLT and the LAPIC with the in-kernel
// irqchip) never come here; port I/O and MMIO go to an ExitHandler, everything else
// ends the loop with a description of what the vCPU did. The secret stage adds
// KVM_EXIT_HYPERCALL (KVM_HC_MAP_GPA_RANGE, with KVM_CAP_EXIT_HYPERCALL); a
// KVM_EXIT_MEMORY_FAULT (an access KVM could not map as private or shared) ends the loop
// with its address, as the guest converts its pages itself before using them.
#pragma once

#include "kvm.hpp"

#include <atomic>
#include <cstdint>
#include <string>

namespace vmm {

struct PortIo {
    std::uint16_t port;
    bool out;
    unsigned size;          // 1, 2 or 4 bytes per access
    unsigned count;         // > 1 for string I/O (REP INS/OUTS)
    std::uint8_t* data;     // size * count bytes in the kvm_run page
};

struct MmioAccess {
    std::uint64_t gpa;
    bool write;
    unsigned len;           // 1..8
    std::uint8_t* data;     // kvm_run.mmio.data: written for a write, to fill for a read
};

struct Hypercall {
    std::uint64_t nr;
    std::uint64_t args[3];  // rbx, rcx, rdx
    std::uint64_t* ret;     // kvm_run.hypercall.ret: what the guest gets in rax
};

struct Verdict {
    enum Kind { resume, stop, fault } kind = resume;
    std::string why;        // for fault: what the guest did wrong
};

class ExitHandler {
public:
    virtual ~ExitHandler() = default;
    virtual Verdict port(unsigned vcpu, const PortIo& io) = 0;
    virtual Verdict mmio(unsigned vcpu, const MmioAccess& access) = 0;
    virtual Verdict hypercall(unsigned vcpu, const Hypercall& call) = 0;
};

struct LoopEnd {
    bool stopped = false;   // the guest asked to stop (Verdict::stop)
    std::string why;        // otherwise: what went wrong, with the vCPU's state
    std::uint64_t io_exits = 0, mmio_exits = 0, interrupted = 0, hypercalls = 0;
};

// Runs vcpu until it stops, fails, or `cancel` holds a reason (then cancel_run() must
// also be called to get it out of KVM_RUN).
LoopEnd run_vcpu(Vcpu& vcpu, ExitHandler& handler, const std::atomic<const char*>& cancel);

// Makes the next (or current, with a signal to its thread) KVM_RUN return EINTR at once.
void cancel_run(Vcpu& vcpu);

// "KVM_EXIT_SHUTDOWN" for an exit reason number.
std::string exit_name(std::uint32_t reason);

} // namespace vmm
