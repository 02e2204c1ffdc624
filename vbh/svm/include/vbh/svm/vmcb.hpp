// The VMCB (AMD APM vol. 2 appendix B: table B-1 control area, table B-2 state save
// area; §15.5-§15.20 for the semantics). Raw little-endian words at the manual's
// offsets; bit ranges are Field<hi, lo> masks over them, never C bitfields.
#pragma once

#include <vbh/field.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::svm {

// Intercept vector 3 (VMCB 00Ch, table B-1).
namespace icpt3 {
inline constexpr std::uint32_t intr = 1u << 0;
inline constexpr std::uint32_t nmi = 1u << 1;
inline constexpr std::uint32_t smi = 1u << 2;
inline constexpr std::uint32_t init = 1u << 3;
inline constexpr std::uint32_t vintr = 1u << 4;
inline constexpr std::uint32_t cpuid = 1u << 18;
inline constexpr std::uint32_t invd = 1u << 22;
inline constexpr std::uint32_t hlt = 1u << 24;
inline constexpr std::uint32_t invlpga = 1u << 26;
inline constexpr std::uint32_t ioio_prot = 1u << 27;
inline constexpr std::uint32_t msr_prot = 1u << 28;
inline constexpr std::uint32_t shutdown = 1u << 31;
} // namespace icpt3

// Intercept vector 4 (VMCB 010h).
namespace icpt4 {
inline constexpr std::uint32_t vmrun = 1u << 0;
inline constexpr std::uint32_t vmmcall = 1u << 1;
inline constexpr std::uint32_t vmload = 1u << 2;
inline constexpr std::uint32_t vmsave = 1u << 3;
inline constexpr std::uint32_t stgi = 1u << 4;
inline constexpr std::uint32_t clgi = 1u << 5;
inline constexpr std::uint32_t skinit = 1u << 6;
inline constexpr std::uint32_t wbinvd = 1u << 9;
} // namespace icpt4

// Intercept vector 5 (VMCB 014h): INVLPGB .. idle HLT in bits 6:0, 31:7 reserved.
namespace icpt5 {
inline constexpr std::uint32_t defined = 0x7f;
} // namespace icpt5

// The six intercept words 000h..017h are one array in EXITCODE order: EXITCODE c
// (c < C0h) is intercepted by bit c % 32 of word c / 32 (CR reads/writes 00h-1Fh, DR
// 20h-3Fh, exceptions 40h-5Fh, vector 3 from 60h, vector 4 from 80h, vector 5 from A0h;
// appendix C).
inline constexpr unsigned intercept_words = 6;
inline constexpr std::uint64_t intercept_codes = intercept_words * 32;

// EXITCODE values (appendix C).
enum class ExitCode : std::uint64_t {
    intr = 0x60,
    nmi = 0x61,
    init = 0x63,
    cpuid = 0x72,
    invd = 0x76,
    hlt = 0x78,
    invlpga = 0x7a,
    ioio = 0x7b,
    msr = 0x7c,
    shutdown = 0x7f,
    vmrun = 0x80,
    vmmcall = 0x81,
    vmload = 0x82,
    vmsave = 0x83,
    stgi = 0x84,
    clgi = 0x85,
    skinit = 0x86,
    wbinvd = 0x89,
    npf = 0x400,
    invalid = ~0ull, // VMEXIT_INVALID (-1): VMRUN consistency checks failed (§15.5.1)
};

// VMEXIT_INVALID is -1 (§15.5.1); QEMU TCG stores it as a 32-bit -1 (0xffffffff) in
// the 64-bit EXITCODE field, hardware as a 64-bit -1: accept both.
constexpr bool is_vmexit_invalid(std::uint64_t exit_code) {
    return std::uint32_t(exit_code) == 0xffffffffu;
}

// 058h: guest ASID [31:0], TLB_CONTROL [39:32] (§15.16.1).
using Asid = Field<31, 0>;
using TlbControl = Field<39, 32>;
inline constexpr std::uint64_t tlb_flush_all = 1;   // every ASID: always supported
inline constexpr std::uint64_t tlb_flush_guest = 3; // this ASID: needs FlushByAsid
inline constexpr std::uint64_t tlb_flush_guest_nonglobal = 7; // likewise

