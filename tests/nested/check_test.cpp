// check_vmcb12(): each check refuses its bad case with its own error and accepts the
// closest good case (AMD APM vol. 2 §15.5.1, §15.20; vbh's policy in nested.hpp).
#include "fixture.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>

namespace vbh::svm {
namespace {

using namespace test;
using E = Vmcb12Error;
using Mutate = std::function<void(Vmcb&, NestedCaps&)>;

struct Case {
    const char* name;
    Mutate good; // passes: the nearest state the check must accept
    Mutate bad;  // fails with `error`, and nothing earlier in the order
    E error;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

std::uint64_t event(std::uint64_t type, std::uint64_t vector) {
    return EventInj::Valid::set(EventInj::Type::set(EventInj::Vector::set(0, vector), type), 1);
}

const Case cases[] = {
    {"vmrun_intercept", [](Vmcb&, NestedCaps&) {},
     [](Vmcb& v, NestedCaps&) { v.icpt_misc4 &= ~icpt4::vmrun; }, E::vmrun_intercept},
    {"asid_zero", [](Vmcb& v, NestedCaps&) { v.asid_tlb = Asid::set(v.asid_tlb, 1); },
     [](Vmcb& v, NestedCaps&) { v.asid_tlb = Asid::set(v.asid_tlb, 0); }, E::asid_zero},
    {"tlb_control_by_asid", [](Vmcb& v, NestedCaps&) { v.asid_tlb = TlbControl::set(v.asid_tlb, 7); },
     [](Vmcb& v, NestedCaps&) { v.asid_tlb = TlbControl::set(v.asid_tlb, 2); }, E::tlb_control},
    {"tlb_control_no_flush_by_asid", [](Vmcb& v, NestedCaps&) { v.asid_tlb = TlbControl::set(v.asid_tlb, 1); },
     [](Vmcb& v, NestedCaps& c) {
         v.asid_tlb = TlbControl::set(v.asid_tlb, 3);
         c.svm_features &= ~svm_feature_flush_by_asid;
     },
     E::tlb_control},
    {"msrpm_range", [](Vmcb& v, NestedCaps&) { v.msrpm_pa = (1ull << 48) - 0x2000 + 0xfff; },
     [](Vmcb& v, NestedCaps&) { v.msrpm_pa = (1ull << 48) - 0x1000; }, E::msrpm_range},
    {"msrpm_wrap", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.msrpm_pa = ~0ull; },
     E::msrpm_range},
    {"iopm_range", [](Vmcb& v, NestedCaps&) { v.iopm_pa = (1ull << 48) - 0x3000; },
     [](Vmcb& v, NestedCaps&) { v.iopm_pa = (1ull << 48) - 0x2000; }, E::iopm_range},
    {"event_type", [](Vmcb& v, NestedCaps&) { v.event_inj = event(4, 0x80); },
     [](Vmcb& v, NestedCaps&) { v.event_inj = event(1, 0x20); }, E::event_type},
    {"event_type_high", [](Vmcb& v, NestedCaps&) { v.event_inj = event(0, 0x30); },
     [](Vmcb& v, NestedCaps&) { v.event_inj = event(5, 0x30); }, E::event_type},
    {"event_reserved", [](Vmcb& v, NestedCaps&) { v.event_inj = event(2, 0) | (1ull << 40); },
     [](Vmcb& v, NestedCaps&) { v.event_inj = event(2, 0) | (1ull << 12); }, E::event_reserved},
    {"event_vector_nmi", [](Vmcb& v, NestedCaps&) { v.event_inj = event(3, 14) | EventInj::Ev::mask; },
     [](Vmcb& v, NestedCaps&) { v.event_inj = event(3, 2); }, E::event_vector},
    {"event_vector_high", [](Vmcb& v, NestedCaps&) { v.event_inj = event(3, 30); },
     [](Vmcb& v, NestedCaps&) { v.event_inj = event(3, 32); }, E::event_vector},
    {"event_not_valid", [](Vmcb& v, NestedCaps&) { v.event_inj = EventInj::Type::set(0, 7); },
     [](Vmcb& v, NestedCaps&) { v.event_inj = event(7, 0); }, E::event_type},
    {"efer_svme", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.efer &= ~efer_svme; },
     E::efer_svme},
    {"cr0_cd_nw", [](Vmcb& v, NestedCaps&) { v.cr0 |= cr0_cd | cr0_nw; },
     [](Vmcb& v, NestedCaps&) { v.cr0 |= cr0_nw; }, E::cr0_cd_nw},
    {"cr0_high", [](Vmcb& v, NestedCaps&) { v.cr0 |= 1ull << 31; },
     [](Vmcb& v, NestedCaps&) { v.cr0 |= 1ull << 32; }, E::cr0_high},
    {"cr3_mbz", [](Vmcb& v, NestedCaps&) { v.cr3 = (1ull << 48) - 0x1000; },
     [](Vmcb& v, NestedCaps&) { v.cr3 = 1ull << 48; }, E::cr3_mbz},
    {"cr3_legacy", [](Vmcb& v, NestedCaps&) {
         v.efer &= ~(efer_lme | efer_lma);
         v.cr3 = 1ull << 50; // checked in long mode only, as KVM does
     },
     [](Vmcb& v, NestedCaps&) { v.cr3 = 1ull << 50; }, E::cr3_mbz},
    {"cr4_mbz", [](Vmcb& v, NestedCaps&) { v.cr4 |= 1u << 18; },
     [](Vmcb& v, NestedCaps&) { v.cr4 |= 1u << 19; }, E::cr4_mbz},
    {"dr6_high", [](Vmcb& v, NestedCaps&) { v.dr6 = 0xffffffff; },
     [](Vmcb& v, NestedCaps&) { v.dr6 = 1ull << 32; }, E::dr6_high},
    {"dr7_high", [](Vmcb& v, NestedCaps&) { v.dr7 = 0xffff04ff; },
     [](Vmcb& v, NestedCaps&) { v.dr7 = 1ull << 40; }, E::dr7_high},
    {"efer_long_mode", [](Vmcb& v, NestedCaps& c) {
         v.efer &= ~(efer_lme | efer_lma);
         c.efer_allowed &= ~(efer_lme | efer_lma);
     },
     [](Vmcb&, NestedCaps& c) { c.efer_allowed &= ~(efer_lme | efer_lma); }, E::efer_long_mode},
    {"efer_mbz", [](Vmcb& v, NestedCaps&) { v.efer |= efer_ffxsr; },
     [](Vmcb& v, NestedCaps&) { v.efer |= efer_tce; }, E::efer_mbz},
    {"lme_pg_no_pae", [](Vmcb& v, NestedCaps&) {
         v.cr0 &= ~cr0_pg; // LME without PG: not yet in long mode
         v.cr4 &= ~cr4_pae;
     },
     [](Vmcb& v, NestedCaps&) { v.cr4 &= ~cr4_pae; }, E::lme_pg_no_pae},
    {"lme_pg_no_pe", [](Vmcb& v, NestedCaps&) {
         v.efer &= ~(efer_lme | efer_lma); // paged real mode is legal outside long mode (§15.19)
         v.cr0 &= ~cr0_pe;
     },
     [](Vmcb& v, NestedCaps&) { v.cr0 &= ~cr0_pe; }, E::lme_pg_no_pe},
    {"lme_pg_cs_l_d", [](Vmcb& v, NestedCaps&) { v.cs.attrib = 0x49b; /* D=1, L=0 */ },
     [](Vmcb& v, NestedCaps&) { v.cs.attrib = 0x69b; }, E::lme_pg_cs_l_d},
    {"cet_wp", [](Vmcb& v, NestedCaps&) { v.cr4 |= cr4_cet; },
     [](Vmcb& v, NestedCaps&) {
         v.cr4 |= cr4_cet;
         v.cr0 &= ~cr0_wp;
     },
     E::cet_wp},
    {"s_cet_reserved", [](Vmcb& v, NestedCaps&) { v.s_cet = 0x3f | (0x1234ull << 12); },
     [](Vmcb& v, NestedCaps&) { v.s_cet = 1u << 6; }, E::s_cet_reserved},
    {"g_pat", [](Vmcb& v, NestedCaps&) { v.g_pat = 0x0202020202020202; /* unused without NP */ },
     [](Vmcb& v, NestedCaps& c) {
         c.nested_paging = true;
         v.np_ctl = NpEnable::set(0, 1);
         v.g_pat = 0x0006060606060602;
     },
     E::g_pat},
    {"sev", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.np_ctl = SevEnable::set(0, 1); },
     E::sev},
    {"sev_es", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.np_ctl = SevEsEnable::set(0, 1); },
     E::sev},
    {"np_features", [](Vmcb& v, NestedCaps&) { v.np_ctl = 1ull << 8; /* reserved: ignored */ },
     [](Vmcb& v, NestedCaps&) { v.np_ctl = 1ull << 3; }, E::np_features},
    {"nested_paging", [](Vmcb& v, NestedCaps& c) {
         c.nested_paging = true;
         v.np_ctl = NpEnable::set(0, 1);
     },
     [](Vmcb& v, NestedCaps&) { v.np_ctl = NpEnable::set(0, 1); }, E::nested_paging},
    {"avic", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.vintr |= IntCtl::AvicEnable::mask; },
     E::avic},
    {"x2avic", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.vintr |= IntCtl::X2Avic::mask; },
     E::avic},
    {"vnmi", [](Vmcb& v, NestedCaps&) { v.vintr |= IntCtl::VNmi::mask; },
     [](Vmcb& v, NestedCaps&) { v.vintr |= IntCtl::VNmiEnable::mask; }, E::vnmi},
    {"vgif", [](Vmcb& v, NestedCaps&) { v.vintr |= IntCtl::VGifEnable::mask; },
     [](Vmcb& v, NestedCaps& c) {
         v.vintr |= IntCtl::VGifEnable::mask;
         c.svm_features &= ~svm_feature_vgif;
     },
     E::vgif},
    {"lbr_virt", [](Vmcb& v, NestedCaps&) { v.virt_ext = 1ull << 4; /* reserved: ignored */ },
     [](Vmcb& v, NestedCaps&) { v.virt_ext = VirtExt::LbrVirt::mask; }, E::virt_ext},
    {"vmload_virt", [](Vmcb&, NestedCaps&) {},
     [](Vmcb& v, NestedCaps&) { v.virt_ext = VirtExt::VmloadVirt::mask; }, E::virt_ext},
    {"icpt_intr", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.icpt_misc3 &= ~icpt3::intr; },
     E::icpt_intr},
    {"icpt_nmi", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.icpt_misc3 &= ~icpt3::nmi; },
     E::icpt_nmi},
    {"icpt_shutdown", [](Vmcb&, NestedCaps&) {},
     [](Vmcb& v, NestedCaps&) { v.icpt_misc3 &= ~icpt3::shutdown; }, E::icpt_shutdown},
    {"icpt_vmload", [](Vmcb&, NestedCaps&) {},
     [](Vmcb& v, NestedCaps&) { v.icpt_misc4 &= ~icpt4::vmload; }, E::icpt_vmload},
    {"icpt_vmsave", [](Vmcb&, NestedCaps&) {},
     [](Vmcb& v, NestedCaps&) { v.icpt_misc4 &= ~icpt4::vmsave; }, E::icpt_vmsave},
    {"icpt_stgi", [](Vmcb& v, NestedCaps&) {
         v.vintr |= IntCtl::VGifEnable::mask; // V_GIF: STGI/CLGI stay in the L2
         v.icpt_misc4 &= ~(icpt4::stgi | icpt4::clgi);
     },
     [](Vmcb& v, NestedCaps&) { v.icpt_misc4 &= ~icpt4::stgi; }, E::icpt_stgi},
    {"icpt_clgi", [](Vmcb&, NestedCaps&) {}, [](Vmcb& v, NestedCaps&) { v.icpt_misc4 &= ~icpt4::clgi; },
     E::icpt_clgi},
    {"icpt_skinit", [](Vmcb&, NestedCaps&) {},
     [](Vmcb& v, NestedCaps&) { v.icpt_misc4 &= ~icpt4::skinit; }, E::icpt_skinit},
    {"icpt_invlpga", [](Vmcb&, NestedCaps&) {},
     [](Vmcb& v, NestedCaps&) { v.icpt_misc3 &= ~icpt3::invlpga; }, E::icpt_invlpga},
};

