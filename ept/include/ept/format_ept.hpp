// Ept: Intel extended page tables (SDM vol. 3 §29.3.2, tables 29-1..29-6). An entry is
// present when any of R/W/X (bits 2:0) is set. W without R is a misconfiguration and
// X without R needs the execute-only capability (§29.3.3.1, IA32_VMX_EPT_VPID_CAP bit 0),
// so both are refused. Leaves carry the memory type in bits 5:3 (UC 0, WC 1, WT 4, WP 5,
// WB 6; 2, 3 and 7 are misconfigurations) and IPAT in bit 6 (§29.3.7.2).
#pragma once

#include <ept/attrs.hpp>
#include <vbh/field.hpp>
#include <ept/format.hpp>

#include <cstdint>

namespace vbh::ept {

namespace ept_bits {
using R = Bit<0>;
using W = Bit<1>;
using X = Bit<2>;
using Rwx = Field<2, 0>;
using Type = Field<5, 3>; // leaf only
using Ipat = Bit<6>;      // leaf only
using Ps = Bit<7>;        // PDE/PDPTE: maps a 2 MiB/1 GiB page
using A = Bit<8>;         // with EPTP bit 6 (A/D enable)
using D = Bit<9>;         // leaf only, with EPTP bit 6
using Addr = AddrField<51, 12>;
using SuppressVe = Bit<63>;

static_assert(disjoint(Rwx::mask, Type::mask, Ipat::mask, Ps::mask, A::mask, D::mask,
    Addr::mask, SuppressVe::mask));
} // namespace ept_bits

template <unsigned MaxLeaf = 2>
struct BasicEpt {
    static_assert(MaxLeaf <= 2, "EPT leaves are 4 KiB, 2 MiB or 1 GiB");
    static constexpr unsigned levels = 4;
    static constexpr unsigned max_leaf = MaxLeaf;
    static constexpr std::uint64_t pa_mask = ept_bits::Addr::mask;
    static constexpr std::uint64_t hw_bits = ept_bits::A::mask | ept_bits::D::mask;
    static constexpr Flush flush = Flush::invept;
    static constexpr bool flush_on_map = false;

    static constexpr bool encodable(Attrs a)
    {
        const bool type_ok = a.type == MemType::uc || a.type == MemType::wc ||
            a.type == MemType::wt || a.type == MemType::wp || a.type == MemType::wb;
        return allows(a.perm, Perm::r) && type_ok;
    }

    static constexpr Attrs canonical(Attrs a) { return Attrs{a.perm, a.type, false, false, a.ignore_pat}; }

    static constexpr std::uint64_t table(std::uint64_t pa, unsigned)
    {
        return ept_bits::Addr::addr(pa) | ept_bits::Rwx::make(7);
    }

    static constexpr std::uint64_t leaf(std::uint64_t pa, Attrs a, unsigned level)
    {
        std::uint64_t e = pa & pa_mask & ~(page_size(level) - 1);
        e |= ept_bits::Rwx::make(static_cast<std::uint64_t>(a.perm));
        e |= ept_bits::Type::make(static_cast<std::uint64_t>(a.type));
        e |= ept_bits::Ipat::make(a.ignore_pat);
        e |= level == 0 ? 0 : ept_bits::Ps::mask;
        return e;
    }

    static constexpr bool present(std::uint64_t e) { return ept_bits::Rwx::test(e); }

    static constexpr bool is_leaf(std::uint64_t e, unsigned level)
    {
        return present(e) && (level == 0 || (level <= MaxLeaf && ept_bits::Ps::test(e)));
    }

    static constexpr std::uint64_t address(std::uint64_t e, unsigned level)
    {
        return is_leaf(e, level) ? e & pa_mask & ~(page_size(level) - 1) : ept_bits::Addr::addr(e);
    }

    static constexpr Attrs attrs(std::uint64_t e, unsigned)
    {
        return Attrs{static_cast<Perm>(ept_bits::Rwx::get(e)),
            static_cast<MemType>(ept_bits::Type::get(e)), false, false, ept_bits::Ipat::test(e)};
    }
};

using Ept = BasicEpt<>;

static_assert(Format<Ept>);
// Table 29-3 (EPT PML4E): R/W/X = 7, address in 51:12.
static_assert(Ept::table(0xabc000, 3) == 0xabc007);
// Table 29-4 (1 GiB PDPTE): PS = bit 7, WB = 6 in bits 5:3, IPAT = bit 6.
static_assert(Ept::leaf(0x40000000, {Perm::rwx, MemType::wb, false, false, true}, 2) == 0x400000f7);
// Table 29-6 (4 KiB PTE): R only, UC = 0.
static_assert(Ept::leaf(0x1000, {Perm::r, MemType::uc}, 0) == 0x1001);
static_assert(Ept::attrs(0x400000f7, 2) == Attrs{Perm::rwx, MemType::wb, false, false, true});
static_assert(!Ept::encodable({Perm::w}) && !Ept::encodable({Perm::x}));
static_assert(!Ept::encodable({Perm::rw, MemType::uc_minus}));
static_assert(!Ept::present(0x1000) && Ept::present(0x4));

} // namespace vbh::ept
