// SVM exit translation and event injection encoding (AMD APM vol. 2 §15.7, §15.20).
#include <vbh/svm/exit_svm.hpp>

#include <gtest/gtest.h>

#include <memory>

namespace vbh::svm {
namespace {

std::unique_ptr<Vmcb> vmcb(ExitCode code, std::uint64_t info1 = 0, std::uint64_t info2 = 0) {
    auto v = std::make_unique<Vmcb>();
    v->exit_code = std::uint64_t(code);
    v->exit_info1 = info1;
    v->exit_info2 = info2;
    v->rip = 0x1000;
    return v;
}

TEST(SvmExit, VmmcallIsThreeBytesWithoutNripSave) {
    auto v = vmcb(ExitCode::vmmcall);
    v->next_rip = 0; // QEMU TCG never writes it
    const Exit x = translate(*v, svm_feature_npt);
    EXPECT_EQ(x.reason, ExitReason::hypercall);
    EXPECT_EQ(x.insn_len, 3);
}

TEST(SvmExit, NextRipIsUsedWhenTheCpuSavesIt) {
    auto v = vmcb(ExitCode::msr, 1);
    v->next_rip = 0x1002;
    EXPECT_EQ(translate(*v, svm_feature_npt | svm_feature_nrips).insn_len, 2);
    v->next_rip = 0x1005; // a prefixed WRMSR
    EXPECT_EQ(translate(*v, svm_feature_npt | svm_feature_nrips).insn_len, 5);
    v->next_rip = 0x5000; // garbage: fall back to the plain encoding
    EXPECT_EQ(translate(*v, svm_feature_npt | svm_feature_nrips).insn_len, 2);
}

TEST(SvmExit, MsrDirectionComesFromExitInfo1) {
    EXPECT_EQ(translate(*vmcb(ExitCode::msr, 0), 0).reason, ExitReason::msr_read);
    EXPECT_EQ(translate(*vmcb(ExitCode::msr, 1), 0).reason, ExitReason::msr_write);
}

TEST(SvmExit, NpfCarriesErrorCodeAndGpa) {
    const Exit x = translate(*vmcb(ExitCode::npf, 0x100000004ull, 0x1b60123), 0);
    EXPECT_EQ(x.reason, ExitReason::npf);
    EXPECT_EQ(x.qual, 0x100000004ull);
    EXPECT_EQ(x.gpa, 0x1b60123u);
}

TEST(SvmExit, SvmInstructionsAndOthers) {
    for (ExitCode c : {ExitCode::vmrun, ExitCode::vmload, ExitCode::vmsave, ExitCode::stgi,
                       ExitCode::clgi, ExitCode::skinit, ExitCode::invlpga})
        EXPECT_EQ(translate(*vmcb(c), 0).reason, ExitReason::virt_insn);
    EXPECT_EQ(translate(*vmcb(ExitCode::shutdown), 0).reason, ExitReason::shutdown);
    EXPECT_EQ(translate(*vmcb(ExitCode::nmi), 0).reason, ExitReason::nmi);
    EXPECT_EQ(translate(*vmcb(ExitCode::cpuid), 0).reason, ExitReason::other);
    EXPECT_EQ(translate(*vmcb(ExitCode::invalid), 0).reason, ExitReason::other);
}

TEST(SvmExit, InvdIsTwoBytesWithoutNrip) {
    const Exit x = translate(*vmcb(ExitCode::invd), 0);
    EXPECT_EQ(x.reason, ExitReason::invd);
    EXPECT_EQ(x.insn_len, 2);
    EXPECT_EQ(x.qual, 1u);
    EXPECT_EQ(translate(*vmcb(ExitCode::wbinvd), 0).reason, ExitReason::invd);
    EXPECT_EQ(translate(*vmcb(ExitCode::wbinvd), 0).qual, 0u);
}

TEST(SvmExit, VmexitInvalidInBothWidths) {
    EXPECT_TRUE(is_vmexit_invalid(~0ull));        // hardware: 64-bit -1
    EXPECT_TRUE(is_vmexit_invalid(0xffffffffull)); // QEMU TCG 7.2: 32-bit -1 (found in a boot)
    EXPECT_FALSE(is_vmexit_invalid(0x81));
    EXPECT_FALSE(is_vmexit_invalid(0x400));
}

TEST(SvmExit, EventInjEncoding) {
    // #GP(0): vector 13, type 3 (exception), EV, V.
    EXPECT_EQ(encode_event(Event::gp(0)), 0x80000b0dull);
    EXPECT_EQ(encode_event(Event::gp(0x18)), 0x0000001880000b0dull);
    // #UD: no error code.
    EXPECT_EQ(encode_event(Event::ud()), 0x80000306ull);
    // NMI: type 2, vector 2.
    EXPECT_EQ(encode_event(Event::nmi()), 0x80000202ull);
}

} // namespace
} // namespace vbh::svm
