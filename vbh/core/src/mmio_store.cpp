// Decode of a host MMIO store (mmio_store.hpp). Encodings: Intel SDM vol. 2 §2.1-2.2
// (prefixes, ModRM, SIB, REX), AMD APM vol. 3 chapter 1. Only the length and the source
// matter: the address comes from the nested page fault.
#include <vbh/mmio_store.hpp>

#include <vbh/guest_walk.hpp>

namespace vbh {
namespace {

constexpr std::uint8_t op_mov_store = 0x89; // MOV r/m32, r32
constexpr std::uint8_t op_xchg = 0x87;      // XCHG r/m32, r32
constexpr std::uint8_t op_mov_imm = 0xc7;   // MOV r/m32, imm32 (ModRM.reg = 0)

constexpr bool is_segment(std::uint8_t b) {
    return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

constexpr bool is_rex(std::uint8_t b) { return (b & 0xf0) == 0x40; }

constexpr std::uint8_t rex_w = 0x08;
constexpr std::uint8_t rex_r = 0x04;

// Bytes of displacement after ModRM (and SIB) for a memory operand (mod != 11):
// mod 01 disp8, mod 10 disp32; mod 00 none, except rm = 101 (RIP + disp32 in 64-bit
// mode) and a SIB whose base = 101 (disp32, no base). REX.B plays no part in either
// special case (SDM vol. 2 §2.2.1.2, table 2-5).
constexpr std::size_t disp_bytes(std::uint8_t mod, std::uint8_t rm, std::uint8_t sib_base) {
    if (mod == 1)
        return 1;
    if (mod == 2)
        return 4;
    if (rm == 5 || (rm == 4 && sib_base == 5))
        return 4;
    return 0;
}

// Reads forward through the bytes; `need(k)` says whether k more bytes exist and, if
// not, why: past 15 the CPU would have raised #GP, short of that the fetch ran out.
class Cursor {
public:
    Cursor(const std::uint8_t* bytes, std::size_t count) : bytes_{bytes}, count_{count} {}

    DecodeFault need(std::size_t k) const {
        if (pos_ + k > max_insn_bytes)
            return DecodeFault::unsupported;
        if (pos_ + k > count_)
            return DecodeFault::truncated;
        return DecodeFault::none;
    }
    std::uint8_t peek() const { return bytes_[pos_]; }
    std::uint8_t take() { return bytes_[pos_++]; }
    void skip(std::size_t k) { pos_ += k; }
    std::size_t pos() const { return pos_; }

private:
    const std::uint8_t* bytes_;
    std::size_t count_;
    std::size_t pos_ = 0;
};

MmioStore fail(DecodeFault f) {
    MmioStore s;
    s.fault = f;
    return s;
}

} // namespace

MmioStore decode_mmio_store(const std::uint8_t* bytes, std::size_t count, bool long_mode64) {
    if (!long_mode64)
        return fail(DecodeFault::unsupported);
    MmioStore s;
    Cursor c{bytes, count};

    // Segment overrides, then at most one REX, which must be the byte before the
    // opcode: a REX followed by a prefix is ignored by the CPU (SDM vol. 2 §2.2.1).
    // Modelling that would only widen what is accepted, so a prefix after a REX is
    // taken as the opcode and refused with every other unknown opcode.
    for (;;) {
        if (DecodeFault f = c.need(1); f != DecodeFault::none)
            return fail(f);
        if (!is_segment(c.peek()))
            break;
        s.segment = c.take();
    }
    std::uint8_t rex = 0;
    if (is_rex(c.peek())) {
        rex = c.take();
        if ((rex & rex_w) != 0)
            return fail(DecodeFault::unsupported);
        if (DecodeFault f = c.need(1); f != DecodeFault::none)
            return fail(f);
    }

    const std::uint8_t opcode = c.take();
    if (opcode != op_mov_store && opcode != op_xchg && opcode != op_mov_imm)
        return fail(DecodeFault::unsupported);

    if (DecodeFault f = c.need(1); f != DecodeFault::none)
        return fail(f);
    const std::uint8_t modrm = c.take();
    const auto mod = std::uint8_t(modrm >> 6);
    const auto reg = std::uint8_t((modrm >> 3) & 7);
    const auto rm = std::uint8_t(modrm & 7);
    if (mod == 3 || (opcode == op_mov_imm && reg != 0))
        return fail(DecodeFault::unsupported);

    std::uint8_t sib_base = 0;
    if (rm == 4) {
        if (DecodeFault f = c.need(1); f != DecodeFault::none)
            return fail(f);
        sib_base = std::uint8_t(c.take() & 7);
    }
    const std::size_t disp = disp_bytes(mod, rm, sib_base);
    if (DecodeFault f = c.need(disp); f != DecodeFault::none)
        return fail(f);
    c.skip(disp);

    if (opcode == op_mov_imm) {
        if (DecodeFault f = c.need(4); f != DecodeFault::none)
            return fail(f);
        s.imm = true;
        for (unsigned i = 0; i < 4; ++i)
            s.imm32 |= std::uint32_t(c.take()) << (8 * i);
    } else {
        s.reg = std::uint8_t(reg | ((rex & rex_r) != 0 ? 8 : 0));
        s.op = opcode == op_xchg ? MmioStore::Op::xchg : MmioStore::Op::mov;
    }
    s.len = std::uint8_t(c.pos());
    return s;
}

} // namespace vbh
