// The secret stage's byte stream on the VMM's side: xorshift64*, the twin of
// payload_stream.S (which the hosted tests run against this). The VMM and a test that
// scans memory for the secret need only the seed: the stream is a function of it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace vmm {

class Stream {
public:
    explicit constexpr Stream(std::uint64_t seed) : state_{seed} {}
    constexpr std::uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1Dull;
    }

private:
    std::uint64_t state_;
};

// Qword i (from 0) of the stream of `seed`.
constexpr std::uint64_t stream_qword(std::uint64_t seed, std::uint64_t i) {
    Stream s{seed};
    std::uint64_t v = s.next();
    while (i-- > 0) v = s.next();
    return v;
}

// The stream's first out.size() / 8 qwords into `out` (little endian, as the guest
// stores them).
inline void stream_fill(std::span<std::uint8_t> out, std::uint64_t seed) {
    Stream s{seed};
    for (std::size_t at = 0; at + 8 <= out.size(); at += 8) {
        const std::uint64_t v = s.next();
        std::memcpy(out.data() + at, &v, 8);
    }
}

// Bytes of `in` (whole qwords) unlike the stream's.
inline std::uint64_t stream_diff(std::span<const std::uint8_t> in, std::uint64_t seed) {
    Stream s{seed};
    std::uint64_t differ = 0;
    for (std::size_t at = 0; at + 8 <= in.size(); at += 8) {
        std::uint64_t v;
        std::memcpy(&v, in.data() + at, 8);
        v ^= s.next();
        for (int b = 0; b < 8; ++b, v >>= 8) differ += (v & 0xFF) != 0;
    }
    return differ;
}

// Qwords of `in` equal to the stream's qword at the same place.
inline std::uint64_t stream_same_qwords(std::span<const std::uint8_t> in, std::uint64_t seed) {
    Stream s{seed};
    std::uint64_t same = 0;
    for (std::size_t at = 0; at + 8 <= in.size(); at += 8) {
        std::uint64_t v;
        std::memcpy(&v, in.data() + at, 8);
        same += v == s.next();
    }
    return same;
}

} // namespace vmm
