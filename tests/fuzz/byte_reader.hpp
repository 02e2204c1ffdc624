// ByteReader: turns a fuzzer input into values, yielding zeros once it runs dry.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vbh::fuzz {

class ByteReader {
public:
    ByteReader(const std::uint8_t* data, std::size_t size) : p_{data}, n_{size} {}

    bool empty() const { return n_ == 0; }
    std::uint8_t u8() {
        if (n_ == 0)
            return 0;
        --n_;
        return *p_++;
    }
    std::uint16_t u16() { return std::uint16_t(u8() | (u8() << 8)); }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= std::uint64_t(u8()) << (8 * i);
        return v;
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

} // namespace vbh::fuzz
