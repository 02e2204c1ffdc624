// Nested SVM, the pure core: the host's VMRUN of its own control block (VMCB12) checked,
// turned into the block vbh really runs (the L2 block), and the L2's exits routed and
// reflected back (AMD APM vol. 2 §15.5 VMRUN, §15.6 #VMEXIT; docs/nested.md). No
// hardware access: every function here is hosted-tested (tests/nested) and fuzzed
// (tests/fuzz/fuzz_nested.cpp).
//
// How the image's loop uses it, on the host's VMRUN exit (rax = VMCB12's address):
//   1. v12 = a copy of the host's page in hypervisor memory (the host-owned check and
//      the copy are the caller's; every step below reads the copy, never the page).
//   2. if (e = check_vmcb12(v12, caps); e != Vmcb12Error::ok): vmexit_invalid(v12),
//      log e (to_string / is_policy), write vmexit_invalid_span back to the host's
//      page, resume the host after its VMRUN. Nothing else changes.
//   3. For the maps the host enabled (icpt3::msr_prot / ioio_prot in v12): check that
//      msrpm_range(v12) / iopm_range(v12) is host-owned RAM (else refuse as in 2),
//      copy them into vbh's per-CPU copies, merge_permission_map(copy, vbh's map,
//      merged, bytes); a map the host did not enable is merged from nullptr.
//   4. a = asids.assign(v12 ASID); build_l2(v12, l1, caps, {npt root, merged MSRPM pa,
//      merged IOPM pa, a.asid, a.flush}, l2). active = the L2 block. The host's RIP is
//      advanced past its VMRUN now (the host always resumes after it, §15.5). With
//      V_INTR_MASKING = 1 (KVM's choice) the RFLAGS.IF in force at VMRUN gates physical
//      interrupts for the whole L2 run (§15.21.1): enter the L2 block with the host's
//      RFLAGS.IF (l1.rflags), under CLGI.
//   5. After each L2 exit: host_wants_exit(v12, l2, {msrpm copy, iopm copy}, ecx).
//      false: vbh handles it as it handles the same exit from the host (NMI kick, NPF
//      on its own stage-2, INVD/WBINVD, its MSR/IO rules, INIT), on the L2's state,
//      re-injects EXITINTINFO as Svm::write() does, and re-enters the L2. An NMI is
//      vbh's kick first; a real NMI also goes to the host (it always intercepts NMI).
//      true: reflect_exit(l2, v12, l1), write vmexit_spans of v12 to the host's page
//      (under the ownership lock, after checking the page is still the host's: a
//      concurrent donate must not receive the write), virtual GIF = 0 (§15.6),
//      active = the host's block.
//      An L2 block VMRUN that fails its own checks (VMEXIT_INVALID) is the host's:
//      vmexit_invalid(v12), as in 2.
// L1's ASID is the host's block's (prepare.cpp: 1); AsidMap never hands it out.
#pragma once

#include <vbh/svm/vmcb.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::svm {

// What the CPU and vbh support, fixed at init (CPUID and Svm::check_cpu()).
struct NestedCaps {
    std::uint8_t phys_bits;     // CPUID 8000_0008h EAX[7:0]: MAXPHYADDR
    std::uint64_t cr4_allowed;  // CR4 bits the CPU implements (cr4_allowed_from_cpuid)
    std::uint64_t efer_allowed; // EFER bits the CPU implements (MsrCaps::efer_writable)
    std::uint32_t svm_features; // CPUID 8000_000Ah EDX
    bool nested_paging;         // NP_ENABLE in VMCB12 accepted (a shadow NPT exists)
    bool gbpages;               // CPUID 8000_0001h EDX[26]: 1 GiB pages (shadow_npt.hpp)
};

// CR4 bits a CPU implements (APM vol. 2 §3.1.3) from CPUID 1 ECX and 7.0 EBX/ECX:
// VME..OSXMMEXCPT exist on every 64-bit AMD CPU; the rest as CPUID reports them.
constexpr std::uint64_t cr4_allowed_from_cpuid(std::uint32_t l1_ecx, std::uint32_t l7_ebx,
                                               std::uint32_t l7_ecx) {
    std::uint64_t a = 0x7ff; // VME, PVI, TSD, DE, PSE, PAE, MCE, PGE, PCE, OSFXSR, OSXMMEXCPT
    const struct {
        std::uint32_t word;
        unsigned cpuid_bit, cr4_bit;
    } opt[] = {
        {l7_ecx, 2, 11},  // UMIP
        {l7_ecx, 16, 12}, // LA57
        {l7_ebx, 0, 16},  // FSGSBASE
        {l1_ecx, 17, 17}, // PCIDE
        {l1_ecx, 26, 18}, // OSXSAVE
        {l7_ebx, 7, 20},  // SMEP
        {l7_ebx, 20, 21}, // SMAP
        {l7_ecx, 3, 22},  // PKE
        {l7_ecx, 7, 23},  // CET (shadow stacks)
    };
    for (const auto& o : opt)
        if ((o.word >> o.cpuid_bit) & 1)
            a |= 1ull << o.cr4_bit;
    return a;
}