// 060h: virtual interrupt control (§15.21, table B-1). V_TPR, V_IRQ, VGIF and V_NMI
// are written back on #VMEXIT.
struct IntCtl {
    using VTpr = Field<3, 0>;       // 7:4 SBZ
    using VIrq = Field<8, 8>;
    using VGif = Field<9, 9>;       // §15.33.2 virtual GIF
    using VNmi = Field<11, 11>;
    using VNmiMask = Field<12, 12>;
    using VIntrPrio = Field<19, 16>;
    using VIgnTpr = Field<20, 20>;
    using VIntrMasking = Field<24, 24>;
    using VGifEnable = Field<25, 25>;
    using VNmiEnable = Field<26, 26>; // §15.21.10 NMI virtualization
    using X2Avic = Field<30, 30>;     // §15.29.11
    using AvicEnable = Field<31, 31>; // §15.29
    using VIntrVector = Field<39, 32>;
};

// 068h: interrupt shadow (§15.21.5); bit 1 is the SEV-ES guest's RFLAGS.IF.
using IntShadow = Field<0, 0>;

// 090h: nested paging and the features that ride on it (table B-1).
using NpEnable = Field<0, 0>;   // §15.25.3
using SevEnable = Field<1, 1>;  // §15.34
using SevEsEnable = Field<2, 2>; // §15.35
using NpCtlMore = Field<7, 3>;  // GMET, SSS check, VTE, RO guest tables, INVLPGB enable

// 0B8h: virtualization extensions (table B-1): LBR virtualization (§15.23), virtual
// VMLOAD/VMSAVE (§15.33.1), IBS and PMC virtualization.
struct VirtExt {
    using LbrVirt = Field<0, 0>;
    using VmloadVirt = Field<1, 1>;
    using IbsVirt = Field<2, 2>;
    using PmcVirt = Field<3, 3>;
    using Defined = Field<3, 0>;
};

// 0A8h EVENTINJ (§15.20): vector, type, error-code valid, valid, error code.
struct EventInj {
    using Vector = Field<7, 0>;
    using Type = Field<10, 8>;
    using Ev = Field<11, 11>;
    using Valid = Field<31, 31>;
    using Error = Field<63, 32>;
    using Reserved = Field<30, 12>;
    static constexpr std::uint64_t type_intr = 0;
    static constexpr std::uint64_t type_nmi = 2;
    static constexpr std::uint64_t type_exception = 3;
    static constexpr std::uint64_t type_soft_int = 4; // 1, 5-7 reserved (table 15-11)
};

// NPF EXITINFO1 (§15.25.6): the #PF-style error code plus walk information.
struct NpfInfo {
    using Present = Field<0, 0>;
    using Write = Field<1, 1>;
    using User = Field<2, 2>;
    using Fetch = Field<4, 4>;
    using FinalGpa = Field<32, 32>;
    using GuestTables = Field<33, 33>;
};

// IOIO EXITINFO1 (§15.10.2); EXITINFO2 is the RIP of the next instruction.
struct IoioInfo {
    using In = Field<0, 0>;
    using String = Field<2, 2>;
    using Rep = Field<3, 3>;
    using Sz8 = Field<4, 4>;
    using Sz16 = Field<5, 5>;
    using Sz32 = Field<6, 6>;
    using Port = Field<31, 16>;
};

struct Segment {
    std::uint16_t selector;
    std::uint16_t attrib; // descriptor bits 47:40 in [7:0], 55:52 in [11:8]
    std::uint32_t limit;
    std::uint64_t base;
};
static_assert(sizeof(Segment) == 16);

using SegDpl = Field<6, 5, std::uint16_t>; // DPL inside Segment::attrib

