// A polled 16550 writer on COM1 (0x3F8) for launch-time and fatal diagnostics only:
// the hypervisor cannot printk. Linux owns the UART (it configured 115200 8N1); we
// only wait for THR empty and write, so our bytes interleave with the console's.
// Used before VBH_HC_LAUNCH_SEAL and on fatal errors, never on a normal exit path.
#pragma once

#include <vbh/arch/cpu.hpp>

#include <cstdint>

namespace vbh::arch {

class Serial {
public:
    static constexpr std::uint16_t com1 = 0x3f8;
    static constexpr std::uint8_t lsr_thre = 1u << 5;

    static void put(char c) {
        for (unsigned spins = 0; spins < 100000 && !(inb(com1 + 5) & lsr_thre); ++spins)
            pause();
        outb(com1, std::uint8_t(c));
    }
    static void puts(const char* s) {
        while (*s)
            put(*s++);
    }
    static void hex(std::uint64_t v) {
        puts("0x");
        for (int i = 60; i >= 0; i -= 4)
            put("0123456789abcdef"[(v >> i) & 0xf]);
    }
    static void dec(std::uint64_t v) {
        char buf[21];
        int n = 0;
        do {
            buf[n++] = char('0' + v % 10);
            v /= 10;
        } while (v);
        while (n)
            put(buf[--n]);
    }
};

} // namespace vbh::arch
