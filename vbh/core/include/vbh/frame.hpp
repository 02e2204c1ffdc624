// Physical frames: page frame numbers and ranges of 4 KiB frames.
#pragma once

#include <vbh/result.hpp>

#include <cstdint>

namespace vbh {

inline constexpr unsigned frame_shift = 12;
inline constexpr std::uint64_t frame_bytes = std::uint64_t(1) << frame_shift;

struct Pfn {
    std::uint64_t value;

    constexpr std::uint64_t phys() const { return value << frame_shift; }
    constexpr Pfn next(std::uint64_t n = 1) const { return Pfn{value + n}; }
    constexpr bool operator==(const Pfn&) const = default;
    constexpr auto operator<=>(const Pfn&) const = default;
};

// [first, first + count). A FrameRange that exists never wraps: make_range checks it.
struct FrameRange {
    Pfn first;
    std::uint64_t count;

    constexpr std::uint64_t end() const { return first.value + count; }
    constexpr bool contains(Pfn p) const { return p.value >= first.value && p.value < end(); }
    constexpr bool overlaps(FrameRange o) const {
        return first.value < o.end() && o.first.value < end();
    }
    constexpr std::uint64_t bytes() const { return count << frame_shift; }
    constexpr bool operator==(const FrameRange&) const = default;
};

// A range from hypercall registers: zero count is malformed, pfn + count must not wrap.
constexpr Result<FrameRange> make_range(std::uint64_t pfn, std::uint64_t count) {
    if (count == 0)
        return unexpected(Status::invalid);
    if (pfn + count < pfn)
        return unexpected(Status::overflow);
    return FrameRange{Pfn{pfn}, count};
}

} // namespace vbh
