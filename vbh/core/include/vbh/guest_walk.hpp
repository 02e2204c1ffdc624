// A walk of the host's own page tables, for reading the instruction at the host's RIP
// after a nested page fault (docs/mmio.md). QEMU TCG gives no decode assists (the VMCB
// holds no instruction bytes, AMD APM vol. 2 "Decode Assists") and no NRIP for an NPF
// (§15.7.1), so the hypervisor translates RIP itself: CR0/CR3/CR4/EFER are the VMCB
// save-area values.
//
// Supported: paging off (linear = physical, 32 bits wide: long mode needs paging), and
// long-mode 4-level and 5-level (CR4.LA57) paging with 4 KiB, 2 MiB and 1 GiB leaves
// (APM vol. 2 §5.3, Intel SDM vol. 3 §4.5). Legacy 32-bit and PAE paging answer
// `unsupported`: Linux x86-64 runs in long mode from before the hypervisor exists, and
// a CPU the hypervisor starts at a SIPI vector runs with paging off until Linux enters
// long mode; neither mode is ever live while an MMIO store is decoded.
//
// What it does not check, on purpose: U/S, R/W, NX, SMEP and protection keys. The host
// fetches at CPL 0 and the CPU has just executed the instruction through these very
// tables, so their permissions allowed it; a walk here only has to find the bytes. It
// sets no accessed bits either (the CPU set them). The tables may have changed since
// (another host CPU can rewrite them): what the walk finds is host-controlled input,
// and every physical read goes through the reader, which refuses anything that is not
// host-owned RAM. A refusal, an entry not present or a reserved bit set ends the walk.
//
// Pure: no globals, no allocation; the reader is the only way out.
#pragma once

#include <ept/x86_entry.hpp>
#include <vbh/msr.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace vbh {

// `read_phys(pa, out)`: the 8 bytes at the 8-byte aligned physical address pa, or false
// when the hypervisor will not read pa for the host (its own memory, MMIO, beyond RAM).
template <class R>
concept PhysReader = requires(R& r, std::uint64_t pa, std::uint64_t& out) {
    { r.read_phys(pa, out) } -> std::same_as<bool>;
};

// The host's paging state at the exit, from the VMCB state save area (APM vol. 2
// table B-2), and the CPU's MAXPHYADDR (CPUID 8000_0008h EAX[7:0]).
struct HostPaging {
    std::uint64_t cr0 = 0;
    std::uint64_t cr3 = 0;
    std::uint64_t cr4 = 0;
    std::uint64_t efer = 0;
    unsigned phys_addr_bits = 52;
};

inline constexpr std::uint64_t cr0_pg = std::uint64_t(1) << 31;
inline constexpr std::uint64_t cr4_pae = std::uint64_t(1) << 5;
inline constexpr std::uint64_t cr4_la57 = std::uint64_t(1) << 12;

enum class WalkFault : std::uint8_t {
    none,
    unsupported,   // legacy or PAE paging, or a MAXPHYADDR outside 32..52
    non_canonical, // bits above the paging mode's width are not a sign extension
    not_present,   // P = 0 in the entry at `level`
    reserved,      // a reserved bit set in CR3 or the entry at `level`
    refused,       // the reader would not read the entry (or, for fetch, the bytes)
};

// Levels count from the leaf: 0 PTE, 1 PDE, 2 PDPTE, 3 PML4E, 4 PML5E; CR3 is 5.
inline constexpr std::uint8_t walk_level_cr3 = 5;

struct Translation {
    std::uint64_t pa = 0;
    WalkFault fault = WalkFault::none;
    std::uint8_t level = 0; // the leaf's level, or the level of the entry that failed

    constexpr explicit operator bool() const { return fault == WalkFault::none; }
};

namespace walk_detail {

namespace x86 = ept::x86;

inline constexpr std::uint64_t bit(unsigned b) { return std::uint64_t(1) << b; }
inline constexpr std::uint64_t addr_bits = bit(52) - 1; // physical bits an entry can hold

// Bits 51:MAXPHYADDR of an entry or of CR3 must be zero (APM vol. 2 §5.3, SDM vol. 3
// §4.5).
constexpr std::uint64_t above_maxphy(unsigned phys_addr_bits) {
    return addr_bits & ~(bit(phys_addr_bits) - 1);
}

constexpr Translation fault(WalkFault f, std::uint8_t level) { return {0, f, level}; }

// The reserved bits of a present entry at `level`, other than those above MAXPHYADDR:
// NX without EFER.NXE; PS in a PML5E or PML4E; the bits between the PAT bit (12) and
// the leaf's alignment in a 2 MiB or 1 GiB leaf (APM vol. 2 §5.3, SDM vol. 3
// §4.5).
constexpr std::uint64_t reserved_bits(std::uint64_t e, unsigned level, bool nxe) {
    std::uint64_t rsvd = nxe ? 0 : x86::Nx::mask;
    if (level >= 3)
        rsvd |= x86::Ps::mask;
    else if (level >= 1 && x86::Ps::test(e))
        rsvd |= (bit(12 + 9 * level) - 1) & ~(bit(13) - 1);
    return rsvd;
}

// Linear-address width of the paging mode: 48 bits with 4 levels, 57 with LA57.
constexpr bool canonical(std::uint64_t linear, unsigned width) {
    const std::uint64_t top = linear >> (width - 1);
    return top == 0 || top == (~std::uint64_t(0) >> (width - 1));
}

} // namespace walk_detail

