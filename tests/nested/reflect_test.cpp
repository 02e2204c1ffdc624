// host_wants_exit() and reflect_exit(): whose an L2 exit is, and the #VMEXIT the host
// sees (AMD APM vol. 2 §15.6), as a round trip through build_l2().
#include "fixture.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vbh::svm {
namespace {

using namespace test;

constexpr L2Inputs inputs{0xa000'0000, 0xa100'0000, 0xa200'0000, 7, true};

struct Trip {
    std::unique_ptr<Vmcb> v12 = valid_vmcb12(), l1 = host_block(), l2 = zero_vmcb();
    std::vector<std::uint8_t> msrpm = std::vector<std::uint8_t>(msrpm_bytes);
    std::vector<std::uint8_t> iopm = std::vector<std::uint8_t>(iopm_bytes);
    HostMaps maps{msrpm.data(), iopm.data()};
    Trip() { build_l2(*v12, *l1, caps(), inputs, *l2); }
    bool wants(std::uint64_t code, std::uint64_t info1 = 0, std::uint32_t ecx = 0) {
        l2->exit_code = code;
        l2->exit_info1 = info1;
        return host_wants_exit(*v12, *l2, maps, ecx);
    }
};

std::uint64_t code(ExitCode c) { return std::uint64_t(c); }

TEST(Route, InterceptBitsDecide) {
    Trip t;
    EXPECT_TRUE(t.wants(code(ExitCode::cpuid)));
    EXPECT_TRUE(t.wants(code(ExitCode::vmrun)));
    EXPECT_TRUE(t.wants(code(ExitCode::vmmcall))); // an L2 hypercall is the host's, never vbh's
    EXPECT_TRUE(t.wants(code(ExitCode::nmi)));
    EXPECT_TRUE(t.wants(0x40 + 14));                // #PF: icpt_exc bit 14
    EXPECT_FALSE(t.wants(0x40 + 13));               // #GP: not intercepted
    EXPECT_FALSE(t.wants(code(ExitCode::hlt)));     // nobody asked: cannot come, not the host's
    EXPECT_FALSE(t.wants(code(ExitCode::init)));    // vbh's addition
    EXPECT_FALSE(t.wants(code(ExitCode::invd)));
    EXPECT_FALSE(t.wants(code(ExitCode::wbinvd)));
    EXPECT_FALSE(t.wants(code(ExitCode::npf)));     // vbh's stage-2
    EXPECT_TRUE(t.wants(~0ull));                    // VMEXIT_INVALID
    EXPECT_TRUE(t.wants(0xffff'ffffull));
    t.v12->icpt_cr = 1u << 16;                      // CR0 writes: EXITCODE 10h
    EXPECT_TRUE(t.wants(0x10));
    EXPECT_FALSE(t.wants(0x00));
    t.v12->icpt_dr = 1u << 7;                       // DR7 reads: EXITCODE 27h
    EXPECT_TRUE(t.wants(0x27));
    t.v12->icpt_misc5 = 1u << 2;                    // INVPCID: EXITCODE A2h
    EXPECT_TRUE(t.wants(0xa2));
    t.v12->icpt_misc3 |= icpt3::init | icpt3::hlt;
    EXPECT_TRUE(t.wants(code(ExitCode::init)));
    EXPECT_TRUE(t.wants(code(ExitCode::hlt)));
}

TEST(Route, MsrByTheHostsMap) {
    Trip t;
    // EFER (C000_0080h): read bit 2*80h in the 800h range, write the next one.
    const std::uint64_t efer_read = 0x800 * 8 + 0x80 * 2;
    t.msrpm[(efer_read + 1) / 8] |= std::uint8_t(1u << ((efer_read + 1) % 8));
    EXPECT_TRUE(t.wants(code(ExitCode::msr), 1, msr_efer));
    EXPECT_FALSE(t.wants(code(ExitCode::msr), 0, msr_efer));
    EXPECT_FALSE(t.wants(code(ExitCode::msr), 1, msr_efer + 1));
    t.msrpm[0x10 * 2 / 8] |= 1u << (0x10 * 2 % 8); // TSC (10h) reads
    EXPECT_TRUE(t.wants(code(ExitCode::msr), 0, 0x10));
    EXPECT_TRUE(t.wants(code(ExitCode::msr), 0, 0x4000'0000)); // outside the ranges: always
    t.maps.msrpm = nullptr;                                     // host without MSR_PROT
    t.v12->icpt_misc3 &= ~icpt3::msr_prot;
    EXPECT_FALSE(t.wants(code(ExitCode::msr), 1, msr_efer));
}

TEST(Route, IoByEveryByteOfTheAccess) {
    Trip t;
    auto io = [](std::uint64_t port, std::uint64_t size_bit) {
        return IoioInfo::Port::make(port) | (1ull << size_bit);
    };
    t.iopm[0x71 / 8] |= 1u << (0x71 % 8);
    EXPECT_TRUE(t.wants(code(ExitCode::ioio), io(0x71, 4)));
    EXPECT_FALSE(t.wants(code(ExitCode::ioio), io(0x70, 4)));
    EXPECT_TRUE(t.wants(code(ExitCode::ioio), io(0x70, 5))); // 16-bit at 70h covers 71h
    EXPECT_TRUE(t.wants(code(ExitCode::ioio), io(0x6e, 6))); // 32-bit at 6Eh covers 71h
    EXPECT_FALSE(t.wants(code(ExitCode::ioio), io(0x6c, 6)));
    t.iopm[0x10002 / 8] |= 1u << (0x10002 % 8); // past FFFFh: the 12 KiB map's tail
    EXPECT_TRUE(t.wants(code(ExitCode::ioio), io(0xffff, 6)));
    t.maps.iopm = nullptr;
    EXPECT_FALSE(t.wants(code(ExitCode::ioio), io(0x71, 4)));
}

TEST(Reflect, WritesWhatVmexitWritesAndNothingOfVbhs) {
    Trip t;
    const auto host = valid_vmcb12();
    Vmcb& l2 = *t.l2;
    l2.rip = 0x402000;
    l2.rsp = 0x7000;
    l2.rax = 42;
    l2.cr0 |= cr0_cd;
    l2.cr2 = 0xdead000;
    l2.cr3 = 0x5555000;
    l2.dr6 = 0xffff4ff0;
    l2.rflags = 0x202;
    l2.cs.selector = 0x23;
    l2.cpl = 3;
    l2.vintr = IntCtl::VTpr::set(IntCtl::VIrq::set(l2.vintr, 1), 0xf);
    l2.int_shadow = 1;
    l2.exit_code = code(ExitCode::cpuid);
    l2.exit_info1 = 1;
    l2.exit_info2 = 2;
    l2.exit_int_info = EventInj::Valid::set(33, 1);
    l2.next_rip = 0x402002;
    l2.insn_len = 2;
    l2.insn_bytes[1] = 0xa2;
    l2.fs.base = 0x9999;
    l2.kernel_gs_base = 0x8888;
    l2.g_pat = 0x0101010101010101;
    t.v12->event_inj = EventInj::Valid::set(0x20, 1);
    reflect_exit(l2, *t.v12, *t.l1);
    const Vmcb& v = *t.v12;
    EXPECT_EQ(v.rip, 0x402000u);
    EXPECT_EQ(v.rsp, 0x7000u);
    EXPECT_EQ(v.rax, 42u);
    EXPECT_EQ(v.cr0, l2.cr0);
    EXPECT_EQ(v.cr2, 0xdead000u);
    EXPECT_EQ(v.cr3, 0x5555000u);
    EXPECT_EQ(v.dr6, 0xffff4ff0u);
    EXPECT_EQ(v.rflags, 0x202u);
    EXPECT_EQ(v.cs.selector, 0x23);
    EXPECT_EQ(v.cpl, 3);
    EXPECT_EQ(IntCtl::VTpr::get(v.vintr), 0xfu);
    EXPECT_TRUE(IntCtl::VIrq::test(v.vintr));
    EXPECT_TRUE(IntCtl::VIntrMasking::test(v.vintr)); // the host's own bit, kept
    EXPECT_EQ(v.int_shadow, 1u);
    EXPECT_EQ(v.exit_code, code(ExitCode::cpuid));
    EXPECT_EQ(v.exit_info1, 1u);
    EXPECT_EQ(v.exit_info2, 2u);
    EXPECT_EQ(v.exit_int_info, l2.exit_int_info);
    EXPECT_EQ(v.next_rip, 0x402002u);
    EXPECT_EQ(v.insn_len, 2);
    EXPECT_EQ(v.insn_bytes[1], 0xa2);
    EXPECT_EQ(v.event_inj, 0u);
    // vbh's values stay out; the host's control fields stay as it wrote them.
    EXPECT_EQ(v.n_cr3, host->n_cr3);
    EXPECT_EQ(v.msrpm_pa, host->msrpm_pa);
    EXPECT_EQ(v.iopm_pa, host->iopm_pa);
    EXPECT_EQ(v.asid_tlb, host->asid_tlb);
    EXPECT_EQ(v.tsc_offset, host->tsc_offset);
    EXPECT_EQ(v.icpt_misc3, host->icpt_misc3);
    EXPECT_EQ(v.icpt_misc4, host->icpt_misc4);
    EXPECT_EQ(v.np_ctl, host->np_ctl);
    // VMLOAD state and PAT stay in the CPU, i.e. the host's block; VMCB12's untouched.
    EXPECT_EQ(v.fs.base, 0u);
    EXPECT_EQ(v.kernel_gs_base, 0u);
    EXPECT_EQ(v.g_pat, host->g_pat);
    EXPECT_EQ(t.l1->fs.base, 0x9999u);
    EXPECT_EQ(t.l1->kernel_gs_base, 0x8888u);
    EXPECT_EQ(t.l1->g_pat, 0x0101010101010101u);
    EXPECT_EQ(t.l1->dr7, 0x400u); // breakpoints disabled (§15.6)
    EXPECT_EQ(t.l1->tsc_offset, 50u);
    EXPECT_EQ(Asid::get(t.l1->asid_tlb), 1u);
}

TEST(Reflect, WritesOnlyInsideTheVmexitSpans) {
    for (bool np : {false, true}) {
        Trip t;
        auto* v = reinterpret_cast<std::uint8_t*>(t.v12.get());
        auto* l2 = reinterpret_cast<std::uint8_t*>(t.l2.get());
        std::memset(v, 0x55, sizeof(Vmcb));
        std::memset(l2, 0xaa, sizeof(Vmcb));
        t.v12->np_ctl = np;
        t.v12->vintr |= IntCtl::VGifEnable::mask;
        const auto before = zero_vmcb();
        std::memcpy(before.get(), t.v12.get(), sizeof(Vmcb));
        const auto* b = reinterpret_cast<const std::uint8_t*>(before.get());
        reflect_exit(*t.l2, *t.v12, *t.l1);
        std::size_t changed = 0;
        for (std::size_t i = 0; i < sizeof(Vmcb); ++i) {
            bool inside = false;
            for (const VmcbSpan& s : vmexit_spans)
                inside |= i >= s.first && i < s.end;
            if (v[i] != b[i]) {
                EXPECT_TRUE(inside) << "byte " << i;
                ++changed;
            }
        }
        EXPECT_GT(changed, 200u);
    }
    auto v = valid_vmcb12();
    const auto host = valid_vmcb12();
    vmexit_invalid(*v);
    for (std::size_t i = 0; i < sizeof(Vmcb); ++i) {
        if (i < vmexit_invalid_span.first || i >= vmexit_invalid_span.end) {
            ASSERT_EQ(reinterpret_cast<std::uint8_t*>(v.get())[i],
                      reinterpret_cast<const std::uint8_t*>(host.get())[i])
                << i;
        }
    }
}

TEST(Reflect, VgifWrittenBackOnlyWhenEnabled) {
    Trip t;
    t.l2->vintr |= IntCtl::VGif::mask;
    reflect_exit(*t.l2, *t.v12, *t.l1);
    EXPECT_FALSE(IntCtl::VGif::test(t.v12->vintr));
    t.v12->vintr |= IntCtl::VGifEnable::mask;
    reflect_exit(*t.l2, *t.v12, *t.l1);
    EXPECT_TRUE(IntCtl::VGif::test(t.v12->vintr));
}

TEST(Reflect, NestedPagingKeepsTheL2sPatInVmcb12) {
    Trip t;
    t.v12->np_ctl = NpEnable::set(0, 1);
    t.l2->g_pat = 0x0404040404040404;
    reflect_exit(*t.l2, *t.v12, *t.l1);
    EXPECT_EQ(t.v12->g_pat, 0x0404040404040404u);
    EXPECT_EQ(t.l1->g_pat, valid_pat);
}

TEST(Reflect, RoundTripWithoutAnExitChangesNoGuestState) {
    Trip t;
    const auto before = valid_vmcb12();
    reflect_exit(*t.l2, *t.v12, *t.l1);
    const Vmcb& v = *t.v12;
    EXPECT_EQ(v.rip, before->rip);
    EXPECT_EQ(v.cr0, before->cr0);
    EXPECT_EQ(v.cr3, before->cr3);
    EXPECT_EQ(v.cr4, before->cr4);
    EXPECT_EQ(v.efer, before->efer);
    EXPECT_EQ(v.dr7, before->dr7);
    EXPECT_EQ(v.vintr, before->vintr);
    EXPECT_EQ(std::memcmp(&v.cs, &before->cs, sizeof v.cs), 0);
    EXPECT_EQ(check_vmcb12(v, caps()), Vmcb12Error::ok); // the host may VMRUN it again
}

} // namespace
} // namespace vbh::svm