struct alignas(4096) Vmcb {
    // Control area (table B-1).
    std::uint32_t icpt_cr;       // 000h
    std::uint32_t icpt_dr;       // 004h
    std::uint32_t icpt_exc;      // 008h
    std::uint32_t icpt_misc3;    // 00Ch
    std::uint32_t icpt_misc4;    // 010h
    std::uint32_t icpt_misc5;    // 014h
    std::uint8_t rsvd0[0x3c - 0x18];
    std::uint16_t pause_thresh;  // 03Ch
    std::uint16_t pause_count;   // 03Eh
    std::uint64_t iopm_pa;       // 040h
    std::uint64_t msrpm_pa;      // 048h
    std::uint64_t tsc_offset;    // 050h
    std::uint64_t asid_tlb;      // 058h
    std::uint64_t vintr;         // 060h
    std::uint64_t int_shadow;    // 068h
    std::uint64_t exit_code;     // 070h
    std::uint64_t exit_info1;    // 078h
    std::uint64_t exit_info2;    // 080h
    std::uint64_t exit_int_info; // 088h
    std::uint64_t np_ctl;        // 090h
    std::uint64_t avic_bar;      // 098h
    std::uint64_t ghcb_pa;       // 0A0h
    std::uint64_t event_inj;     // 0A8h
    std::uint64_t n_cr3;         // 0B0h
    std::uint64_t virt_ext;      // 0B8h
    std::uint32_t clean;         // 0C0h
    std::uint32_t rsvd1;
    std::uint64_t next_rip;      // 0C8h
    std::uint8_t insn_len;       // 0D0h
    std::uint8_t insn_bytes[15]; // 0D1h
    std::uint64_t avic_backing;  // 0E0h AVIC APIC backing page (§15.29)
    std::uint64_t rsvd2a;
    std::uint64_t avic_logical;  // 0F0h AVIC logical APIC ID table
    std::uint64_t avic_physical; // 0F8h AVIC physical APIC ID table
    std::uint64_t rsvd2b;
    std::uint64_t vmsa_pa;       // 108h SEV-ES save area (§15.35)
    std::uint8_t rsvd2[0x400 - 0x110];

    // State save area (table B-2), offsets from 400h.
    Segment es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; // 400h .. 490h
    std::uint8_t rsvd3[0x4cb - 0x4a0];
    std::uint8_t cpl;            // 4CBh
    std::uint32_t rsvd4;
    std::uint64_t efer;          // 4D0h
    std::uint8_t rsvd5[0x548 - 0x4d8];
    std::uint64_t cr4;           // 548h
    std::uint64_t cr3;           // 550h
    std::uint64_t cr0;           // 558h
    std::uint64_t dr7;           // 560h
    std::uint64_t dr6;           // 568h
    std::uint64_t rflags;        // 570h
    std::uint64_t rip;           // 578h
    std::uint8_t rsvd6[0x5d8 - 0x580];
    std::uint64_t rsp;           // 5D8h
    std::uint64_t s_cet;         // 5E0h
    std::uint64_t ssp;           // 5E8h
    std::uint64_t isst_addr;     // 5F0h
    std::uint64_t rax;           // 5F8h
    std::uint64_t star;          // 600h
    std::uint64_t lstar;         // 608h
    std::uint64_t cstar;         // 610h
    std::uint64_t sfmask;        // 618h
    std::uint64_t kernel_gs_base; // 620h
    std::uint64_t sysenter_cs;   // 628h
    std::uint64_t sysenter_esp;  // 630h
    std::uint64_t sysenter_eip;  // 638h
    std::uint64_t cr2;           // 640h
    std::uint8_t rsvd8[0x668 - 0x648];
    std::uint64_t g_pat;         // 668h
    std::uint64_t dbgctl;        // 670h: 670h-698h only with LBR virtualization
    std::uint64_t br_from;       // 678h
    std::uint64_t br_to;         // 680h
    std::uint64_t last_excp_from; // 688h
    std::uint64_t last_excp_to;  // 690h
    std::uint64_t dbgextnctl;    // 698h
    std::uint8_t rsvd9[0x6e0 - 0x6a0];
    std::uint64_t spec_ctrl;     // 6E0h: with V_SPEC_CTRL (CPUID 8000_000Ah EDX[20])
    std::uint8_t rsvd10[0x1000 - 0x6e8];
};

