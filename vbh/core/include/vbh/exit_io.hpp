// The I/O exit: an IN/OUT to a port the permission map traps (io_policy.hpp).
// Vendor-neutral; the backend packs the access into Exit::qual (IoQual) and gives
// the instruction length from the exit (SVM: EXITINFO2 holds the next RIP for every
// IOIO exit, NRIP save or not, AMD APM vol. 2 §15.10.2).
#pragma once

#include <vbh/exit_log.hpp>
#include <vbh/field.hpp>
#include <vbh/io_policy.hpp>
#include <vbh/spinlock.hpp>
#include <vbh/vcpu.hpp>

#include <cstdint>

namespace vbh {

// Exit::qual of an I/O exit.
struct IoQual {
    using Port = Field<15, 0>;
    using Size = Field<18, 16>; // bytes: 1, 2, 4
    using In = Bit<24>;
    using String = Bit<25>;
};

// Shared by every CPU: trapped-port emulation is serialised, so the 8042 state and
// the read-then-write of port 0x92 see one order of accesses.
struct IoState {
    SpinLock lock;
    KbcState kbc;
};

inline IoAccess io_access(std::uint64_t qual, std::uint64_t rax) {
    const auto size = std::uint8_t(IoQual::Size::get(qual));
    const std::uint32_t mask = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    return IoAccess{std::uint16_t(IoQual::Port::get(qual)), size, IoQual::In::test(qual),
                    IoQual::String::test(qual), std::uint32_t(rax) & mask};
}

// IN AL/AX keeps the rest of RAX; IN EAX is a 32-bit write and zero-extends.
constexpr std::uint64_t io_merge_in(std::uint64_t rax, std::uint8_t size, std::uint32_t value) {
    if (size == 1)
        return (rax & ~0xffull) | (value & 0xffu);
    if (size == 2)
        return (rax & ~0xffffull) | (value & 0xffffu);
    return value;
}

inline bool io_valid(const IoAccess& a, std::uint8_t insn_len) {
    return (a.size == 1 || a.size == 2 || a.size == 4) && insn_len != 0;
}

inline std::uint64_t io_log_info(const IoAccess& a) {
    return a.value | std::uint64_t(a.size) << 32 | std::uint64_t(a.string) << 40;
}

} // namespace vbh
