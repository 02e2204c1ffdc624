// Segment descriptors, the 64-bit TSS and IDT gates (AMD APM vol. 2 §4.7-4.8, §8.9,
// §12.2.5; Intel SDM vol. 3 §3.4.5, §7.7, §6.14.1). Typed fields, no bitfields.
#pragma once

#include <vbh/field.hpp>

#include <cstdint>

namespace vbh::arch {

struct [[gnu::packed]] DescPtr {
    std::uint16_t limit;
    std::uint64_t base;
};
static_assert(sizeof(DescPtr) == 10);

// An 8-byte code/data descriptor; system descriptors (TSS, LDT) take 16 bytes in
// long mode, the second quadword holding base[63:32] (APM vol. 2 §4.8.3).
struct SegDesc {
    using Limit15_0 = Field<15, 0>;
    using Base23_0 = Field<39, 16>;
    using Access = Field<47, 40>; // type[3:0] S DPL[1:0] P
    using Type = Field<43, 40>;
    using S = Field<44, 44>;
    using Dpl = Field<46, 45>;
    using Present = Field<47, 47>;
    using Limit19_16 = Field<51, 48>;
    using Flags = Field<55, 52>;  // AVL L D/B G
    using Gran = Field<55, 55>;
    using Base31_24 = Field<63, 56>;

    std::uint64_t raw;

    std::uint64_t base() const { return Base23_0::get(raw) | (Base31_24::get(raw) << 24); }
    std::uint32_t limit() const {
        std::uint32_t l = std::uint32_t(Limit15_0::get(raw) | (Limit19_16::get(raw) << 16));
        return Gran::get(raw) ? (l << 12) | 0xfff : l;
    }
    // The VMCB's 12-bit attribute format: descriptor bits 47:40 and 55:52
    // (APM vol. 2 §15.5.1, "Segment State in the VMCB").
    std::uint16_t vmcb_attr() const {
        return std::uint16_t(Access::get(raw) | (Flags::get(raw) << 8));
    }
    bool system() const { return S::get(raw) == 0; }

    static constexpr std::uint64_t make(std::uint64_t base, std::uint32_t limit, unsigned access,
                                        unsigned flags) {
        std::uint64_t r = 0;
        r = Limit15_0::set(r, limit & 0xffff);
        r = Limit19_16::set(r, (limit >> 16) & 0xf);
        r = Base23_0::set(r, base & 0xffffff);
        r = Base31_24::set(r, (base >> 24) & 0xff);
        r = Access::set(r, access);
        return Flags::set(r, flags);
    }
};

// Access bytes and flags used by the hypervisor's own GDT.
inline constexpr unsigned access_code64 = 0x9b; // P, DPL 0, S, execute/read, accessed
inline constexpr unsigned access_data = 0x93;   // P, DPL 0, S, read/write, accessed
inline constexpr unsigned access_tss = 0x89;    // P, DPL 0, available 64-bit TSS
inline constexpr unsigned flags_long = 0xa;     // G, L
inline constexpr unsigned flags_data = 0xc;     // G, D/B
inline constexpr unsigned tss_type_busy = 0xb;

// 64-bit TSS (APM vol. 2 §12.2.5, figure 12-8).
struct [[gnu::packed]] Tss64 {
    std::uint32_t reserved0;
    std::uint64_t rsp[3];
    std::uint64_t reserved1;
    std::uint64_t ist[7]; // ist[0] is IST1
    std::uint64_t reserved2;
    std::uint16_t reserved3;
    std::uint16_t iopb; // >= limit: no I/O permission bitmap
};
static_assert(sizeof(Tss64) == 104);

// 64-bit interrupt gate (APM vol. 2 §4.8.4, figure 4-24).
struct IdtGate {
    std::uint64_t lo;
    std::uint64_t hi;

    static constexpr IdtGate make(std::uint64_t handler, std::uint16_t sel, unsigned ist) {
        std::uint64_t lo = (handler & 0xffff) | (std::uint64_t(sel) << 16) |
                           (std::uint64_t(ist & 7) << 32) | (std::uint64_t(0x8e) << 40) |
                           (((handler >> 16) & 0xffff) << 48);
        return {lo, handler >> 32};
    }
};
static_assert(sizeof(IdtGate) == 16);

inline DescPtr sgdt() {
    DescPtr p;
    asm volatile("sgdt %0" : "=m"(p));
    return p;
}
inline DescPtr sidt() {
    DescPtr p;
    asm volatile("sidt %0" : "=m"(p));
    return p;
}
inline std::uint16_t str() {
    std::uint16_t s;
    asm volatile("str %0" : "=r"(s));
    return s;
}
inline std::uint16_t sldt() {
    std::uint16_t s;
    asm volatile("sldt %0" : "=r"(s));
    return s;
}
inline void lgdt(const DescPtr& p) { asm volatile("lgdt %0" ::"m"(p) : "memory"); }
inline void lidt(const DescPtr& p) { asm volatile("lidt %0" ::"m"(p) : "memory"); }
inline void ltr(std::uint16_t sel) { asm volatile("ltr %0" ::"r"(sel) : "memory"); }

// The descriptor a selector names in a GDT at `gdt_base` (LDT selectors: TI = 1 are not
// used by Linux for CS/SS/DS/ES in the kernel; callers check).
inline SegDesc gdt_entry(std::uint64_t gdt_base, std::uint16_t sel) {
    return SegDesc{reinterpret_cast<const std::uint64_t*>(gdt_base)[sel >> 3]};
}

} // namespace vbh::arch