#define VBH_VMCB_AT(field, off) static_assert(offsetof(Vmcb, field) == (off), #field)
VBH_VMCB_AT(icpt_misc3, 0x00c);
VBH_VMCB_AT(icpt_misc4, 0x010);
VBH_VMCB_AT(iopm_pa, 0x040);
VBH_VMCB_AT(msrpm_pa, 0x048);
VBH_VMCB_AT(asid_tlb, 0x058);
VBH_VMCB_AT(vintr, 0x060);
VBH_VMCB_AT(exit_code, 0x070);
VBH_VMCB_AT(exit_info1, 0x078);
VBH_VMCB_AT(exit_info2, 0x080);
VBH_VMCB_AT(exit_int_info, 0x088);
VBH_VMCB_AT(np_ctl, 0x090);
VBH_VMCB_AT(event_inj, 0x0a8);
VBH_VMCB_AT(n_cr3, 0x0b0);
VBH_VMCB_AT(clean, 0x0c0);
VBH_VMCB_AT(next_rip, 0x0c8);
VBH_VMCB_AT(insn_len, 0x0d0);
VBH_VMCB_AT(avic_bar, 0x098);
VBH_VMCB_AT(ghcb_pa, 0x0a0);
VBH_VMCB_AT(virt_ext, 0x0b8);
VBH_VMCB_AT(avic_backing, 0x0e0);
VBH_VMCB_AT(avic_logical, 0x0f0);
VBH_VMCB_AT(avic_physical, 0x0f8);
VBH_VMCB_AT(vmsa_pa, 0x108);
VBH_VMCB_AT(icpt_cr, 0x000);
VBH_VMCB_AT(icpt_dr, 0x004);
VBH_VMCB_AT(icpt_exc, 0x008);
VBH_VMCB_AT(icpt_misc5, 0x014);
VBH_VMCB_AT(pause_thresh, 0x03c);
VBH_VMCB_AT(tsc_offset, 0x050);
VBH_VMCB_AT(int_shadow, 0x068);
VBH_VMCB_AT(es, 0x400);
VBH_VMCB_AT(cs, 0x410);
VBH_VMCB_AT(ss, 0x420);
VBH_VMCB_AT(ds, 0x430);
VBH_VMCB_AT(fs, 0x440);
VBH_VMCB_AT(gs, 0x450);
VBH_VMCB_AT(gdtr, 0x460);
VBH_VMCB_AT(ldtr, 0x470);
VBH_VMCB_AT(idtr, 0x480);
VBH_VMCB_AT(tr, 0x490);
VBH_VMCB_AT(cpl, 0x4cb);
VBH_VMCB_AT(efer, 0x4d0);
VBH_VMCB_AT(cr4, 0x548);
VBH_VMCB_AT(cr3, 0x550);
VBH_VMCB_AT(cr0, 0x558);
VBH_VMCB_AT(dr7, 0x560);
VBH_VMCB_AT(dr6, 0x568);
VBH_VMCB_AT(rflags, 0x570);
VBH_VMCB_AT(rip, 0x578);
VBH_VMCB_AT(rsp, 0x5d8);
VBH_VMCB_AT(s_cet, 0x5e0);
VBH_VMCB_AT(ssp, 0x5e8);
VBH_VMCB_AT(isst_addr, 0x5f0);
VBH_VMCB_AT(rax, 0x5f8);
VBH_VMCB_AT(star, 0x600);
VBH_VMCB_AT(kernel_gs_base, 0x620);
VBH_VMCB_AT(sysenter_eip, 0x638);
VBH_VMCB_AT(cr2, 0x640);
VBH_VMCB_AT(g_pat, 0x668);
VBH_VMCB_AT(dbgctl, 0x670);
VBH_VMCB_AT(br_from, 0x678);
VBH_VMCB_AT(br_to, 0x680);
VBH_VMCB_AT(last_excp_from, 0x688);
VBH_VMCB_AT(last_excp_to, 0x690);
VBH_VMCB_AT(dbgextnctl, 0x698);
VBH_VMCB_AT(spec_ctrl, 0x6e0);
#undef VBH_VMCB_AT
static_assert(sizeof(Vmcb) == 4096);

// EventInj encoding of a vendor-neutral Event: encode_event() in exit_svm.hpp.

// CPUID 8000_000Ah EDX (§15.4 / CPUID spec): optional SVM features.
inline constexpr std::uint32_t svm_feature_npt = 1u << 0;
inline constexpr std::uint32_t svm_feature_nrips = 1u << 3;
inline constexpr std::uint32_t svm_feature_lbrv = 1u << 1;
inline constexpr std::uint32_t svm_feature_flush_by_asid = 1u << 6;
inline constexpr std::uint32_t svm_feature_decode_assists = 1u << 7;
inline constexpr std::uint32_t svm_feature_avic = 1u << 13;
inline constexpr std::uint32_t svm_feature_vmsave_virt = 1u << 15;
inline constexpr std::uint32_t svm_feature_vgif = 1u << 16;
inline constexpr std::uint32_t svm_feature_v_spec_ctrl = 1u << 20;
inline constexpr std::uint32_t svm_feature_vnmi = 1u << 25;

} // namespace vbh::svm
