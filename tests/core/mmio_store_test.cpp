// decode_mmio_store (vbh/mmio_store.hpp): the store forms Linux uses for 32-bit APIC
// writes, every addressing form, and refusal of everything else. The byte strings come
// from GNU as 2.40 + objdump -d (the source line is each case's name) unless marked
// "by hand".
#include <vbh/guest_walk.hpp>
#include <vbh/mmio_store.hpp>
#include <vbh/vcpu.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace vbh {
namespace {

using Bytes = std::vector<std::uint8_t>;
using Op = MmioStore::Op;

struct Case {
    const char* source;
    Bytes bytes;
    std::uint8_t len;
    Op op;
    bool imm;
    std::uint8_t reg; // Gpr number when !imm
    std::uint32_t imm32;
    std::uint8_t segment;
};

constexpr auto rax = std::uint8_t(Gpr::rax), rcx = std::uint8_t(Gpr::rcx),
               rdx = std::uint8_t(Gpr::rdx), rbx = std::uint8_t(Gpr::rbx),
               rsp = std::uint8_t(Gpr::rsp), rsi = std::uint8_t(Gpr::rsi),
               r8 = std::uint8_t(Gpr::r8), r9 = std::uint8_t(Gpr::r9),
               r11 = std::uint8_t(Gpr::r11), r15 = std::uint8_t(Gpr::r15);

const std::vector<Case>& accepted() {
    static const std::vector<Case> cases = {
        {"movl %eax, -0xa03500(%rdx)", {0x89, 0x82, 0x00, 0xcb, 0x5f, 0xff}, 6, Op::mov, false, rax, 0, 0},
        {"mov %r9d, 0x300(%rax)", {0x44, 0x89, 0x88, 0x00, 0x03, 0x00, 0x00}, 7, Op::mov, false, r9, 0, 0},
        {"movl $0x4500, 0x300(%rbx,%rcx,4)",
         {0xc7, 0x84, 0x8b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x45, 0x00, 0x00}, 11, Op::mov, true, 0, 0x4500, 0},
        {"xchg %esi, (%rdi)", {0x87, 0x37}, 2, Op::xchg, false, rsi, 0, 0},
        {"movl %eax, 0xfffffffffffff300", {0x89, 0x04, 0x25, 0x00, 0xf3, 0xff, 0xff}, 7, Op::mov, false, rax, 0, 0},
        {"mov %eax, 0x10(%rip)", {0x89, 0x05, 0x10, 0x00, 0x00, 0x00}, 6, Op::mov, false, rax, 0, 0},
        {"movl %ecx, (%rax)", {0x89, 0x08}, 2, Op::mov, false, rcx, 0, 0},
        {"movl %edx, 0x10(%rbp)", {0x89, 0x55, 0x10}, 3, Op::mov, false, rdx, 0, 0},
        {"movl %eax, (%r13)", {0x41, 0x89, 0x45, 0x00}, 4, Op::mov, false, rax, 0, 0},
        {"movl %eax, (%r12)", {0x41, 0x89, 0x04, 0x24}, 4, Op::mov, false, rax, 0, 0},
        {"movl %eax, (%rsp)", {0x89, 0x04, 0x24}, 3, Op::mov, false, rax, 0, 0},
        {"movl %r15d, 0x12345678(%r8,%r9,8)", {0x47, 0x89, 0xbc, 0xc8, 0x78, 0x56, 0x34, 0x12}, 8, Op::mov, false, r15, 0, 0},
        {"movl $0xdeadbeef, 0x10(%rip)",
         {0xc7, 0x05, 0x10, 0x00, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde}, 10, Op::mov, true, 0, 0xdeadbeef, 0},
        {"movl $1, (%rax)", {0xc7, 0x00, 0x01, 0x00, 0x00, 0x00}, 6, Op::mov, true, 0, 1, 0},
        {"movl $0x4500, -0xa03500(%rdx)",
         {0xc7, 0x82, 0x00, 0xcb, 0x5f, 0xff, 0x00, 0x45, 0x00, 0x00}, 10, Op::mov, true, 0, 0x4500, 0},
        {"xchg %r11d, 0x300(%r10)", {0x45, 0x87, 0x9a, 0x00, 0x03, 0x00, 0x00}, 7, Op::xchg, false, r11, 0, 0},
        {"xchg %eax, 0xfffffffffffff0b0", {0x87, 0x04, 0x25, 0xb0, 0xf0, 0xff, 0xff}, 7, Op::xchg, false, rax, 0, 0},
        {"movl %eax, %fs:0x300(%rax)", {0x64, 0x89, 0x80, 0x00, 0x03, 0x00, 0x00}, 7, Op::mov, false, rax, 0, 0x64},
        {"movl %eax, %gs:(%rdi)", {0x65, 0x89, 0x07}, 3, Op::mov, false, rax, 0, 0x65},
        {"movl %r8d, 0x4(,%rsi,2)", {0x44, 0x89, 0x04, 0x75, 0x04, 0x00, 0x00, 0x00}, 8, Op::mov, false, r8, 0, 0},
        {"movl %esp, 0x7f(%rbx)", {0x89, 0x63, 0x7f}, 3, Op::mov, false, rsp, 0, 0},
        {"xchg %ebx, -0x80(%rcx,%rdx)", {0x87, 0x5c, 0x11, 0x80}, 4, Op::xchg, false, rbx, 0, 0},
        {"movl $0x7, 0x300(%r13,%r12,1)",
         {0x43, 0xc7, 0x84, 0x25, 0x00, 0x03, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00}, 12, Op::mov, true, 0, 7, 0},
        // By hand: DS and ES overrides before a REX (gas drops a default %ds:), and
        // several overrides: the last one is recorded, all are counted.
        {"by hand: ds; mov %r9d, (%rax)", {0x3e, 0x44, 0x89, 0x08}, 4, Op::mov, false, r9, 0, 0x3e},
        {"by hand: es; cs; ss; gs; mov %eax, (%rax)", {0x26, 0x2e, 0x36, 0x65, 0x89, 0x00}, 6, Op::mov, false, rax, 0, 0x65},
        // By hand: mod 00 with a SIB base of 101 and REX.B is still disp32, no base
        // (SDM vol. 2 table 2-5 note 1); likewise rm 101 + REX.B is still RIP-relative.
        {"by hand: movl %eax, 0x300(,%rcx,1) with REX.B", {0x41, 0x89, 0x04, 0x0d, 0x00, 0x03, 0x00, 0x00}, 8, Op::mov, false, rax, 0, 0},
        {"by hand: mov %eax, 0x10(%rip) with REX.B", {0x41, 0x89, 0x05, 0x10, 0x00, 0x00, 0x00}, 7, Op::mov, false, rax, 0, 0},
    };
    return cases;
}

// Exactly `b` in a heap block of its own size, so ASan sees any read beyond it.
MmioStore decode_exact(const Bytes& b, std::size_t count, bool long_mode64 = true) {
    auto buf = std::make_unique<std::uint8_t[]>(count);
    for (std::size_t i = 0; i < count; ++i)
        buf[i] = b[i];
    return decode_mmio_store(buf.get(), count, long_mode64);
}

TEST(MmioStore, DecodesEveryAcceptedForm) {
    for (const Case& c : accepted()) {
        SCOPED_TRACE(c.source);
        const MmioStore s = decode_exact(c.bytes, c.bytes.size());
        ASSERT_TRUE(s) << int(s.fault);
        EXPECT_EQ(s.len, c.len);
        EXPECT_EQ(s.len, c.bytes.size());
        EXPECT_EQ(s.op, c.op);
        EXPECT_EQ(s.imm, c.imm);
        if (!c.imm) {
            EXPECT_EQ(s.reg, c.reg);
        }
        EXPECT_EQ(s.imm32, c.imm32);
        EXPECT_EQ(s.segment, c.segment);
    }
}

// Bytes after the instruction (the fetch reads 15) change nothing.
TEST(MmioStore, TrailingBytesAreNotPartOfTheInstruction) {
    for (const Case& c : accepted()) {
        SCOPED_TRACE(c.source);
        Bytes padded = c.bytes;
        padded.resize(15, 0x89);
        const MmioStore s = decode_exact(padded, padded.size());
        ASSERT_TRUE(s);
        EXPECT_EQ(s.len, c.len);
        EXPECT_EQ(s.imm32, c.imm32);
    }
}

TEST(MmioStore, EveryTruncationIsTruncated) {
    for (const Case& c : accepted()) {
        for (std::size_t n = 0; n < c.bytes.size(); ++n) {
            SCOPED_TRACE(testing::Message() << c.source << " cut to " << n);
            const MmioStore s = decode_exact(c.bytes, n);
            EXPECT_EQ(s.fault, DecodeFault::truncated);
            EXPECT_EQ(s.len, 0);
        }
    }
}

TEST(MmioStore, OnlySixtyFourBitMode) {
    for (const Case& c : accepted())
        EXPECT_EQ(decode_exact(c.bytes, c.bytes.size(), false).fault, DecodeFault::unsupported) << c.source;
}

TEST(MmioStore, RefusesEverythingElse) {
    const std::vector<std::pair<const char*, Bytes>> refused = {
        {"movw %ax, 0x300(%rax)", {0x66, 0x89, 0x80, 0x00, 0x03, 0x00, 0x00}},
        {"movq %rax, 0x300(%rax)", {0x48, 0x89, 0x80, 0x00, 0x03, 0x00, 0x00}},
        {"lock xchg %eax, (%rdi)", {0xf0, 0x87, 0x07}},
        {"movb %al, (%rax)", {0x88, 0x00}},
        {"mov (%rax), %eax", {0x8b, 0x00}},
        {"movl %eax, (%eax)", {0x67, 0x89, 0x00}},
        {"rep movsl", {0xf3, 0xa5}},
        {"movl %eax, %ecx", {0x89, 0xc1}},
        {"movq $1, (%rax)", {0x48, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00}},
        {"xchg %eax, %ecx (short form)", {0x91}},
        {"movnti %eax, (%rax)", {0x0f, 0xc3, 0x00}},
        {"xchg %rax, (%rdi)", {0x48, 0x87, 0x07}},
        {"by hand: xchg %ecx, %eax (87 /r, mod 11)", {0x87, 0xc8}},
        {"by hand: movl $1, %eax (c7 /0, mod 11)", {0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00}},
        {"by hand: c7 /1 (no such store)", {0xc7, 0x08, 0x01, 0x00, 0x00, 0x00}},
        {"by hand: xbegin (c7 f8)", {0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00}},
        {"by hand: repne mov", {0xf2, 0x89, 0x00}},
        {"by hand: rep mov", {0xf3, 0x89, 0x00}},
        {"by hand: REX.W after a 66", {0x66, 0x48, 0x89, 0x00}},
        {"by hand: REX before a segment prefix (ignored by the CPU)", {0x48, 0x3e, 0x89, 0x00}},
        {"by hand: REX before a segment prefix, W = 0", {0x44, 0x64, 0x89, 0x00}},
        {"by hand: two REX prefixes", {0x40, 0x44, 0x89, 0x00}},
        {"by hand: REX.WRXB", {0x4f, 0x89, 0x00}},
        {"by hand: VEX", {0xc5, 0xf8, 0x29, 0x00}},
        {"by hand: 0f escape", {0x0f, 0x89, 0x00, 0x00, 0x00, 0x00}},
    };
    for (const auto& [source, bytes] : refused) {
        SCOPED_TRACE(source);
        Bytes padded = bytes;
        padded.resize(15, 0);
        EXPECT_EQ(decode_exact(padded, padded.size()).fault, DecodeFault::unsupported);
    }
}

// 13 segment prefixes + 89 00 is 15 bytes and legal; one more is 16, which the CPU
// refuses with #GP (SDM vol. 2 §2.3.11): unsupported, not truncated, at any count.
TEST(MmioStore, FifteenBytesAtMost) {
    Bytes b(13, 0x3e);
    b.insert(b.end(), {0x89, 0x00});
    const MmioStore s = decode_exact(b, b.size());
    ASSERT_TRUE(s);
    EXPECT_EQ(s.len, 15);

    Bytes longer(14, 0x3e);
    longer.insert(longer.end(), {0x89, 0x00});
    EXPECT_EQ(decode_exact(longer, 15).fault, DecodeFault::unsupported);
    EXPECT_EQ(decode_exact(longer, longer.size()).fault, DecodeFault::unsupported);

    Bytes disp(11, 0x65); // 11 + 89 80 + disp32 = 17
    disp.insert(disp.end(), {0x89, 0x80, 0x00, 0x03, 0x00, 0x00});
    EXPECT_EQ(decode_exact(disp, disp.size()).fault, DecodeFault::unsupported);
    Bytes imm(9, 0x65); // 9 + c7 00 + imm32 = 15, then 10 + ... = 16
    imm.insert(imm.end(), {0xc7, 0x00, 0x01, 0x00, 0x00, 0x00});
    EXPECT_EQ(decode_exact(imm, imm.size()).len, 15);
    imm.insert(imm.begin(), 0x65);
    EXPECT_EQ(decode_exact(imm, imm.size()).fault, DecodeFault::unsupported);
}

std::uint64_t (&sample_gprs())[16] {
    static std::uint64_t g[16];
    for (unsigned i = 0; i < 16; ++i)
        g[i] = 0xa5a5'0000'0000'0000ull | (std::uint64_t(i) << 32) | (0x1000u * i + 0x30u + i);
    return g;
}

TEST(MmioStore, ValueComesFromTheSourceRegister) {
    auto& g = sample_gprs();
    for (const Case& c : accepted()) {
        SCOPED_TRACE(c.source);
        const MmioStore s = decode_exact(c.bytes, c.bytes.size());
        ASSERT_TRUE(s);
        const std::uint32_t want = c.imm ? c.imm32 : std::uint32_t(0x1000u * c.reg + 0x30u + c.reg);
        EXPECT_EQ(mmio_store_value(s, g), want);
    }
}

// Every ModRM.reg with and without REX.R: mov %eXX/%rNd, (%rax) is [REX] 89 (reg << 3).
TEST(MmioStore, AllSixteenSourceRegisters) {
    VcpuState v;
    for (unsigned i = 0; i < 16; ++i)
        v.set_reg(Gpr(i), 0xffff'ffff'0000'0000ull | (0x11111111u * (i + 1) & 0xffffffffu));
    for (unsigned r = 0; r < 16; ++r) {
        Bytes b;
        if (r >= 8)
            b.push_back(0x44);
        b.push_back(0x89);
        b.push_back(std::uint8_t((r & 7) << 3));
        const MmioStore s = decode_exact(b, b.size());
        ASSERT_TRUE(s) << r;
        EXPECT_EQ(s.reg, r);
        EXPECT_EQ(mmio_store_value(s, v.gpr), std::uint32_t(v.reg(Gpr(r))));
    }
}

TEST(MmioStore, XchgLoadsTheOldValueZeroExtended) {
    auto& g = sample_gprs();
    const Bytes xchg_r11 = {0x45, 0x87, 0x9a, 0x00, 0x03, 0x00, 0x00}; // xchg %r11d, 0x300(%r10)
    const MmioStore s = decode_exact(xchg_r11, xchg_r11.size());
    ASSERT_TRUE(s);
    EXPECT_EQ(mmio_store_value(s, g), 0xb03bu);
    mmio_xchg_load(s, g, 0x8000'0001u);
    EXPECT_EQ(g[11], 0x8000'0001u);
    EXPECT_EQ(g[10], 0xa5a5'000a'0000'a03aull); // nothing else moves

    const Bytes mov_r9 = {0x44, 0x89, 0x88, 0x00, 0x03, 0x00, 0x00}; // mov %r9d, 0x300(%rax)
    const MmioStore m = decode_exact(mov_r9, mov_r9.size());
    ASSERT_TRUE(m);
    const std::uint64_t before = g[9];
    mmio_xchg_load(m, g, 0);
    EXPECT_EQ(g[9], before); // a MOV loads nothing
}

// Totality under ASan/UBSan: pseudo-random strings, each in a block of exactly its
// length; half start with bytes the decoder accepts, so decoding gets past the opcode.
TEST(MmioStore, AnyBytesDecodeWithinBounds) {
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    const std::uint8_t lead[] = {0x89, 0x87, 0xc7, 0x44, 0x41, 0x48, 0x3e, 0x65, 0x66, 0xf0};
    unsigned ok = 0;
    for (unsigned iter = 0; iter < 1'000'000; ++iter) {
        const std::size_t count = next() % 17; // 0 .. 16: one more than any instruction
        auto buf = std::make_unique<std::uint8_t[]>(count);
        std::uint64_t r = next();
        for (std::size_t i = 0; i < count; ++i, r = (i % 8 == 0) ? next() : r >> 8)
            buf[i] = std::uint8_t(r);
        for (std::size_t i = 0; i < count && i < 3 && (iter & 1) != 0; ++i)
            buf[i] = lead[next() % sizeof lead];
        const MmioStore s = decode_mmio_store(buf.get(), count, true);
        if (s) {
            ++ok;
            ASSERT_LE(s.len, count);
            ASSERT_LE(s.len, max_insn_bytes);
            ASSERT_GE(s.len, 2);
            ASSERT_LT(s.reg, 16);
        } else {
            ASSERT_EQ(s.len, 0);
        }
    }
    EXPECT_GT(ok, 10'000u); // the strings do reach the accepting paths
}

} // namespace
} // namespace vbh
