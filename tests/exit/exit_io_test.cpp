// Trapped reset and sleep ports (io_policy.hpp, exit_io.hpp) through the dispatcher,
// the SVM IOIO decode and the I/O permission map (AMD APM vol. 2 §15.10).
#include "fake_env.hpp"

#include <vbh/svm/exit_svm.hpp>

#include <gtest/gtest.h>

#include <memory>

namespace vbh::svm {
void build_iopm(std::uint8_t* map, const PlatformPorts& p);
}

namespace vbh::test {
namespace {

std::uint64_t qual(std::uint16_t port, std::uint8_t size, bool in, bool string = false) {
    return IoQual::Port::make(port) | IoQual::Size::make(size) | IoQual::In::make(in) |
           IoQual::String::make(string);
}

struct IoTest : ::testing::Test {
    FakeEnv env;
    VcpuState v = kernel_vcpu();

    ExitAction out(std::uint16_t port, std::uint8_t size, std::uint64_t rax, std::uint8_t len = 1) {
        v.set_reg(Gpr::rax, rax);
        return dispatch_exit(v, Exit{ExitReason::io, len, 0x7b, qual(port, size, false), 0}, env);
    }
    ExitAction in(std::uint16_t port, std::uint8_t size, std::uint64_t rax) {
        v.set_reg(Gpr::rax, rax);
        return dispatch_exit(v, Exit{ExitReason::io, 1, 0x7b, qual(port, size, true), 0}, env);
    }
    std::uint64_t logged(std::uint32_t kind) {
        vbh_log_page page{};
        const auto c = env.event_log.read(0, page);
        std::uint64_t n = 0;
        for (std::uint32_t i = 0; i < c.count; ++i)
            n += page.entries[i].kind == kind;
        return n;
    }
};

TEST_F(IoTest, RstCntResetsOnlyWithRstCpu) {
    const auto rip = v.rip;
    EXPECT_EQ(out(0xcf9, 1, 0x02), ExitAction::resume); // SYS_RST alone: no reset
    ASSERT_EQ(env.outs.size(), 1u);
    EXPECT_EQ(env.outs[0].value, 0x02u);
    EXPECT_EQ(v.rip, rip + 1);
    EXPECT_EQ(out(0xcf9, 1, 0x06), ExitAction::reset);
    EXPECT_EQ(env.outs.size(), 1u); // the reset write is left to the scrubbing caller
    EXPECT_EQ(v.rip, rip + 2);
    EXPECT_EQ(env.cpu_stats[0].exits[VBH_EXIT_IO], 2u);
}

TEST_F(IoTest, PciConfigAddressIsNotRstCnt) {
    // outl 0x80000004 -> 0xCF8 covers 0xCF9 (byte 0x00 there, but any value): CONFIG_ADDRESS.
    EXPECT_EQ(out(0xcf8, 4, 0x8000ff04), ExitAction::resume);
    ASSERT_EQ(env.outs.size(), 1u);
    EXPECT_EQ(env.outs[0].port, 0xcf8);
    EXPECT_EQ(env.outs[0].size, 4);
    // A 16-bit write at 0xCF8 whose high byte lands on RST_CNT is a reset.
    EXPECT_EQ(out(0xcf8, 2, 0x0400), ExitAction::reset);
}

TEST_F(IoTest, FadtResetRegisterValue) {
    env.platform.reset_port = 0xb2; // a RESET_REG that is not 0xCF9
    env.platform.reset_value = 0x77;
    EXPECT_EQ(out(0xb2, 1, 0x76), ExitAction::resume);
    EXPECT_EQ(out(0xb2, 1, 0x77), ExitAction::reset);
}

TEST_F(IoTest, SystemControlPortAResetsOnRisingInitNow) {
    env.port_value[0x92] = 0x02; // A20 on, INIT_NOW clear
    EXPECT_EQ(out(0x92, 1, 0x02), ExitAction::resume);
    EXPECT_EQ(out(0x92, 1, 0x03), ExitAction::reset);
    env.port_value[0x92] = 0x03; // already set: writing it again is no edge
    EXPECT_EQ(out(0x92, 1, 0x03), ExitAction::resume);
}

TEST_F(IoTest, KeyboardControllerPulseAndOutputPort) {
    EXPECT_EQ(out(0x64, 1, 0xae), ExitAction::resume); // enable keyboard
    EXPECT_EQ(out(0x64, 1, 0xfe), ExitAction::reset);  // pulse RESET#
    EXPECT_EQ(out(0x64, 1, 0xf0), ExitAction::reset);  // pulse all four lines
    EXPECT_EQ(out(0x64, 1, 0xff), ExitAction::resume); // pulse none
    EXPECT_EQ(out(0x60, 1, 0x00), ExitAction::resume); // data, no pending command
    EXPECT_EQ(out(0x64, 1, 0xd1), ExitAction::resume); // write output port next
    EXPECT_EQ(out(0x60, 1, 0xdf), ExitAction::resume); // bit 0 set: no reset
    EXPECT_EQ(out(0x64, 1, 0xd1), ExitAction::resume);
    EXPECT_EQ(out(0x60, 1, 0xde), ExitAction::reset);  // RESET# asserted
}

TEST_F(IoTest, SleepIsDroppedAndLoggedPowerOffResets) {
    const auto before = env.outs.size();
    const auto rip = v.rip;
    // SLP_TYP without SLP_EN passes: Linux writes the type first.
    EXPECT_EQ(out(0x604, 2, 1u << 10), ExitAction::resume);
    EXPECT_EQ(env.outs.size(), before + 1);
    // S3 on q35 is SLP_TYP 1: dropped, logged, the instruction still completes.
    EXPECT_EQ(out(0x604, 2, (1u << 10) | pm1_slp_en, 2), ExitAction::resume);
    EXPECT_EQ(env.outs.size(), before + 1);
    EXPECT_EQ(v.rip, rip + 3);
    EXPECT_EQ(logged(VBH_LOG_IO_DENIED), 1u);
    // The same through the high byte alone.
    EXPECT_EQ(out(0x605, 1, (pm1_slp_en | (2u << 10)) >> 8), ExitAction::resume);
    EXPECT_EQ(logged(VBH_LOG_IO_DENIED), 2u);
    // S5 (SLP_TYP 0 from \_S5): scrub, then power off.
    EXPECT_EQ(out(0x604, 2, pm1_slp_en), ExitAction::reset);
    // Without an \_S5 object every SLP_EN write is a refused sleep.
    env.platform.slp_typ_s5[0] = VBH_SLP_TYP_NONE;
    EXPECT_EQ(out(0x604, 2, pm1_slp_en), ExitAction::resume);
}

TEST_F(IoTest, InMergesByWidth) {
    env.port_value[0x64] = 0x1d;
    in(0x64, 1, 0xffffffff'ffffff00);
    EXPECT_EQ(v.reg(Gpr::rax), 0xffffffff'ffffff1dull);
    env.port_value[0x604] = 0xabcd;
    in(0x604, 2, 0x11112222'33334444);
    EXPECT_EQ(v.reg(Gpr::rax), 0x11112222'3333abcdull);
    env.port_value[0xcf8] = 0x80000000;
    in(0xcf8, 4, 0x11112222'33334444);
    EXPECT_EQ(v.reg(Gpr::rax), 0x80000000ull); // 32-bit destination zero-extends
}

TEST_F(IoTest, StringIoAndBadLengthAreRefused) {
    const auto rip = v.rip;
    v.set_reg(Gpr::rax, 0xfe);
    EXPECT_EQ(dispatch_exit(v, Exit{ExitReason::io, 2, 0x7b, qual(0x64, 1, false, true), 0}, env),
              ExitAction::resume);
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_EQ(v.rip, rip);
    EXPECT_TRUE(env.outs.empty());
    v.inject = {};
    EXPECT_EQ(out(0xcf9, 1, 0x06, 0), ExitAction::resume); // no instruction length
    EXPECT_EQ(v.inject.vector, 13);
    EXPECT_EQ(logged(VBH_LOG_IO_DENIED), 2u);
}

TEST(SvmIo, IoioExitInfoDecode) {
    auto v = std::make_unique<svm::Vmcb>();
    v->exit_code = std::uint64_t(svm::ExitCode::ioio);
    v->rip = 0x1000;
    v->exit_info2 = 0x1002;                        // outw %ax, %dx with 66h: 2 bytes
    v->exit_info1 = (0x604ull << 16) | (1u << 5); // OUT, SZ16
    Exit x = svm::translate(*v, svm::svm_feature_npt);
    EXPECT_EQ(x.reason, ExitReason::io);
    EXPECT_EQ(x.insn_len, 2);
    EXPECT_EQ(IoQual::Port::get(x.qual), 0x604u);
    EXPECT_EQ(IoQual::Size::get(x.qual), 2u);
    EXPECT_FALSE(IoQual::In::test(x.qual));
    v->exit_info1 = (0x60ull << 16) | (1u << 4) | (1u << 2) | (1u << 3) | 1; // REP INSB
    x = svm::translate(*v, 0);
    EXPECT_TRUE(IoQual::In::test(x.qual));
    EXPECT_TRUE(IoQual::String::test(x.qual));
    v->exit_info2 = 0; // garbage next RIP: length 0, refused by the handler
    EXPECT_EQ(svm::translate(*v, 0).insn_len, 0);
}

TEST(SvmIo, PermissionMapTrapsOnlyResetAndSleepPorts) {
    FakeEnv env;
    std::uint8_t map[3 * 4096] = {};
    svm::build_iopm(map, env.platform);
    auto trapped = [&](unsigned port) { return (map[port / 8] >> (port % 8)) & 1; };
    for (unsigned port : {0x60u, 0x64u, 0x92u, 0xcf9u, 0x604u, 0x605u})
        EXPECT_TRUE(trapped(port)) << std::hex << port;
    unsigned n = 0;
    for (unsigned port = 0; port < 0x10000; ++port)
        n += trapped(port);
    EXPECT_EQ(n, 6u); // the FADT reset port is 0xCF9 here: nothing else
    for (unsigned port : {0x3f8u, 0xcf8u, 0xcfcu, 0x80u, 0x606u, 0x61u})
        EXPECT_FALSE(trapped(port)) << std::hex << port;
}

} // namespace
} // namespace vbh::test
