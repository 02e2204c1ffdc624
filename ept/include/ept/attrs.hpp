// What a mapping grants, independent of any table format. Each format encodes the subset it
// can express (see Format::canonical) and rejects what it cannot (Format::encodable).
#pragma once

#include <cstdint>

namespace vbh::ept {

// Access rights as bits; none means "no translation" (an unmapped page).
enum class Perm : std::uint8_t { none = 0, r = 1, w = 2, x = 4, rw = 3, rx = 5, rwx = 7 };

constexpr Perm operator|(Perm a, Perm b)
{
    return static_cast<Perm>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr Perm operator&(Perm a, Perm b)
{
    return static_cast<Perm>(static_cast<std::uint8_t>(a) & static_cast<std::uint8_t>(b));
}
constexpr bool allows(Perm p, Perm need) { return (p & need) == need; }

// Memory types in the IA32_PAT/MTRR/EPT encoding (Intel SDM vol. 3 §13.12.2 table 13-10,
// §29.3.7; AMD APM vol. 2 §7.8.1 table 7-10).
enum class MemType : std::uint8_t { uc = 0, wc = 1, wt = 4, wp = 5, wb = 6, uc_minus = 7 };

struct Attrs {
    Perm perm = Perm::rw;
    MemType type = MemType::wb;
    bool user = false;       // Hpt: U/S = 1 on the leaf. Other formats ignore it.
    bool global = false;     // Hpt: G on the leaf. Other formats ignore it.
    bool ignore_pat = false; // Ept/Vtd: IPAT on the leaf. Other formats ignore it.

    constexpr bool operator==(const Attrs&) const = default;
};

// One translation: [va, va + size) -> [pa, pa + size) with attrs; size is the page size.
struct Leaf {
    std::uint64_t va = 0;
    std::uint64_t pa = 0;
    std::uint64_t size = 0;
    Attrs attrs{};
    unsigned level = 0; // 0: 4 KiB, 1: 2 MiB, 2: 1 GiB

    constexpr bool operator==(const Leaf&) const = default;
};

} // namespace vbh::ept
