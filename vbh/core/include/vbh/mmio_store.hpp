// Decode of the one store instruction behind a trapped host MMIO write (docs/mmio.md).
// The host's writes to its local APIC page fault in the host NPT; the NPF gives the
// guest-physical address (EXITINFO2) but, under QEMU TCG, neither the instruction bytes
// nor its length (no decode assists, AMD APM vol. 2 "Decode Assists"; no NRIP for
// an NPF, §15.7.1). The hypervisor fetches the bytes (guest_walk.hpp) and decodes here
// what it needs to emulate a 32-bit register write: the length (to advance RIP) and
// the source.
//
// Accepted, in 64-bit mode only (Intel SDM vol. 2 / AMD APM vol. 3 opcode maps):
//   89 /r     MOV  r/m32, r32
//   C7 /0 id  MOV  r/m32, imm32
//   87 /r     XCHG r/m32, r32   (Linux's X86_BUG_11AP APIC write; also loads r32)
// with a memory operand in any addressing form, segment overrides 26/2E/36/3E/64/65
// (counted; the NPF address already includes any FS/GS base) and a REX prefix right
// before the opcode whose W bit is 0. Everything else is refused: 66 (a 16-bit store),
// 67 (32-bit addressing), F0/F2/F3, REX.W (a 64-bit store), a REX the CPU would ignore
// (not adjacent to the opcode), register operands, other opcodes, other modes. A store
// Linux does not use for a 32-bit APIC register is not worth a decoder's attack surface.
//
// Total: any bytes and any count give a result with len <= min(count, 15), no UB.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vbh {

enum class DecodeFault : std::uint8_t {
    none,
    truncated,   // the instruction needs more bytes than were given (a fetch cut short)
    unsupported, // not one of the accepted forms, or longer than 15 bytes
};

struct MmioStore {
    enum class Op : std::uint8_t { mov, xchg };

    DecodeFault fault = DecodeFault::none;
    std::uint8_t len = 0;     // bytes, prefixes included: RIP advances by this much
    Op op = Op::mov;
    bool imm = false;         // source is imm32, else GPR `reg`
    std::uint8_t reg = 0;     // source GPR, ModRM.reg + REX.R: VcpuState's Gpr order
    std::uint32_t imm32 = 0;
    std::uint8_t segment = 0; // the last segment-override prefix, 0 for none

    constexpr explicit operator bool() const { return fault == DecodeFault::none; }
};

// Decodes the instruction at bytes[0, count). long_mode64: the CPU is in 64-bit mode
// (CS.L = 1 and EFER.LMA = 1); in any other mode the answer is unsupported.
MmioStore decode_mmio_store(const std::uint8_t* bytes, std::size_t count, bool long_mode64);

// The 32 bits a decoded store writes, given the 16 GPRs in VcpuState::gpr order.
constexpr std::uint32_t mmio_store_value(const MmioStore& s, const std::uint64_t (&gpr)[16]) {
    return s.imm ? s.imm32 : std::uint32_t(gpr[s.reg & 15]);
}

// XCHG also loads the old memory value into r32, which, as every 32-bit register write
// in 64-bit mode, zero-extends into the whole 64-bit register (SDM vol. 1 §3.4.1.1).
// `old`: what the emulated register read as, just before the store replaced it.
constexpr void mmio_xchg_load(const MmioStore& s, std::uint64_t (&gpr)[16], std::uint32_t old) {
    if (s.op == MmioStore::Op::xchg && !s.imm)
        gpr[s.reg & 15] = old;
}

} // namespace vbh
