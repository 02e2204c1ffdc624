// Privileged x86-64 instructions the hypervisor uses, as inline asm. Target only.
#pragma once

#include <vbh/msr.hpp>

#include <cstdint>

namespace vbh::arch {

struct CpuidRegs {
    std::uint32_t eax, ebx, ecx, edx;
};

inline CpuidRegs cpuid(std::uint32_t leaf, std::uint32_t sub = 0) {
    CpuidRegs r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
    return r;
}

inline std::uint64_t rdmsr(std::uint32_t msr) {
    std::uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (std::uint64_t(hi) << 32) | lo;
}

inline void wrmsr(std::uint32_t msr, std::uint64_t v) {
    asm volatile("wrmsr" ::"c"(msr), "a"(std::uint32_t(v)), "d"(std::uint32_t(v >> 32)) : "memory");
}

#define VBH_CR_ACCESSORS(n)                                                                  \
    inline std::uint64_t read_cr##n() {                                                     \
        std::uint64_t v;                                                                     \
        asm volatile("mov %%cr" #n ", %0" : "=r"(v));                                        \
        return v;                                                                            \
    }                                                                                        \
    inline void write_cr##n(std::uint64_t v) { asm volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
VBH_CR_ACCESSORS(0)
VBH_CR_ACCESSORS(2)
VBH_CR_ACCESSORS(3)
VBH_CR_ACCESSORS(4)
#undef VBH_CR_ACCESSORS

inline std::uint64_t read_dr6() {
    std::uint64_t v;
    asm volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}
inline std::uint64_t read_dr7() {
    std::uint64_t v;
    asm volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}

inline std::uint64_t read_rflags() {
    std::uint64_t v;
    asm volatile("pushfq; popq %0" : "=r"(v));
    return v;
}

#define VBH_SEG_READ(s)                                                                      \
    inline std::uint16_t read_##s() {                                                        \
        std::uint16_t v;                                                                     \
        asm volatile("mov %%" #s ", %0" : "=r"(v));                                          \
        return v;                                                                            \
    }
VBH_SEG_READ(cs)
VBH_SEG_READ(ss)
VBH_SEG_READ(ds)
VBH_SEG_READ(es)
VBH_SEG_READ(fs)
VBH_SEG_READ(gs)
#undef VBH_SEG_READ

inline void pause() { asm volatile("pause" ::: "memory"); }

[[noreturn]] inline void halt_forever() {
    for (;;)
        asm volatile("cli; hlt" ::: "memory");
}

inline void outb(std::uint16_t port, std::uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
inline std::uint8_t inb(std::uint16_t port) {
    std::uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
// An IN/OUT of 1, 2 or 4 bytes as the host asked for it (exit_io.hpp).
inline std::uint32_t in_sized(std::uint16_t port, std::uint8_t size) {
    std::uint32_t v = 0;
    if (size == 1)
        asm volatile("inb %w1, %b0" : "+a"(v) : "Nd"(port));
    else if (size == 2)
        asm volatile("inw %w1, %w0" : "+a"(v) : "Nd"(port));
    else
        asm volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline void out_sized(std::uint16_t port, std::uint8_t size, std::uint32_t v) {
    if (size == 1)
        asm volatile("outb %b0, %w1" ::"a"(v), "Nd"(port));
    else if (size == 2)
        asm volatile("outw %w0, %w1" ::"a"(v), "Nd"(port));
    else
        asm volatile("outl %0, %w1" ::"a"(v), "Nd"(port));
}

inline std::uint64_t rdtsc() {
    std::uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (std::uint64_t(hi) << 32) | lo;
}


} // namespace vbh::arch
