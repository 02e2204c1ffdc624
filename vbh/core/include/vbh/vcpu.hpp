// VcpuState: the vendor-neutral view of a deprivileged CPU at an exit. The backend
// (svm/, vmx/) fills it from its control block after an exit and writes the changed
// parts back before resuming; the exit handlers in exit.hpp only see this struct, so
// they run unchanged in hosted tests with a fake vCPU.
#pragma once

#include <vbh/msr.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh {

// Architectural register numbers (Intel SDM vol. 2 §2.1.5, ModRM.reg order).
enum class Gpr : std::uint8_t {
    rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15, count
};

// An event to deliver to the guest at the next entry (AMD APM vol. 2 §15.20, EVENTINJ;
// Intel SDM vol. 3 §26.6, VM-entry interruption information).
struct Event {
    enum class Type : std::uint8_t { none, exception, nmi };
    Type type = Type::none;
    std::uint8_t vector = 0;
    bool has_error = false;
    std::uint32_t error = 0;

    static constexpr Event gp(std::uint32_t err = 0) { return {Type::exception, 13, true, err}; }
    static constexpr Event ud() { return {Type::exception, 6, false, 0}; }
    static constexpr Event nmi() { return {Type::nmi, 2, false, 0}; }
    constexpr bool pending() const { return type != Type::none; }
};

struct VcpuState {
    std::uint64_t gpr[std::size_t(Gpr::count)] = {};  // rsp/rax mirrored from the VMCB
    std::uint64_t rip = 0;
    std::uint64_t efer = 0;
    std::uint32_t cpu = 0;
    std::uint8_t cpl = 0;
    Event inject;                       // set by a handler, consumed by the backend
    std::uint64_t reserved = 0;         // keeps the layout the assembly expects

    std::uint64_t reg(Gpr r) const { return gpr[std::size_t(r)]; }
    void set_reg(Gpr r, std::uint64_t v) { gpr[std::size_t(r)] = v; }
};

// The GPR array is saved/restored by the backends' entry assembly at this offset.
static_assert(offsetof(VcpuState, gpr) == 0);

} // namespace vbh
