// The SVM MSR permission map (AMD APM vol. 2 §15.11) built from the policy table
// (svm/msr_policy.hpp): every write intercepted unless a row lets it through, reads
// intercepted only where emulated, at the manual's offsets.
#include <vbh/svm/msr_policy.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace vbh::svm {
void build_msrpm(std::uint8_t* map);
}

namespace vbh {
namespace {

using Map = std::array<std::uint8_t, 8192>;

bool bit(const Map& m, std::size_t b) { return (m[b / 8] >> (b % 8)) & 1; }

// Read-intercept bit of an MSR (its write bit is the next one).
std::size_t read_bit(std::uint32_t msr) {
    if (msr < 0x2000)
        return 2 * msr;
    if (msr >= 0xc0000000 && msr < 0xc0002000)
        return 0x800 * 8 + 2 * (msr - 0xc0000000);
    return 0x1000 * 8 + 2 * (msr - 0xc0010000);
}

struct Msrpm : ::testing::Test {
    Map map{};
    void SetUp() override { svm::build_msrpm(map.data()); }
    bool reads(std::uint32_t msr) const { return bit(map, read_bit(msr)); }
    bool writes(std::uint32_t msr) const { return bit(map, read_bit(msr) + 1); }
};

TEST_F(Msrpm, ManualOffsets) {
    // Range C000_0000h starts at byte 800h; EFER = C000_0080h -> bits 2*80h, +1.
    EXPECT_TRUE(bit(map, 0x800 * 8 + 2 * 0x80));     // reads: the host's own SVME
    EXPECT_TRUE(bit(map, 0x800 * 8 + 2 * 0x80 + 1)); // writes
    // C001_0114h..117h: VM_CR read/write in bits 1:0, IGNNE (115h) and SMM_CTL (116h)
    // writes in bits 3 and 5, VM_HSAVE_PA read/write in 7:6.
    EXPECT_EQ(map[0x1045], 0xeb);
    for (std::size_t i = 0x1800; i < map.size(); ++i)
        ASSERT_EQ(map[i], 0) << "reserved byte " << i;
}

TEST_F(Msrpm, WritesDefaultDenyReadsNative) {
    // Unlisted MSRs in each range: write intercepted, read native.
    for (std::uint32_t msr : {0x3au, 0x1000u, 0xc0000090u, 0xc0011020u, 0xc0011fffu}) {
        EXPECT_TRUE(writes(msr)) << std::hex << msr;
        EXPECT_FALSE(reads(msr)) << std::hex << msr;
    }
}

TEST_F(Msrpm, EveryRowAsTheTableSays) {
    for (const svm::MsrRule& r : svm::msr_rules)
        for (std::uint32_t msr = r.first; msr <= r.last; ++msr) {
            EXPECT_EQ(reads(msr), r.read == svm::MsrRead::emulate) << std::hex << msr;
            EXPECT_EQ(writes(msr), r.write != svm::MsrWrite::native) << std::hex << msr;
        }
}

// The registers that move, retype or re-route memory or touch SMM and cache control
// (docs/launch.md, "MSRs"): never native.
TEST_F(Msrpm, MemoryAndSmmControlWritesExit) {
    for (std::uint32_t msr : {msr_syscfg, msr_hwcr, msr_iorr_base0, msr_iorr_base0 + 1,
                              msr_iorr_base0 + 2, msr_iorr_mask1, msr_top_mem, msr_top_mem2,
                              msr_nb_cfg, msr_patch_loader, msr_mmio_cfg_base, msr_smm_base,
                              msr_smm_addr, msr_smm_mask, msr_smm_ctl, msr_vm_cr,
                              msr_vm_hsave_pa, msr_mtrr_def_type, msr_tsc, msr_apic_base,
                              msr_debugctl, msr_efer, msr_perf_ctl0}) {
        EXPECT_TRUE(writes(msr)) << std::hex << msr;
        EXPECT_NE(svm::write_policy(msr), svm::MsrWrite::native) << std::hex << msr;
    }
    for (std::uint32_t msr = msr_mtrr_var_first; msr <= msr_mtrr_var_last; ++msr)
        EXPECT_TRUE(writes(msr));
    for (std::uint32_t msr = msr_mtrr_fix_first; msr <= msr_mtrr_fix_last; ++msr)
        EXPECT_TRUE(writes(msr));
}

// What Linux writes in normal operation runs natively (no exit per context switch,
// timer tick or EOI).
TEST_F(Msrpm, LinuxHotWritesAreNative) {
    for (std::uint32_t msr : {msr_fs_base, msr_gs_base, msr_kernel_gs_base, msr_tsc_aux,
                              msr_star, msr_star + 1, msr_sfmask, msr_spec_ctrl, msr_pred_cmd,
                              msr_pat, msr_tsc_deadline, msr_x2apic_first + 0xb,
                              msr_x2apic_icr, msr_sysenter_cs, msr_mc_bank_first + 1,
                              msr_virt_spec_ctrl}) {
        EXPECT_FALSE(writes(msr)) << std::hex << msr;
        EXPECT_FALSE(reads(msr)) << std::hex << msr;
    }
}

} // namespace
} // namespace vbh

namespace vbh {
namespace {

// The rows the emulation's switch (svm/msr.hpp) handles are the table's `emulate`
// rows; an unlisted MSR is refused.
TEST(MsrPolicy, EmulateRows) {
    EXPECT_EQ(svm::write_policy(msr_efer), svm::MsrWrite::emulate);
    EXPECT_EQ(svm::write_policy(msr_apic_base), svm::MsrWrite::emulate);
    EXPECT_EQ(svm::write_policy(msr_debugctl), svm::MsrWrite::emulate);
    EXPECT_EQ(svm::write_policy(msr_perf_ctl0 + 2), svm::MsrWrite::emulate);
    EXPECT_EQ(svm::write_policy(msr_perf_ext_last), svm::MsrWrite::emulate);
    EXPECT_EQ(svm::write_policy(0xc0011020), svm::MsrWrite::refuse); // LS_CFG: unlisted
    // The host's SVM registers (host_svm.hpp): read and written as shadows; EFER's
    // reads exit so that the host sees its own SVME.
    for (std::uint32_t msr : {msr_efer, msr_vm_cr, msr_vm_hsave_pa}) {
        EXPECT_EQ(svm::read_policy(msr), svm::MsrRead::emulate) << std::hex << msr;
        EXPECT_EQ(svm::write_policy(msr), svm::MsrWrite::emulate) << std::hex << msr;
    }
}

} // namespace
} // namespace vbh
