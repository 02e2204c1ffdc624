// check_vmcb12(): VMRUN's consistency checks on the host's VMCB12 (AMD APM vol. 2
// §15.5.1 "Canonicalization and Consistency Checks", §15.20 for EVENTINJ, §15.25.8 for
// G_PAT; the same list as Linux's nested_vmcb_check_controls/save), then vbh's policy:
// features it does not emulate and intercepts it will not run an L2 without. Reads the
// hypervisor's copy of VMCB12 only.
#include <vbh/msr.hpp>
#include <vbh/svm/nested.hpp>

namespace vbh::svm {

namespace {

using E = Vmcb12Error;

constexpr std::uint64_t cr0_pe = 1u << 0, cr0_wp = 1u << 16, cr0_nw = 1u << 29,
                        cr0_cd = 1u << 30, cr0_pg = 1u << 31;
constexpr std::uint64_t cr4_pae = 1u << 5, cr4_cet = 1u << 23;
constexpr std::uint16_t seg_l = 1u << 9, seg_db = 1u << 10; // descriptor bits 53, 54
constexpr std::uint64_t s_cet_reserved = 0xfull << 6;

// Exceptions an EVENTINJ of type 3 may name (APM vol. 2 table 8-1): not 2 (NMI), 9
// (coprocessor segment overrun, unsupported), 15, 22-27, 31 (reserved), nor above 31.
constexpr std::uint32_t exception_vectors() {
    constexpr unsigned vectors[] = {0, 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 28, 29, 30};
    std::uint32_t m = 0;
    for (unsigned v : vectors)
        m |= 1u << v;
    return m;
}

// A map of `bytes` at base (bits 11:0 ignored) must end below MAXPHYADDR.
bool map_fits(MapRange r, unsigned phys_bits) {
    if (phys_bits >= 64)
        return true;
    const std::uint64_t limit = 1ull << phys_bits;
    return r.pa < limit && limit - r.pa >= r.bytes;
}

// PAT: eight types, each UC 0, WC 1, WT 4, WP 5, WB 6 or UC- 7 (APM vol. 2 §7.8.1).
bool pat_valid(std::uint64_t pat) {
    for (unsigned i = 0; i < 8; ++i) {
        const unsigned t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

E check_controls(const Vmcb& v, const NestedCaps& caps) {
    if (!(v.icpt_misc4 & icpt4::vmrun))
        return E::vmrun_intercept;
    if (Asid::get(v.asid_tlb) == 0)
        return E::asid_zero;
    const std::uint64_t tlb = TlbControl::get(v.asid_tlb);
    const bool by_asid = caps.svm_features & svm_feature_flush_by_asid;
    if (tlb != 0 && tlb != tlb_flush_all &&
        !(by_asid && (tlb == tlb_flush_guest || tlb == tlb_flush_guest_nonglobal)))
        return E::tlb_control;
    if (!map_fits(msrpm_range(v), caps.phys_bits))
        return E::msrpm_range;
    if (!map_fits(iopm_range(v), caps.phys_bits))
        return E::iopm_range;
    using I = EventInj;
    if (I::Valid::test(v.event_inj)) {
        const std::uint64_t type = I::Type::get(v.event_inj);
        if (type == 1 || type > I::type_soft_int)
            return E::event_type;
        if (I::Reserved::test(v.event_inj))
            return E::event_reserved;
        const std::uint64_t vec = I::Vector::get(v.event_inj);
        if (type == I::type_exception && (vec > 31 || !(exception_vectors() & (1u << vec))))
            return E::event_vector;
    }
    return E::ok;
}

E check_long_mode(const Vmcb& v, const NestedCaps& caps) {
    if (!(v.efer & efer_lme) || !(v.cr0 & cr0_pg))
        return E::ok;
    if (!(v.cr4 & cr4_pae))
        return E::lme_pg_no_pae;
    if (!(v.cr0 & cr0_pe))
        return E::lme_pg_no_pe;
    if (caps.phys_bits < 64 && (v.cr3 >> caps.phys_bits) != 0)
        return E::cr3_mbz;
    if ((v.cs.attrib & seg_l) && (v.cs.attrib & seg_db))
        return E::lme_pg_cs_l_d;
    return E::ok;
}

E check_save(const Vmcb& v, const NestedCaps& caps) {
    if (!(v.efer & efer_svme))
        return E::efer_svme;
    if ((v.cr0 & cr0_nw) && !(v.cr0 & cr0_cd))
        return E::cr0_cd_nw;
    if (v.cr0 >> 32)
        return E::cr0_high;
    if (v.cr4 & ~caps.cr4_allowed)
        return E::cr4_mbz;
    if (v.dr6 >> 32)
        return E::dr6_high;
    if (v.dr7 >> 32)
        return E::dr7_high;
    if ((v.efer & (efer_lme | efer_lma)) & ~caps.efer_allowed)
        return E::efer_long_mode;
    if (v.efer & ~caps.efer_allowed)
        return E::efer_mbz;
    if (E e = check_long_mode(v, caps); e != E::ok)
        return e;
    if ((v.cr4 & cr4_cet) && !(v.cr0 & cr0_wp))
        return E::cet_wp;
    if (v.s_cet & s_cet_reserved)
        return E::s_cet_reserved;
    if (NpEnable::test(v.np_ctl) && !pat_valid(v.g_pat))
        return E::g_pat;
    return E::ok;
}

// vbh's policy: what it does not emulate, and the intercepts a sane host always sets.
E check_policy(const Vmcb& v, const NestedCaps& caps) {
    if (SevEnable::test(v.np_ctl) || SevEsEnable::test(v.np_ctl))
        return E::sev;
    if (NpCtlMore::test(v.np_ctl))
        return E::np_features;
    if (NpEnable::test(v.np_ctl) && !caps.nested_paging)
        return E::nested_paging;
    if (IntCtl::AvicEnable::test(v.vintr) || IntCtl::X2Avic::test(v.vintr))
        return E::avic;
    if (IntCtl::VNmiEnable::test(v.vintr))
        return E::vnmi;
    if (IntCtl::VGifEnable::test(v.vintr) && !(caps.svm_features & svm_feature_vgif))
        return E::vgif;
    if (VirtExt::Defined::test(v.virt_ext))
        return E::virt_ext;
    struct Required {
        std::uint32_t word, bit;
        E error;
    };
    const std::uint32_t gif = gif_intercepts(v);
    const Required required[] = {
        {v.icpt_misc3, icpt3::intr, E::icpt_intr},       {v.icpt_misc3, icpt3::nmi, E::icpt_nmi},
        {v.icpt_misc3, icpt3::shutdown, E::icpt_shutdown}, {v.icpt_misc4, icpt4::vmload, E::icpt_vmload},
        {v.icpt_misc4, icpt4::vmsave, E::icpt_vmsave},   {v.icpt_misc4, icpt4::stgi & gif, E::icpt_stgi},
        {v.icpt_misc4, icpt4::clgi & gif, E::icpt_clgi}, {v.icpt_misc4, icpt4::skinit, E::icpt_skinit},
        {v.icpt_misc3, icpt3::invlpga, E::icpt_invlpga},
    };
    for (const Required& r : required)
        if ((r.word & r.bit) != r.bit)
            return r.error;
    return E::ok;
}

static_assert((host_required3 & ~(icpt3::intr | icpt3::nmi | icpt3::shutdown | icpt3::invlpga)) == 0 &&
                  (host_required4 & ~(icpt4::vmrun | icpt4::vmload | icpt4::vmsave | icpt4::skinit)) == 0,
              "check_policy() checks every bit of host_required3/4");

} // namespace

Vmcb12Error check_vmcb12(const Vmcb& v12, const NestedCaps& caps) {
    if (E e = check_controls(v12, caps); e != E::ok)
        return e;
    if (E e = check_save(v12, caps); e != E::ok)
        return e;
    return check_policy(v12, caps);
}

} // namespace vbh::svm