class Check : public ::testing::TestWithParam<Case> {};

TEST_P(Check, AcceptsTheGoodCase) {
    auto v = valid_vmcb12();
    NestedCaps c = caps();
    GetParam().good(*v, c);
    EXPECT_EQ(check_vmcb12(*v, c), E::ok) << to_string(check_vmcb12(*v, c));
}

TEST_P(Check, RefusesTheBadCaseWithItsError) {
    auto v = valid_vmcb12();
    NestedCaps c = caps();
    GetParam().bad(*v, c);
    const E e = check_vmcb12(*v, c);
    EXPECT_EQ(e, GetParam().error) << to_string(e);
}

INSTANTIATE_TEST_SUITE_P(Vmcb12, Check, ::testing::ValuesIn(cases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Check, KvmStyleVmcb12Passes) {
    EXPECT_EQ(check_vmcb12(*valid_vmcb12(), caps()), E::ok);
}

TEST(Check, EveryErrorHasANameAndAClass) {
    EXPECT_STREQ(to_string(E::ok), "ok");
    EXPECT_STREQ(to_string(E::icpt_invlpga), "icpt_invlpga");
    EXPECT_FALSE(is_policy(E::asid_zero));
    EXPECT_FALSE(is_policy(E::g_pat));
    EXPECT_TRUE(is_policy(E::sev));
    EXPECT_TRUE(is_policy(E::icpt_nmi));
}

TEST(Check, Cr4AllowedFollowsCpuid) {
    EXPECT_EQ(cr4_allowed_from_cpuid(0, 0, 0), 0x7ffu);
    const std::uint64_t all = cr4_allowed_from_cpuid(1u << 17 | 1u << 26, 1u << 0 | 1u << 7 | 1u << 20,
                                                     1u << 2 | 1u << 3 | 1u << 7 | 1u << 16);
    EXPECT_EQ(all, 0x7ffu | 0x1800 | 0xf70000);
    EXPECT_EQ(cr4_allowed_from_cpuid(0, 1u << 7, 0), 0x7ffu | 1u << 20); // SMEP only
    auto v = valid_vmcb12();
    NestedCaps c = caps();
    c.cr4_allowed = cr4_allowed_from_cpuid(0, 0, 0);
    v->cr4 |= 1u << 20;
    EXPECT_EQ(check_vmcb12(*v, c), E::cr4_mbz);
}

TEST(Check, FirstFailureWins) {
    auto v = valid_vmcb12();
    v->asid_tlb = 0;
    v->efer = 0;
    v->np_ctl = SevEnable::set(0, 1);
    EXPECT_EQ(check_vmcb12(*v, caps()), E::asid_zero);
}

TEST(Check, VmexitInvalidIsWhatTheHostSees) {
    auto v = valid_vmcb12();
    v->exit_info1 = 5;
    v->exit_info2 = 6;
    const std::uint64_t rip = v->rip;
    vmexit_invalid(*v);
    EXPECT_TRUE(is_vmexit_invalid(v->exit_code));
    EXPECT_EQ(v->exit_code, ~0ull);
    EXPECT_EQ(v->exit_info1, 0u);
    EXPECT_EQ(v->exit_info2, 0u);
    EXPECT_EQ(v->rip, rip);
}

} // namespace
} // namespace vbh::svm
