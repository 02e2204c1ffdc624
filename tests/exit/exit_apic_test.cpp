// A host write to its xAPIC page (vbh/exit_apic.hpp): the NPF on the read-only page is
// decoded, checked and performed, emulated or dropped; RIP moves past the store.
// Instruction bytes from `as` + `objdump -d` (x86-64), the source line beside each.
#include "fake_env.hpp"

#include <gtest/gtest.h>

namespace vbh::test {
namespace {

constexpr std::uint64_t rip0 = 0xffffffff81000000ull;

struct ApicExit : ::testing::Test {
    FakeEnv env;
    VcpuState v;
    vbh_cpu_stats& s = env.cpu_stats[0];
    ApicExit() { v.rip = rip0; }

    ExitAction write(std::uint32_t reg, std::vector<std::uint8_t> bytes, bool is_write = true) {
        env.insn = std::move(bytes);
        const Exit x{ExitReason::npf, 0, 0x400, is_write ? 0x7ull : 0x5ull, env.apic_base + reg};
        return dispatch_exit(v, x, env, s);
    }
    std::uint32_t last_log_kind() {
        vbh_log_page page{};
        env.event_log.read(0, page);
        return page.count ? page.entries[page.count - 1].kind : 0;
    }
};

TEST_F(ApicExit, AnEoiIsPerformed) {
    v.set_reg(Gpr::rax, 0);
    ASSERT_EQ(write(0xb0, {0x89, 0x82, 0xb0, 0x00, 0x00, 0x00}), ExitAction::resume); // mov %eax,0xb0(%rdx)
    ASSERT_EQ(env.apic_writes.size(), 1u);
    EXPECT_EQ(env.apic_writes[0], (std::pair<std::uint32_t, std::uint32_t>{0xb0, 0}));
    EXPECT_EQ(v.rip, rip0 + 6);
    EXPECT_FALSE(v.inject.pending());
}

TEST_F(ApicExit, AnInitIsHandedToTheEmulationNotTheApic) {
    env.apic_regs[0x310 >> 4] = 1u << 24; // ICR high: APIC id 1
    ASSERT_EQ(write(0x300, {0xc7, 0x83, 0x00, 0x03, 0x00, 0x00, 0x00, 0xc5, 0x00, 0x00}), // movl $0xc500,0x300(%rbx)
              ExitAction::resume);
    EXPECT_TRUE(env.apic_writes.empty());
    ASSERT_EQ(env.sends.size(), 1u);
    EXPECT_EQ(env.sends[0].send.verdict, apic::Verdict::init);
    EXPECT_EQ(env.sends[0].send.dest, 1u);
    EXPECT_EQ(env.sends[0].icr_lo, 0xc500u);
    EXPECT_EQ(v.rip, rip0 + 10);
}

TEST_F(ApicExit, ASipiCarriesItsVector) {
    env.apic_regs[0x310 >> 4] = 1u << 24;
    v.set_reg(Gpr::rax, 0x0000069a);
    ASSERT_EQ(write(0x300, {0x89, 0x82, 0x00, 0x03, 0x00, 0x00}), ExitAction::resume); // mov %eax,0x300(%rdx)
    ASSERT_EQ(env.sends.size(), 1u);
    EXPECT_EQ(env.sends[0].send.verdict, apic::Verdict::sipi);
    EXPECT_EQ(env.sends[0].send.vector, 0x9a);
}

TEST_F(ApicExit, AFixedIpiGoesToTheApic) {
    v.set_reg(Gpr::rax, 0x000000fd);
    write(0x300, {0x89, 0x82, 0x00, 0x03, 0x00, 0x00});
    EXPECT_TRUE(env.sends.empty());
    ASSERT_EQ(env.apic_writes.size(), 1u);
    EXPECT_EQ(env.apic_writes[0].second, 0xfdu);
}

TEST_F(ApicExit, XchgReturnsTheOldValue) {
    env.apic_regs[0xb0 >> 4] = 0x1234;
    v.set_reg(Gpr::rsi, 0xffffffff00000000ull);
    write(0xb0, {0x87, 0xb7, 0xb0, 0x00, 0x00, 0x00}); // xchg %esi,0xb0(%rdi)
    EXPECT_EQ(v.reg(Gpr::rsi), 0x1234u); // zero-extended, as a 32-bit register write
    EXPECT_EQ(env.apic_regs[0xb0 >> 4], 0u);
    EXPECT_EQ(v.rip, rip0 + 6);
}

TEST_F(ApicExit, TheApicIdIsRefusedAndLogged) {
    v.set_reg(Gpr::r9, 5u << 24);
    write(0x20, {0x44, 0x89, 0x48, 0x20}); // mov %r9d,0x20(%rax)
    EXPECT_TRUE(env.apic_writes.empty());
    EXPECT_EQ(last_log_kind(), std::uint32_t(VBH_LOG_APIC_DENIED));
    EXPECT_EQ(v.rip, rip0 + 4); // dropped, not faulted: the store completes
    EXPECT_FALSE(v.inject.pending());
}

TEST_F(ApicExit, AWriteInsideARegisterIsDropped) {
    write(0x304, {0x89, 0x8a, 0x04, 0x03, 0x00, 0x00}); // mov %ecx,0x304(%rdx)
    EXPECT_TRUE(env.apic_writes.empty());
    EXPECT_TRUE(env.sends.empty());
    EXPECT_EQ(last_log_kind(), std::uint32_t(VBH_LOG_APIC_DENIED));
}

TEST_F(ApicExit, WhatCannotBeDecodedFaults) {
    // A 64-bit store (mov %rax,0x300(%rdx)), a truncated fetch, no bytes at all.
    for (const auto& bytes : {std::vector<std::uint8_t>{0x48, 0x89, 0x82, 0x00, 0x03, 0x00, 0x00},
                              std::vector<std::uint8_t>{0x89, 0x82, 0x00},
                              std::vector<std::uint8_t>{}}) {
        v = VcpuState{};
        v.rip = rip0;
        write(0x300, bytes);
        EXPECT_EQ(v.rip, rip0);
        EXPECT_EQ(v.inject.vector, 13);
        EXPECT_EQ(last_log_kind(), std::uint32_t(VBH_LOG_APIC_DENIED));
    }
    EXPECT_TRUE(env.apic_writes.empty());
    EXPECT_TRUE(env.sends.empty());
}

TEST_F(ApicExit, OutsideSixtyFourBitModeNothingIsDecoded) {
    env.insn_long_mode = false;
    write(0xb0, {0x89, 0x82, 0xb0, 0x00, 0x00, 0x00});
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_TRUE(env.apic_writes.empty());
}

TEST_F(ApicExit, AFaultThatIsNotAWriteIsRefused) {
    // Execute or read on the page: the NPT allows reads, so only an instruction fetch
    // from it can fault without the write bit.
    write(0xb0, {0x89, 0x82, 0xb0, 0x00, 0x00, 0x00}, false);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_TRUE(env.apic_writes.empty());
    EXPECT_EQ(v.rip, rip0);
}

TEST_F(ApicExit, OtherNpfsAreUnchanged) {
    env.blocked_pfns.insert(0x5);
    const Exit x{ExitReason::npf, 0, 0x400, 0x7, 0x5123};
    dispatch_exit(v, x, env, s);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_EQ(last_log_kind(), std::uint32_t(VBH_LOG_NPF));
    EXPECT_TRUE(env.apic_writes.empty());
}

} // namespace
} // namespace vbh::test
