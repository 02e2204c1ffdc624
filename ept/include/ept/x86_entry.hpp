// The x86-64 long-mode entry layout shared by the host page tables (Hpt) and AMD nested
// page tables (Npt): AMD APM vol. 2 §5.3.3 and §5.4.1 (figures 5-18..5-28), Intel SDM
// vol. 3 §4.5 (tables 4-14..4-20). The memory type is the PAT index PAT:PCD:PWT
// (APM §7.8.2, SDM §13.12.3), so a format fixes the IA32_PAT layout it is used with.
#pragma once

#include <ept/attrs.hpp>
#include <vbh/field.hpp>
#include <ept/format.hpp>

#include <cstdint>

namespace vbh::ept {

// An IA32_PAT layout: slot i holds the type selected by index i.
struct PatLayout {
    MemType slot[8];
};

// Power-on value of IA32_PAT (APM §7.8.2, SDM §13.12.4): WB WT UC- UC WB WT UC- UC.
inline constexpr PatLayout pat_reset = {{MemType::wb, MemType::wt, MemType::uc_minus,
    MemType::uc, MemType::wb, MemType::wt, MemType::uc_minus, MemType::uc}};
// What Linux programs (arch/x86/mm/pat/memtype.c): WB WC UC- UC WB WP UC- WT. Index 0 is
// WB and index 3 is UC in both layouts.
inline constexpr PatLayout pat_linux = {{MemType::wb, MemType::wc, MemType::uc_minus,
    MemType::uc, MemType::wb, MemType::wp, MemType::uc_minus, MemType::wt}};

namespace x86 {
using P = Bit<0>;
using Rw = Bit<1>;
using Us = Bit<2>;
using Pwt = Bit<3>;
using Pcd = Bit<4>;
using A = Bit<5>;
using D = Bit<6>;
using Ps = Bit<7>;      // PDE/PDPE: maps a 2 MiB/1 GiB page
using PatSmall = Bit<7>; // PTE: PAT index bit 2
using G = Bit<8>;
using PatLarge = Bit<12>; // 2 MiB/1 GiB leaf: PAT index bit 2
using Addr = AddrField<51, 12>;
using Nx = Bit<63>;     // honoured only with EFER.NXE = 1 (reserved otherwise)

static_assert(disjoint(P::mask, Rw::mask, Us::mask, Pwt::mask, Pcd::mask, A::mask, D::mask,
    Ps::mask, G::mask, Addr::mask, Nx::mask));
static_assert(PatLarge::mask & Addr::mask, "large-page PAT bit sits in the 4 KiB address");
} // namespace x86

// Nested: every entry has U/S = 1 because nested walks are user accesses (APM §15.25.5),
// and U/S and G are not caller choices.
template <bool Nested, unsigned MaxLeaf, PatLayout Pat>
struct X86Format {
    static_assert(MaxLeaf <= 2, "x86-64 leaves are 4 KiB, 2 MiB or 1 GiB");
    static constexpr unsigned levels = 4;
    static constexpr unsigned max_leaf = MaxLeaf;
    static constexpr std::uint64_t pa_mask = x86::Addr::mask;
    static constexpr std::uint64_t hw_bits = x86::A::mask | x86::D::mask;
    static constexpr Flush flush = Nested ? Flush::asid : Flush::invlpg;
    static constexpr bool flush_on_map = false;

    static constexpr int pat_index(MemType t)
    {
        for (int i = 0; i < 8; ++i)
            if (Pat.slot[i] == t) return i;
        return -1;
    }

    static constexpr bool encodable(Attrs a)
    {
        return allows(a.perm, Perm::r) && pat_index(a.type) >= 0;
    }

    static constexpr Attrs canonical(Attrs a)
    {
        return Attrs{a.perm, a.type, Nested ? false : a.user, Nested ? false : a.global, false};
    }

    static constexpr std::uint64_t table(std::uint64_t pa, unsigned)
    {
        return x86::Addr::addr(pa) | x86::P::mask | x86::Rw::mask | x86::Us::mask;
    }

    static constexpr std::uint64_t leaf(std::uint64_t pa, Attrs a, unsigned level)
    {
        const auto pat = static_cast<std::uint64_t>(pat_index(a.type));
        std::uint64_t e = pa & pa_mask & ~(page_size(level) - 1);
        e |= x86::P::mask | x86::Pwt::make(pat & 1) | x86::Pcd::make(pat >> 1 & 1);
        e |= level == 0 ? x86::PatSmall::make(pat >> 2) : x86::PatLarge::make(pat >> 2);
        e |= level == 0 ? 0 : x86::Ps::mask;
        e |= x86::Rw::make(allows(a.perm, Perm::w));
        e |= x86::Nx::make(!allows(a.perm, Perm::x));
        e |= x86::Us::make(Nested || a.user);
        e |= x86::G::make(!Nested && a.global);
        return e;
    }

    static constexpr bool present(std::uint64_t e) { return x86::P::test(e); }

    static constexpr bool is_leaf(std::uint64_t e, unsigned level)
    {
        return present(e) && (level == 0 || (level <= MaxLeaf && x86::Ps::test(e)));
    }

    static constexpr std::uint64_t address(std::uint64_t e, unsigned level)
    {
        return is_leaf(e, level) ? e & pa_mask & ~(page_size(level) - 1) : x86::Addr::addr(e);
    }

    static constexpr Attrs attrs(std::uint64_t e, unsigned level)
    {
        const auto big = level == 0 ? x86::PatSmall::get(e) : x86::PatLarge::get(e);
        const auto pat = x86::Pwt::get(e) | x86::Pcd::get(e) << 1 | big << 2;
        Perm p = present(e) ? Perm::r : Perm::none;
        if (x86::Rw::test(e)) p = p | Perm::w;
        if (!x86::Nx::test(e)) p = p | Perm::x;
        return canonical(
            Attrs{present(e) ? p : Perm::none, Pat.slot[pat], x86::Us::test(e), x86::G::test(e), false});
    }
};

} // namespace vbh::ept
