// Field<hi, lo>: a named bit range of a 64-bit hardware word, in the manual's bit order.
// Entries stay plain integers (read and written whole, atomically); a Field only makes
// masks. C bitfields are never used on live entries: their read-modify-write is neither
// atomic nor in a defined bit order.
#pragma once

#include <cstdint>

namespace vbh::ept {

template <unsigned Hi, unsigned Lo>
struct Field {
    static_assert(Hi >= Lo && Hi < 64, "Field<hi, lo> needs 63 >= hi >= lo");

    static constexpr unsigned hi = Hi;
    static constexpr unsigned lo = Lo;
    static constexpr unsigned width = Hi - Lo + 1;
    static constexpr std::uint64_t max = width == 64 ? ~0ull : (1ull << width) - 1;
    static constexpr std::uint64_t mask = max << Lo;

    static constexpr std::uint64_t get(std::uint64_t raw) { return (raw & mask) >> Lo; }
    static constexpr bool fits(std::uint64_t v) { return v <= max; }
    static constexpr std::uint64_t make(std::uint64_t v) { return (v << Lo) & mask; }
    static constexpr std::uint64_t set(std::uint64_t raw, std::uint64_t v)
    {
        return (raw & ~mask) | make(v);
    }
    static constexpr bool test(std::uint64_t raw) { return (raw & mask) != 0; }
};

template <unsigned B>
using Bit = Field<B, B>;

// A physical-address field keeps its bits in place: value = raw & mask.
template <unsigned Hi, unsigned Lo>
struct AddrField : Field<Hi, Lo> {
    static constexpr std::uint64_t addr(std::uint64_t raw) { return raw & Field<Hi, Lo>::mask; }
    static constexpr bool aligned(std::uint64_t pa) { return (pa & ~Field<Hi, Lo>::mask) == 0; }
};

// True when no two of the masks share a bit: used to check a format's field list.
constexpr bool disjoint(std::uint64_t a) { return (void)a, true; }
template <class... Rest>
constexpr bool disjoint(std::uint64_t a, std::uint64_t b, Rest... rest)
{
    return (a & b) == 0 && disjoint(a | b, rest...);
}

} // namespace vbh::ept