// Why a VMCB12 was refused, in check order: the hardware's VMRUN consistency checks
// (§15.5.1, §15.20; and KVM's nested_vmcb_check_save/controls), then vbh's policy.
// Either way the host sees VMEXIT_INVALID; the value goes into the log entry.
#define VBH_VMCB12_ERRORS(X)                                                          \
    X(ok, 0)                                                                          \
    X(vmrun_intercept, 0)   /* VMRUN intercept clear */                               \
    X(asid_zero, 0)         /* guest ASID 0 is the host's */                          \
    X(tlb_control, 0)       /* reserved TLB_CONTROL encoding (table B-1) */           \
    X(msrpm_range, 0)       /* MSRPM reaches MAXPHYADDR */                            \
    X(iopm_range, 0)        /* IOPM reaches MAXPHYADDR */                             \
    X(event_type, 0)        /* EVENTINJ type 1 or 5-7 (table 15-11) */                \
    X(event_reserved, 0)    /* EVENTINJ bits 30:12 */                                 \
    X(event_vector, 0)      /* type 3 with a vector that is no exception */           \
    X(efer_svme, 0)         /* EFER.SVME clear */                                     \
    X(cr0_cd_nw, 0)         /* CR0.NW without CR0.CD */                               \
    X(cr0_high, 0)          /* CR0[63:32] */                                          \
    X(cr3_mbz, 0)           /* long-mode CR3 above MAXPHYADDR */                      \
    X(cr4_mbz, 0)           /* CR4 bit the CPU does not implement */                  \
    X(dr6_high, 0)          /* DR6[63:32] */                                          \
    X(dr7_high, 0)          /* DR7[63:32] */                                          \
    X(efer_long_mode, 0)    /* LME/LMA without long mode */                           \
    X(efer_mbz, 0)          /* EFER bit the CPU does not implement */                 \
    X(lme_pg_no_pae, 0)     /* EFER.LME, CR0.PG, CR4.PAE = 0 */                       \
    X(lme_pg_no_pe, 0)      /* EFER.LME, CR0.PG, CR0.PE = 0 */                        \
    X(lme_pg_cs_l_d, 0)     /* EFER.LME, CR0.PG, CR4.PAE, CS.L, CS.D all set */       \
    X(cet_wp, 0)            /* CR4.CET without CR0.WP */                              \
    X(s_cet_reserved, 0)    /* S_CET bits 9:6 */                                      \
    X(g_pat, 0)             /* invalid PAT type with NP_ENABLE (§15.25.8) */          \
    X(sev, 1)               /* SEV or SEV-ES enable: vbh has no SEV */                \
    X(np_features, 1)       /* GMET, SSS, VTE, RO tables, INVLPGB enable */           \
    X(nested_paging, 1)     /* NP_ENABLE while this CPU has no shadow NPT */          \
    X(avic, 1)              /* AVIC or x2AVIC enable */                               \
    X(vnmi, 1)              /* V_NMI_ENABLE: not emulated */                          \
    X(vgif, 1)              /* V_GIF_ENABLE on a CPU without VGIF */                  \
    X(virt_ext, 1)          /* LBR, VMLOAD/VMSAVE, IBS or PMC virtualization */       \
    X(icpt_intr, 1)         /* required host intercepts, one each */                  \
    X(icpt_nmi, 1)                                                                    \
    X(icpt_shutdown, 1)                                                               \
    X(icpt_vmload, 1)                                                                 \
    X(icpt_vmsave, 1)                                                                 \
    X(icpt_stgi, 1)         /* unless V_GIF_ENABLE */                                 \
    X(icpt_clgi, 1)                                                                   \
    X(icpt_skinit, 1)                                                                 \
    X(icpt_invlpga, 1)                                                                \
    X(map_not_host, 1)      /* MSRPM/IOPM not host-owned RAM (nested_run.hpp) */      \
    X(vmcb12_gone, 1)       /* VMCB12 no longer host RAM at the #VMEXIT: not written */ \
    X(l2_invalid, 0)        /* the L2 block failed a check left to the CPU */         \
    X(shadow_refused, 1)    /* KVM's NPT maps a frame or has a table outside host RAM */ \
    X(protected_state, 1)   /* a protected vCPU's state changed beyond its last exit */ \
    X(protected_join, 1)    /* a VMCB12 joins a domain that ran, not at its own code */ \
    X(protected_full, 1)    /* no free record for a new protected vCPU (pstate.hpp) */ \
    X(protected_busy, 1)    /* a protected vCPU's VMCB12 already runs on another CPU */

