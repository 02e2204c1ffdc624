// What the host may write to its local APIC (docs/launch.md, "Local APIC writes").
// The xAPIC page is read-only in the host NPT, so every host write to it is an NPF
// that the hypervisor performs for the host after this check (x2APIC: the same
// registers as MSRs 800h + offset / 16). The point is INIT and SIPI: a CPU that
// receives a real INIT leaves guest mode (QEMU 7.2 resets it before the hypervisor
// runs, docs/platform.md), so the hypervisor sends none and emulates both
// (sipi.hpp). Register layout: Intel SDM vol. 3 §11.4.1 table 11-1 and §11.6.1
// (ICR), AMD APM vol. 2 §16.3-16.5.
//
//   ICR low (the send)   fixed, lowest priority, NMI: performed. INIT, SIPI with a
//                        physical destination or a shorthand: emulated (init, sipi).
//                        INIT level de-assert: dropped (it only resynchronises
//                        arbitration IDs, nothing on P6 and later or on AMD64).
//                        SMI, ExtINT, the reserved modes, INIT or SIPI with a logical
//                        destination or the self / all-including-self shorthand (not
//                        valid for them): refused (dropped, logged).
//   LVT with a delivery  CMCI, thermal, performance counter, LINT0, LINT1: an SMI or
//   mode field           INIT entry, or a reserved mode, is refused: a later local
//                        event would deliver it without passing through here.
//   APIC ID              refused: writable on AMD (APM §16.3.3), and the hypervisor
//                        kicks CPUs by the id it read at launch.
//   anything else        performed (EOI, TPR, timer, ICR high, SVR, ...).
#pragma once

#include <cstdint>

namespace vbh::apic {

inline constexpr std::uint32_t reg_id = 0x20;
inline constexpr std::uint32_t reg_lvt_cmci = 0x2f0;
inline constexpr std::uint32_t reg_icr_lo = 0x300;
inline constexpr std::uint32_t reg_icr_hi = 0x310;
inline constexpr std::uint32_t reg_lvt_thermal = 0x330;
inline constexpr std::uint32_t reg_lvt_perf = 0x340;
inline constexpr std::uint32_t reg_lvt_lint0 = 0x350;
inline constexpr std::uint32_t reg_lvt_lint1 = 0x360;

// ICR low fields (SDM §11.6.1).
inline constexpr std::uint32_t mode_fixed = 0, mode_lowest = 1, mode_smi = 2, mode_nmi = 4,
                               mode_init = 5, mode_sipi = 6, mode_extint = 7;
inline constexpr std::uint32_t delivery_mode(std::uint32_t icr) { return (icr >> 8) & 7; }
inline constexpr bool logical_dest(std::uint32_t icr) { return (icr >> 11) & 1; }
inline constexpr bool level_assert(std::uint32_t icr) { return (icr >> 14) & 1; }
inline constexpr bool level_trigger(std::uint32_t icr) { return (icr >> 15) & 1; }
inline constexpr std::uint32_t shorthand(std::uint32_t icr) { return (icr >> 18) & 3; }
inline constexpr std::uint32_t sh_none = 0, sh_self = 1, sh_all = 2, sh_others = 3;

enum class Verdict : std::uint8_t {
    perform, // write it to the CPU's APIC as the host asked
    init,    // emulate INIT to the destination (sipi.hpp)
    sipi,    // emulate SIPI with `vector`
    drop,    // nothing to do (INIT de-assert), not logged
    refuse,  // dropped and logged (apic_denied)
};

// A send the hypervisor emulates: who gets it. dest is the physical APIC id (xAPIC:
// ICR high bits 31:24; x2APIC: 32 bits), `broadcast` the id that means every CPU.
struct Send {
    Verdict verdict = Verdict::perform;
    std::uint8_t vector = 0;
    std::uint32_t shorthand = sh_none;
    std::uint32_t dest = 0;
    std::uint32_t broadcast = 0xff;
};

// A write of `value` to the register at byte offset `reg` of the xAPIC page (x2APIC:
// (msr - 800h) * 16, with icr_hi the upper half of the 64-bit ICR value).
constexpr Send classify(std::uint32_t reg, std::uint32_t value, std::uint32_t icr_hi, bool x2apic) {
    switch (reg) {
    case reg_id: return {Verdict::refuse};
    case reg_lvt_cmci:
    case reg_lvt_thermal:
    case reg_lvt_perf:
    case reg_lvt_lint0:
    case reg_lvt_lint1: {
        const std::uint32_t m = delivery_mode(value);
        const bool ok = m == mode_fixed || m == mode_nmi || m == mode_extint;
        return {ok ? Verdict::perform : Verdict::refuse};
    }
    case reg_icr_lo: break;
    default: return {Verdict::perform};
    }
    const std::uint32_t m = delivery_mode(value);
    if (m == mode_fixed || m == mode_lowest || m == mode_nmi)
        return {Verdict::perform};
    if (m == mode_init && level_trigger(value) && !level_assert(value))
        return {Verdict::drop};
    // INIT and SIPI are valid with no shorthand or "all excluding self" only (SDM
    // §11.6.1, table 11-3 note); a logical destination is refused rather than resolved
    // against the host's LDR/DFR, which Linux never uses for them.
    const std::uint32_t sh = shorthand(value);
    if ((m != mode_init && m != mode_sipi) || sh == sh_self || sh == sh_all ||
        (logical_dest(value) && sh == sh_none))
        return {Verdict::refuse};
    return {m == mode_init ? Verdict::init : Verdict::sipi, std::uint8_t(value & 0xff), sh,
            x2apic ? icr_hi : icr_hi >> 24, x2apic ? 0xffffffffu : 0xffu};
}

// Whether a CPU with APIC id `id` (self: the sender) receives an emulated send.
constexpr bool receives(const Send& s, std::uint32_t id, bool self) {
    if (s.shorthand == sh_others)
        return !self;
    return s.dest == id || s.dest == s.broadcast;
}

} // namespace vbh::apic