// The physical address the host's linear address maps to, walked as the CPU walks it.
template <PhysReader R>
Translation translate(const HostPaging& p, std::uint64_t linear, R& reader) {
    using namespace walk_detail;
    if ((p.cr0 & cr0_pg) == 0)
        return {linear & 0xffffffffu, WalkFault::none, 0};
    if ((p.efer & efer_lma) == 0 || (p.cr4 & cr4_pae) == 0)
        return fault(WalkFault::unsupported, walk_level_cr3);
    if (p.phys_addr_bits < 32 || p.phys_addr_bits > 52)
        return fault(WalkFault::unsupported, walk_level_cr3);

    const bool la57 = (p.cr4 & cr4_la57) != 0;
    const unsigned levels = la57 ? 5 : 4;
    if (!canonical(linear, la57 ? 57 : 48))
        return fault(WalkFault::non_canonical, walk_level_cr3);
    // CR3: bits 11:0 are PWT/PCD or the PCID; bits 63:52 are not an address (Intel
    // LAM keeps its enables in 62:61). Bits 51:MAXPHYADDR are reserved.
    const std::uint64_t rsvd_phys = above_maxphy(p.phys_addr_bits);
    const bool nxe = (p.efer & efer_nxe) != 0;
    if ((p.cr3 & rsvd_phys) != 0)
        return fault(WalkFault::reserved, walk_level_cr3);
    std::uint64_t table = x86::Addr::addr(p.cr3);

    for (unsigned level = levels; level-- > 0;) {
        const unsigned shift = 12 + 9 * level;
        std::uint64_t e = 0;
        if (!reader.read_phys(table + ((linear >> shift) & 0x1ff) * 8, e))
            return fault(WalkFault::refused, std::uint8_t(level));
        if (!x86::P::test(e))
            return fault(WalkFault::not_present, std::uint8_t(level));
        if ((e & (rsvd_phys | reserved_bits(e, level, nxe))) != 0)
            return fault(WalkFault::reserved, std::uint8_t(level));
        const std::uint64_t frame = x86::Addr::addr(e);
        if (level == 0 || (level <= 2 && x86::Ps::test(e))) {
            const std::uint64_t offset = bit(shift) - 1;
            return {(frame & ~offset) | (linear & offset), WalkFault::none, std::uint8_t(level)};
        }
        table = frame;
    }
    return fault(WalkFault::unsupported, 0); // not reached: level 0 is always a leaf
}

// The longest x86 instruction; a longer one raises #GP (SDM vol. 2 §2.3.11).
inline constexpr std::size_t max_insn_bytes = 15;

// Reads up to min(n, 15) bytes of the instruction at cs_base + rip into dst and returns
// how many it could read: it stops at the first byte whose page does not translate or
// whose memory the reader refuses, so an instruction that crosses into a page that is
// not present yields the bytes of the first page only. In 64-bit mode the CPU treats
// CS.base as 0 (SDM vol. 3 §3.2.4): the caller passes 0 there.
template <PhysReader R>
std::size_t fetch(const HostPaging& p, std::uint64_t rip, std::uint64_t cs_base,
                  std::uint8_t* dst, std::size_t n, R& reader) {
    const std::uint64_t start = cs_base + rip;
    if (n > max_insn_bytes)
        n = max_insn_bytes;
    std::uint64_t pa = 0;
    std::uint64_t word = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t linear = start + i;
        if (i == 0 || (linear & 0xfff) == 0) {
            const Translation t = translate(p, linear, reader);
            if (!t)
                return i;
            pa = t.pa;
        } else {
            ++pa;
        }
        if (i == 0 || (pa & 7) == 0) {
            if (!reader.read_phys(pa & ~std::uint64_t(7), word))
                return i;
        }
        dst[i] = std::uint8_t(word >> (8 * (pa & 7)));
    }
    return n;
}

} // namespace vbh