#define VBH_VMCB12_ERROR_MEMBER_(name, policy) name,
enum class Vmcb12Error : std::uint8_t { VBH_VMCB12_ERRORS(VBH_VMCB12_ERROR_MEMBER_) };
#undef VBH_VMCB12_ERROR_MEMBER_

constexpr const char* to_string(Vmcb12Error e) {
    switch (e) {
#define VBH_VMCB12_ERROR_NAME_(name, policy) \
    case Vmcb12Error::name: return #name;
        VBH_VMCB12_ERRORS(VBH_VMCB12_ERROR_NAME_)
#undef VBH_VMCB12_ERROR_NAME_
    }
    return "?";
}

// True for vbh's refusals, false for what the hardware itself would reject.
constexpr bool is_policy(Vmcb12Error e) {
    switch (e) {
#define VBH_VMCB12_ERROR_POLICY_(name, policy) \
    case Vmcb12Error::name: return policy;
        VBH_VMCB12_ERRORS(VBH_VMCB12_ERROR_POLICY_)
#undef VBH_VMCB12_ERROR_POLICY_
    }
    return false;
}

// The first check v12 fails, or ok.
Vmcb12Error check_vmcb12(const Vmcb& v12, const NestedCaps& caps);

// The host asked for nested paging (kvm_amd npt=1): its N_CR3 is a table to shadow.
constexpr bool host_nested_paging(const Vmcb& v12) { return NpEnable::test(v12.np_ctl); }

// The permission maps' sizes (§15.10.1: 12 KiB IOPM, §15.11: 8 KiB MSRPM) and where the
// host's are: bits 11:0 of the base are ignored (table B-1). check_vmcb12() has bounded
// them below MAXPHYADDR; the caller still checks that they are host-owned RAM.
inline constexpr std::size_t msrpm_bytes = 0x2000;
inline constexpr std::size_t iopm_bytes = 0x3000;
struct MapRange {
    std::uint64_t pa;
    std::uint64_t bytes;
};
constexpr MapRange msrpm_range(const Vmcb& v12) { return {v12.msrpm_pa & ~0xfffull, msrpm_bytes}; }
constexpr MapRange iopm_range(const Vmcb& v12) { return {v12.iopm_pa & ~0xfffull, iopm_bytes}; }

// out = host | vbh, byte by byte: an access either of them intercepts exits. host may
// be null (the host did not enable that map): out = vbh.
void merge_permission_map(const std::uint8_t* host, const std::uint8_t* vbh, std::uint8_t* out,
                          std::size_t bytes);

// The intercepts the host must set (else check_vmcb12 refuses), and those vbh adds to
// the L2 block (docs/nested.md, "Intercepts"): NMI for the flush kick, INIT, INVD and
// WBINVD (INVD would drop vbh's dirty lines; QEMU 7.2 reports INVD as WBINVD), MSR and
// IO protection through the merged maps, SHUTDOWN, and every SVM instruction: an L2
// always runs with EFER.SVME = 1 (§15.5.1), so an unintercepted VMLOAD, VMSAVE or
// SKINIT would act on system-physical addresses and CLGI on the real GIF.
inline constexpr std::uint32_t host_required3 = icpt3::intr | icpt3::nmi | icpt3::shutdown |
                                                icpt3::invlpga;
inline constexpr std::uint32_t host_required4 = icpt4::vmrun | icpt4::vmload | icpt4::vmsave |
                                                icpt4::skinit; // + STGI/CLGI without V_GIF
inline constexpr std::uint32_t l2_required3 = host_required3 | icpt3::init | icpt3::invd |
                                              icpt3::ioio_prot | icpt3::msr_prot;
inline constexpr std::uint32_t l2_required4 = host_required4 | icpt4::wbinvd;
constexpr std::uint32_t gif_intercepts(const Vmcb& v) {
    return IntCtl::VGifEnable::test(v.vintr) ? 0 : icpt4::stgi | icpt4::clgi;
}

