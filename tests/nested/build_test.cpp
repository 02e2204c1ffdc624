// build_l2() and merge_permission_map(): the L2 block holds the host's guest state and
// intercepts, vbh's additions and only vbh's physical addresses.
#include "fixture.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vbh::svm {
namespace {

using namespace test;

constexpr L2Inputs inputs{0xa000'0000, 0xa100'0000, 0xa200'0000, 7, false};

struct Built {
    std::unique_ptr<Vmcb> v12 = valid_vmcb12(), l1 = host_block(), l2 = zero_vmcb();
    NestedCaps c = caps();
    void build(const L2Inputs& in = inputs) { build_l2(*v12, *l1, c, in, *l2); }
};

TEST(Build, PhysicalAddressesAreVbhsOnly) {
    Built b;
    // Every address field of VMCB12 names something the host wants vbh to use.
    b.v12->n_cr3 = 0x1111'0000;
    b.v12->avic_bar = 0xfee0'0000;
    b.v12->ghcb_pa = 0x2222'0000;
    b.v12->avic_backing = 0x3333'0000;
    b.v12->avic_logical = 0x4444'0000;
    b.v12->avic_physical = 0x5555'0000;
    b.v12->vmsa_pa = 0x6666'0000;
    b.build();
    const Vmcb& l2 = *b.l2;
    EXPECT_EQ(l2.n_cr3, inputs.npt_root);
    EXPECT_EQ(l2.msrpm_pa, inputs.msrpm_pa);
    EXPECT_EQ(l2.iopm_pa, inputs.iopm_pa);
    EXPECT_EQ(l2.avic_bar, 0u);
    EXPECT_EQ(l2.ghcb_pa, 0u);
    EXPECT_EQ(l2.avic_backing, 0u);
    EXPECT_EQ(l2.avic_logical, 0u);
    EXPECT_EQ(l2.avic_physical, 0u);
    EXPECT_EQ(l2.vmsa_pa, 0u);
    EXPECT_TRUE(NpEnable::test(l2.np_ctl));
    EXPECT_EQ(l2.np_ctl, 1u);
}

TEST(Build, InterceptsAreTheHostsPlusVbhs) {
    Built b;
    b.v12->icpt_cr = 0x0010'0001;
    b.v12->icpt_dr = 0x00ff'00ff;
    b.v12->icpt_misc5 = 0xffff'ffff; // 31:7 reserved
    b.build();
    const Vmcb& l2 = *b.l2;
    EXPECT_EQ(l2.icpt_cr, 0x0010'0001u);
    EXPECT_EQ(l2.icpt_dr, 0x00ff'00ffu);
    EXPECT_EQ(l2.icpt_exc, b.v12->icpt_exc);
    EXPECT_EQ(l2.icpt_misc3, b.v12->icpt_misc3 | icpt3::init | icpt3::invd);
    EXPECT_EQ(l2.icpt_misc4, b.v12->icpt_misc4 | icpt4::wbinvd);
    EXPECT_EQ(l2.icpt_misc5, icpt5::defined);
    EXPECT_EQ(l2.icpt_misc3 & l2_required3, l2_required3);
    EXPECT_EQ(l2.icpt_misc4 & l2_required4, l2_required4);
}

TEST(Build, VgifLetsStgiClgiRunInTheL2) {
    Built b;
    b.v12->vintr |= IntCtl::VGifEnable::mask | IntCtl::VGif::mask;
    b.v12->icpt_misc4 &= ~(icpt4::stgi | icpt4::clgi);
    ASSERT_EQ(check_vmcb12(*b.v12, b.c), Vmcb12Error::ok);
    b.build();
    EXPECT_EQ(b.l2->icpt_misc4 & (icpt4::stgi | icpt4::clgi), 0u);
    EXPECT_TRUE(IntCtl::VGif::test(b.l2->vintr));
    // Without V_GIF_ENABLE, vbh keeps them whatever the host says.
    Built n;
    n.v12->vintr |= IntCtl::VGif::mask;
    n.build();
    EXPECT_EQ(n.l2->icpt_misc4 & (icpt4::stgi | icpt4::clgi), icpt4::stgi | icpt4::clgi);
    EXPECT_FALSE(IntCtl::VGif::test(n.l2->vintr));
}

TEST(Build, AsidTscAndTlbControl) {
    Built b;
    b.build();
    EXPECT_EQ(Asid::get(b.l2->asid_tlb), 7u);
    EXPECT_EQ(TlbControl::get(b.l2->asid_tlb), 0u);
    EXPECT_EQ(b.l2->tsc_offset, 1050u); // L1's 50 + VMCB12's 1000
    b.build({1, 2, 3, 9, true});
    EXPECT_EQ(Asid::get(b.l2->asid_tlb), 9u);
    EXPECT_EQ(TlbControl::get(b.l2->asid_tlb), tlb_flush_guest);
    b.v12->asid_tlb = TlbControl::set(b.v12->asid_tlb, tlb_flush_guest_nonglobal);
    b.build();
    EXPECT_EQ(TlbControl::get(b.l2->asid_tlb), tlb_flush_guest_nonglobal);
    b.v12->asid_tlb = TlbControl::set(b.v12->asid_tlb, tlb_flush_all);
    b.build();
    EXPECT_EQ(TlbControl::get(b.l2->asid_tlb), tlb_flush_all);
    b.v12->asid_tlb = TlbControl::set(b.v12->asid_tlb, 0);
    b.c.svm_features &= ~svm_feature_flush_by_asid;
    b.build({1, 2, 3, 9, true});
    EXPECT_EQ(TlbControl::get(b.l2->asid_tlb), tlb_flush_all);
}

TEST(Build, GuestStateFromVmcb12VmloadStateFromTheHost) {
    Built b;
    b.v12->rax = 0xaa;
    b.v12->rsp = 0xbb;
    b.v12->cr2 = 0xcc;
    b.v12->event_inj = EventInj::Valid::set(EventInj::Type::set(14, 3), 1);
    b.v12->next_rip = 0x401003;
    b.v12->int_shadow = 3; // bit 1 is SEV-ES only
    b.v12->fs = {0x33, 0x93, 0, 0xdead}; // VMRUN does not load FS (§15.5.2)
    b.v12->lstar = 0xbad;
    b.v12->clean = 0xffff'ffff;
    b.v12->g_pat = 0x0606060606060606;
    b.build();
    const Vmcb& l2 = *b.l2;
    EXPECT_EQ(l2.rax, 0xaau);
    EXPECT_EQ(l2.rsp, 0xbbu);
    EXPECT_EQ(l2.cr2, 0xccu);
    EXPECT_EQ(l2.cr3, b.v12->cr3);
    EXPECT_EQ(l2.efer, b.v12->efer);
    EXPECT_EQ(l2.cs.attrib, b.v12->cs.attrib);
    EXPECT_EQ(l2.rip, b.v12->rip);
    EXPECT_EQ(l2.event_inj, b.v12->event_inj);
    EXPECT_EQ(l2.next_rip, 0x401003u);
    EXPECT_EQ(l2.int_shadow, 1u);
    EXPECT_EQ(l2.clean, 0u);
    EXPECT_EQ(l2.fs.base, b.l1->fs.base);
    EXPECT_EQ(l2.gs.base, b.l1->gs.base);
    EXPECT_EQ(l2.tr.selector, 0x40);
    EXPECT_EQ(l2.lstar, b.l1->lstar);
    EXPECT_EQ(l2.sysenter_eip, 0x3344u);
    EXPECT_EQ(l2.g_pat, valid_pat); // no nested paging: the host's PAT
}

TEST(Build, NestedPagingTakesTheL2sPatAndStillVbhsRoot) {
    Built b;
    b.c.nested_paging = true;
    b.v12->np_ctl = NpEnable::set(0, 1);
    b.v12->n_cr3 = 0x5000;
    b.v12->g_pat = 0x0606060606060606;
    ASSERT_EQ(check_vmcb12(*b.v12, b.c), Vmcb12Error::ok);
    b.build();
    EXPECT_EQ(b.l2->g_pat, 0x0606060606060606u);
    EXPECT_EQ(b.l2->n_cr3, inputs.npt_root);
}

TEST(Build, BuiltBlockPassesTheCheck) {
    Built b;
    b.build();
    NestedCaps c = b.c;
    c.nested_paging = true; // the L2 block always runs on vbh's NPT
    EXPECT_EQ(check_vmcb12(*b.l2, c), Vmcb12Error::ok);
}

TEST(Merge, EitherBitTraps) {
    std::vector<std::uint8_t> host(msrpm_bytes), vbh(msrpm_bytes), out(msrpm_bytes, 0x5a);
    for (std::size_t i = 0; i < msrpm_bytes; ++i) {
        host[i] = std::uint8_t(i * 7);
        vbh[i] = std::uint8_t(i * 13 + 1);
    }
    merge_permission_map(host.data(), vbh.data(), out.data(), msrpm_bytes);
    for (std::size_t i = 0; i < msrpm_bytes; ++i)
        ASSERT_EQ(out[i], std::uint8_t(host[i] | vbh[i])) << i;
}

TEST(Merge, OddSizeAndNoHostMap) {
    std::vector<std::uint8_t> host(13, 0x01), vbh(13, 0x80), out(13);
    merge_permission_map(host.data(), vbh.data(), out.data(), 13);
    for (std::uint8_t b : out)
        EXPECT_EQ(b, 0x81);
    merge_permission_map(nullptr, vbh.data(), out.data(), 13);
    for (std::uint8_t b : out)
        EXPECT_EQ(b, 0x80);
}

} // namespace
} // namespace vbh::svm
