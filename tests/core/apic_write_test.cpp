// The host's local APIC writes (vbh/apic_write.hpp): which are performed, which INIT
// and SIPI sends the hypervisor emulates and for whom, which are refused.
#include <vbh/apic_write.hpp>

#include <gtest/gtest.h>

#include <cstdint>

namespace vbh::apic {
namespace {

constexpr std::uint32_t icr(std::uint32_t mode, std::uint32_t vector = 0, std::uint32_t sh = sh_none,
                            bool logical = false, bool assert = true, bool level = false) {
    return vector | mode << 8 | std::uint32_t(logical) << 11 | std::uint32_t(assert) << 14 |
           std::uint32_t(level) << 15 | sh << 18;
}

TEST(ApicWrite, OrdinaryRegistersArePerformed) {
    for (std::uint32_t reg : {0x80u, 0xb0u, 0xd0u, 0xe0u, 0xf0u, 0x310u, 0x320u, 0x370u, 0x380u, 0x3e0u})
        EXPECT_EQ(classify(reg, 0x12345678, 0, false).verdict, Verdict::perform) << std::hex << reg;
}

TEST(ApicWrite, TheApicIdIsNeverWritten) {
    EXPECT_EQ(classify(reg_id, 0x01000000, 0, false).verdict, Verdict::refuse);
}

TEST(ApicWrite, IpisLinuxSendsArePerformed) {
    // Fixed (reschedule, call-function), lowest priority, NMI (backtrace, perf), with
    // any destination or shorthand.
    for (std::uint32_t sh : {sh_none, sh_self, sh_all, sh_others}) {
        EXPECT_EQ(classify(reg_icr_lo, icr(mode_fixed, 0xfd, sh), 1u << 24, false).verdict, Verdict::perform);
        EXPECT_EQ(classify(reg_icr_lo, icr(mode_lowest, 0x30, sh), 0, false).verdict, Verdict::perform);
        EXPECT_EQ(classify(reg_icr_lo, icr(mode_nmi, 0, sh), 0, false).verdict, Verdict::perform);
    }
}

TEST(ApicWrite, InitAndSipiAreEmulatedForTheirDestination) {
    const Send i = classify(reg_icr_lo, icr(mode_init, 0, sh_none, false, true, true), 3u << 24, false);
    EXPECT_EQ(i.verdict, Verdict::init);
    EXPECT_EQ(i.dest, 3u);
    EXPECT_TRUE(receives(i, 3, false));
    EXPECT_FALSE(receives(i, 1, false));
    EXPECT_FALSE(receives(i, 0, true));
    const Send s = classify(reg_icr_lo, icr(mode_sipi, 0x9a), 1u << 24, false);
    EXPECT_EQ(s.verdict, Verdict::sipi);
    EXPECT_EQ(s.vector, 0x9a);
    EXPECT_TRUE(receives(s, 1, false));
    EXPECT_FALSE(receives(s, 3, false));
}

TEST(ApicWrite, BroadcastAndAllExcludingSelf) {
    const Send b = classify(reg_icr_lo, icr(mode_init), 0xffu << 24, false);
    EXPECT_TRUE(receives(b, 0, true));
    EXPECT_TRUE(receives(b, 7, false));
    const Send o = classify(reg_icr_lo, icr(mode_sipi, 0x10, sh_others), 5u << 24, false);
    EXPECT_EQ(o.verdict, Verdict::sipi);
    EXPECT_FALSE(receives(o, 0, true));
    EXPECT_TRUE(receives(o, 2, false));
    EXPECT_TRUE(receives(o, 5, false));
}

TEST(ApicWrite, X2apicDestinationsAre32Bits) {
    const Send s = classify(reg_icr_lo, icr(mode_init), 0x100, true);
    EXPECT_EQ(s.verdict, Verdict::init);
    EXPECT_TRUE(receives(s, 0x100, false));
    EXPECT_FALSE(receives(s, 0x1, false)); // not the xAPIC reading of bits 31:24
    EXPECT_TRUE(receives(classify(reg_icr_lo, icr(mode_init), 0xffffffffu, true), 9, false));
    EXPECT_FALSE(receives(classify(reg_icr_lo, icr(mode_init), 0xffu, true), 9, false));
}

TEST(ApicWrite, InitDeassertIsDropped) {
    EXPECT_EQ(classify(reg_icr_lo, icr(mode_init, 0, sh_none, false, false, true), 1u << 24, false).verdict,
              Verdict::drop);
    // Edge-triggered with the assert bit clear is still an INIT.
    EXPECT_EQ(classify(reg_icr_lo, icr(mode_init, 0, sh_none, false, false, false), 1u << 24, false).verdict,
              Verdict::init);
}

TEST(ApicWrite, RefusedSends) {
    EXPECT_EQ(classify(reg_icr_lo, icr(mode_smi), 1u << 24, false).verdict, Verdict::refuse);
    EXPECT_EQ(classify(reg_icr_lo, icr(mode_extint), 1u << 24, false).verdict, Verdict::refuse);
    EXPECT_EQ(classify(reg_icr_lo, icr(3), 1u << 24, false).verdict, Verdict::refuse);
    EXPECT_EQ(classify(reg_icr_lo, icr(mode_init, 0, sh_none, true), 1u << 24, false).verdict, Verdict::refuse);
    EXPECT_EQ(classify(reg_icr_lo, icr(mode_sipi, 0x10, sh_none, true), 1u << 24, false).verdict,
              Verdict::refuse);
    for (std::uint32_t mode : {mode_init, mode_sipi}) {
        EXPECT_EQ(classify(reg_icr_lo, icr(mode, 0x10, sh_self), 0, false).verdict, Verdict::refuse);
        EXPECT_EQ(classify(reg_icr_lo, icr(mode, 0x10, sh_all), 0, false).verdict, Verdict::refuse);
    }
}

TEST(ApicWrite, LvtEntriesMayNotDeliverSmiOrInit) {
    for (std::uint32_t reg : {reg_lvt_cmci, reg_lvt_thermal, reg_lvt_perf, reg_lvt_lint0, reg_lvt_lint1}) {
        for (std::uint32_t mode : {mode_fixed, mode_nmi, mode_extint})
            EXPECT_EQ(classify(reg, mode << 8 | 0x40, 0, false).verdict, Verdict::perform) << std::hex << reg;
        for (std::uint32_t mode : {mode_smi, 3u, mode_init, mode_sipi})
            EXPECT_EQ(classify(reg, mode << 8, 0, false).verdict, Verdict::refuse) << std::hex << reg;
        // Masked or not: an entry unmasked later delivers what it holds.
        EXPECT_EQ(classify(reg, 1u << 16 | mode_init << 8, 0, false).verdict, Verdict::refuse);
    }
}

} // namespace
} // namespace vbh::apic