// What vbh owns and hands to build_l2(): every physical address the L2 block holds.
struct L2Inputs {
    std::uint64_t npt_root; // N_CR3: vbh's host NPT (npt=0) or the shadow of the host's
    std::uint64_t msrpm_pa; // the merged maps, in hypervisor memory
    std::uint64_t iopm_pa;
    std::uint32_t asid;     // AsidMap::assign(): never 0, never L1's
    bool flush;             // the ASID is new to this host ASID: flush it
};

// Build the L2 block from a VMCB12 that passed check_vmcb12(): l2 is rewritten whole,
// field by field from an all-zero block, so nothing of v12 reaches it unless named here.
// State VMRUN loads comes from v12; the state VMLOAD loads (FS, GS, TR, LDTR,
// KernelGsBase, STAR..SFMASK, SYSENTER_*: §15.5.2) from l1, where the host's last
// VMLOAD left it, and so does G_PAT when the host runs without nested paging.
void build_l2(const Vmcb& v12, const Vmcb& l1, const NestedCaps& caps, const L2Inputs& in,
              Vmcb& l2);

// The VMLOAD/VMSAVE set (§15.5.2): FS, GS, TR, LDTR with hidden state, KernelGsBase,
// STAR, LSTAR, CSTAR, SFMASK, SYSENTER_CS/ESP/EIP.
void copy_vmload_state(const Vmcb& from, Vmcb& to);

// The host's copies of its own maps, for deciding whose an MSR or IO exit is; null when
// the host's MSR_PROT / IOIO_PROT intercept is clear.
struct HostMaps {
    const std::uint8_t* msrpm;
    const std::uint8_t* iopm;
};

// Does the host want this L2 exit? Its intercept bit for the EXITCODE, and for MSR and
// IOIO exits also the bits of its own map (ecx: the MSR of an MSR exit). NPF is never
// the host's here (its page faults come from its own tables, which a shadow NPT will
// reflect); VMEXIT_INVALID always is.
bool host_wants_exit(const Vmcb& v12, const Vmcb& l2, const HostMaps& maps, std::uint32_t ecx);

// #VMEXIT into the host (§15.6): what the CPU writes back into VMCB12 (state VMRUN
// loaded, V_TPR/V_IRQ/V_GIF, interrupt shadow, EXITCODE/EXITINFO1/2, EXITINTINFO, nRIP,
// decode assist bytes; EVENTINJ cleared as QEMU does), and what it leaves in the CPU,
// which is the host's block: VMLOAD state (and G_PAT without nested paging) the L2
// ran with, host DR7 breakpoints disabled. Nothing of vbh's (its addresses, ASID, TSC
// offset, intercepts) reaches v12.
void reflect_exit(const Vmcb& l2, Vmcb& v12, Vmcb& l1);

// The bytes of VMCB12 reflect_exit() may change, [first, end): the caller writes exactly
// these back to the host's page, as the CPU would, and leaves the rest as the host has
// it. The same for vmexit_invalid(): vmexit_invalid_span.
struct VmcbSpan {
    std::uint16_t first, end;
};
inline constexpr VmcbSpan vmexit_spans[] = {
    {0x060, 0x062}, // V_TPR, V_IRQ, V_GIF
    {0x068, 0x090}, // interrupt shadow, EXITCODE, EXITINFO1/2, EXITINTINFO
    {0x0a8, 0x0b0}, // EVENTINJ
    {0x0c8, 0x0e0}, // nRIP, instruction length and bytes
    {0x400, 0x440}, // ES, CS, SS, DS
    {0x460, 0x470}, // GDTR
    {0x480, 0x490}, // IDTR
    {0x4cb, 0x4cc}, // CPL
    {0x4d0, 0x4d8}, // EFER
    {0x548, 0x580}, // CR4, CR3, CR0, DR7, DR6, RFLAGS, RIP
    {0x5d8, 0x600}, // RSP, S_CET, SSP, ISST_ADDR, RAX
    {0x640, 0x648}, // CR2
    {0x668, 0x670}, // G_PAT (with nested paging)
    {0x6e0, 0x6e8}, // SPEC_CTRL
};
inline constexpr VmcbSpan vmexit_invalid_span = {0x070, 0x088};

// The VMRUN failed its checks: EXITCODE = VMEXIT_INVALID (-1), EXITINFO1/2 = 0; the
// rest of VMCB12 stays as the host wrote it (§15.5.1).
void vmexit_invalid(Vmcb& v12);

} // namespace vbh::svm
