// The local APIC as the hypervisor uses it: read this CPU's id and send an NMI IPI
// (Intel SDM vol. 3 §11.6.1 ICR, §11.12.9 x2APIC ICR; AMD APM vol. 2 §16.5).
// xAPIC registers are reached through the hypervisor's direct map (VA = PA, mapped
// UC); QEMU TCG has no x2APIC, but a host that enabled it (IA32_APIC_BASE.EXTD) gets
// the MSR interface. Which of the two, and where the xAPIC page is, is read from
// IA32_APIC_BASE once, at init (capture()), and checked again at each CPU's launch:
// the host can write that register, so the hypervisor never re-derives it (the SVM
// backend refuses any write that would change it: svm/msr.hpp).
#pragma once

#include <vbh/arch/cpu.hpp>

#include <cstdint>

namespace vbh::arch {

class LocalApic {
public:
    static constexpr std::uint64_t base_extd = 1u << 10;
    static constexpr std::uint64_t base_addr_mask = 0x000ffffffffff000ull;
    static constexpr std::uint32_t reg_id = 0x20;
    static constexpr std::uint32_t reg_icr_lo = 0x300;
    static constexpr std::uint32_t reg_icr_hi = 0x310;
    static constexpr std::uint32_t icr_nmi = 4u << 8;      // delivery mode NMI
    static constexpr std::uint32_t icr_assert = 1u << 14;  // level: assert
    static constexpr std::uint32_t icr_pending = 1u << 12; // xAPIC delivery status

    static constexpr std::uint64_t base_enable = 1u << 11;

    // The parts of IA32_APIC_BASE the hypervisor relies on (APM vol. 2 §16.3.1).
    struct Mode {
        std::uint64_t base; // xAPIC page, physical
        bool x2apic;
        bool enabled;
        bool operator==(const Mode&) const = default;
    };
    static Mode capture() {
        const std::uint64_t b = rdmsr(msr_apic_base);
        return {b & base_addr_mask, (b & base_extd) != 0, (b & base_enable) != 0};
    }

    static std::uint32_t id(const Mode& m) {
        if (m.x2apic)
            return std::uint32_t(rdmsr(msr_x2apic_id));
        return reg(m.base, reg_id) >> 24;
    }

    // The host may have been interrupted between its own writes of ICR high and low:
    // ICR high is restored so its pending IPI still reaches the CPU it chose. Every
    // wait on the delivery-status bit is bounded (icr_polls): the APIC is the host's
    // to misconfigure, and a stuck ICR must not hold the hypervisor (docs/launch.md,
    // "Bounded waits"). False if the NMI could not be handed to the APIC.
    static constexpr unsigned icr_polls = 1u << 16;
    static bool send_nmi(const Mode& m, std::uint32_t apic_id) {
        if (m.x2apic) {
            wrmsr(msr_x2apic_icr, (std::uint64_t(apic_id) << 32) | icr_nmi | icr_assert);
            return true;
        }
        const std::uint64_t base = m.base;
        if (!icr_idle(base))
            return false;
        const std::uint32_t saved_hi = reg(base, reg_icr_hi);
        set_reg(base, reg_icr_hi, apic_id << 24);
        set_reg(base, reg_icr_lo, icr_nmi | icr_assert);
        const bool sent = icr_idle(base);
        set_reg(base, reg_icr_hi, saved_hi);
        return sent;
    }

private:
    static bool icr_idle(std::uint64_t base) {
        for (unsigned i = 0; i < icr_polls; ++i) {
            if (!(reg(base, reg_icr_lo) & icr_pending))
                return true;
            pause();
        }
        return false;
    }
    static std::uint32_t reg(std::uint64_t base, std::uint32_t off) {
        return *reinterpret_cast<volatile std::uint32_t*>(base + off);
    }
    static void set_reg(std::uint64_t base, std::uint32_t off, std::uint32_t v) {
        *reinterpret_cast<volatile std::uint32_t*>(base + off) = v;
    }
};

} // namespace vbh::arch
