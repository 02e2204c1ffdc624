// FrameMemory: the platform seam through which the core reads and writes the contents
// of a frame (scrub on reclaim, the TEST_* calls, copying a hypercall's argument list
// in). On target: the hypervisor's own mapping of physical memory; hosted: a buffer.
#pragma once

#include <vbh/frame.hpp>

#include <concepts>
#include <cstdint>

namespace vbh {

inline constexpr std::uint64_t words_per_frame = frame_bytes / sizeof(std::uint64_t);

// words(p): the 512 64-bit words of frame p, writable by the hypervisor.
template <class T>
concept FrameMemory = requires(T& m, Pfn p) {
    { m.words(p) } -> std::same_as<std::uint64_t*>;
};

// Zero every frame of r. Bounded by memory bandwidth (tests/bench/ownership_bench.cpp).
// A memory that can do it more cheaply provides scrub(r) itself: the hypercall fuzzer's,
// which knows which of its frames are already zero (tests/fuzz/fuzz_machine.hpp).
template <FrameMemory M>
void scrub(M& mem, FrameRange r) {
    if constexpr (requires { mem.scrub(r); }) {
        mem.scrub(r);
    } else {
        for (std::uint64_t i = 0; i < r.count; ++i)
            __builtin_memset(mem.words(r.first.next(i)), 0, frame_bytes); // rep stosb in the image
    }
}

// A deterministic pattern from (seed, pfn, word): splitmix64's finaliser.
constexpr std::uint64_t fill_word(std::uint64_t seed, Pfn p, std::uint64_t k) {
    std::uint64_t z = seed + p.value * words_per_frame + k + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

template <FrameMemory M>
void fill(M& mem, FrameRange r, std::uint64_t seed) {
    for (std::uint64_t i = 0; i < r.count; ++i) {
        std::uint64_t* w = mem.words(r.first.next(i));
        for (std::uint64_t k = 0; k < words_per_frame; ++k)
            w[k] = fill_word(seed, r.first.next(i), k);
    }
}

inline constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ull;
inline constexpr std::uint64_t fnv_prime = 0x100000001b3ull;

// FNV-1a 64 over the bytes of r in address order (x86 is little-endian).
template <FrameMemory M>
std::uint64_t hash(M& mem, FrameRange r) {
    std::uint64_t h = fnv_offset;
    for (std::uint64_t i = 0; i < r.count; ++i) {
        const std::uint64_t* w = mem.words(r.first.next(i));
        for (std::uint64_t k = 0; k < words_per_frame; ++k)
            for (unsigned b = 0; b < 8; ++b)
                h = (h ^ ((w[k] >> (8 * b)) & 0xff)) * fnv_prime;
    }
    return h;
}

} // namespace vbh
