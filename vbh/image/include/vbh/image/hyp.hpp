// The hypervisor's global state, in its .bss. Built once by init() on one CPU; after
// that, shared read-mostly by every CPU (NPT edits go through the core's lock).
#pragma once

#include <ept/ept.hpp>
#include <vbh/arch/apic.hpp>
#include <vbh/core.hpp>
#include <vbh/exit_log.hpp>
#include <vbh/image/lazy.hpp>
#include <vbh/image/memory.hpp>
#include <vbh/image/percpu.hpp>
#include <vbh/image/stage2.hpp>

#include <cstdint>

namespace vbh::image {

// The direct map: RAM frames at VA = PA in the hypervisor's lower half, NX; how the
// core reaches guest frames (FrameMemory).
struct DirectMap {
    std::uint64_t* words(Pfn p) { return reinterpret_cast<std::uint64_t*>(p.phys()); }
};

using HypTable = ept::Table<ept::Hpt, HypFrames>;
using CoreT = Core<HostNpt, DirectMap>;

struct Hyp {
    vbh_boot_record br{};
    HypMemory mem{};
    HypFrames frames{};
    Lazy<HypTable> hpt{};
    Lazy<NptTable> npt_table{};
    Lazy<HostNpt> npt{};
    DirectMap direct{};
    Lazy<CoreT> core{};
    EventLog log{};
    PerCpu* cpus[VBH_MAX_CPUS]{};
    std::uint32_t sealed{};
    std::uint32_t initialized{};
    std::uint64_t npt_gen{};      // bumped after every host NPT edit
    PlatformPorts ports{};        // trapped reset/sleep ports, from br at init
    IoState io{};                 // their emulation (exit_io.hpp)
    std::uint32_t resetting{};    // a platform reset is scrubbing (reset.cpp)
    std::uint32_t parked{};       // CPUs that stopped for it
    arch::LocalApic::Mode apic{}; // IA32_APIC_BASE at init; every launch must match
    alignas(16) arch::IdtGate idt[32]{};
};

extern Hyp g;

// Bytes of System RAM in the boot record (the split reserves scale with it, boot.h).
inline std::uint64_t ram_bytes(const vbh_boot_record& br) {
    std::uint64_t n = 0;
    for (std::uint32_t i = 0; i < br.nr_ram_ranges; ++i)
        n += br.ram_ranges[i].size;
    return n;
}

inline PerCpu* this_cpu() {
    PerCpu* p;
    asm volatile("mov %%gs:%c1, %0" : "=r"(p) : "i"(VBH_PERCPU_SELF));
    return p;
}

// Diagnostics on COM1 then halt this CPU for good (GIF = 0: nothing wakes it).
// A reset/power-off port write: scrub, then perform it (reset.cpp).
[[noreturn]] void platform_reset(PerCpu* pc, const Exit& x);

[[noreturn]] void fatal(const char* what, std::uint64_t a = 0, std::uint64_t b = 0);

} // namespace vbh::image
