// The MSR permission map (AMD APM vol. 2 §15.11, figure 15-5): 2 bits per MSR (read,
// write) for three ranges of 8K MSRs; a set bit intercepts. Built from the policy
// table (msr_policy.hpp): every write bit set (default-deny), then each row's
// native writes cleared and emulated reads set. MSRs outside the three ranges always
// exit (exit_msr.hpp).
#include <vbh/svm/msr_policy.hpp>

#include <cstdint>

namespace vbh::svm {

namespace {

// Bit offset of an MSR's read-intercept bit in the map (its write bit is the next
// one), or -1 outside the three ranges.
std::int64_t msrpm_bit(std::uint32_t msr) {
    struct Range { std::uint32_t first; std::uint32_t byte; };
    constexpr Range ranges[] = {{0x00000000, 0x000}, {0xc0000000, 0x800}, {0xc0010000, 0x1000}};
    for (const Range& r : ranges)
        if (msr >= r.first && msr - r.first < 0x2000)
            return std::int64_t(r.byte) * 8 + std::int64_t(msr - r.first) * 2;
    return -1;
}

void set_bit(std::uint8_t* map, std::int64_t bit, bool on) {
    const auto mask = std::uint8_t(1u << (bit % 8));
    if (on)
        map[bit / 8] |= mask;
    else
        map[bit / 8] &= std::uint8_t(~mask);
}

} // namespace

// The three ranges cover bytes 0..17FFh; 1800h..1FFFh is reserved (stays 0).
inline constexpr std::uint32_t msrpm_range_bytes = 0x1800;

void build_msrpm(std::uint8_t* map) {
    for (std::uint32_t i = 0; i < msrpm_range_bytes; ++i)
        map[i] = 0xaa; // the write bit (odd) of every MSR
    for (const MsrRule& r : msr_rules) {
        for (std::uint64_t msr = r.first; msr <= r.last; ++msr) {
            const std::int64_t bit = msrpm_bit(std::uint32_t(msr));
            if (bit < 0)
                continue;
            set_bit(map, bit, r.read == MsrRead::emulate);
            set_bit(map, bit + 1, r.write != MsrWrite::native);
        }
    }
}

} // namespace vbh::svm
