// Per-CPU hypervisor state: one CpuBlock per CPU the boot record allows, in hypervisor
// memory, virtually contiguous (HypFrames::alloc_virt). The guard page is left out of
// the hypervisor's page tables: a stack overflow faults (#PF -> #DF on its own IST
// stack) instead of overwriting the IST stacks.
#pragma once

#include <vbh/arch/desc.hpp>
#include <vbh/arch/kernel_state.hpp>
#include <vbh/boot.h>
#include <vbh/image/backend.hpp>
#include <vbh/image/memory.hpp>
#include <vbh/image/percpu_offsets.h>
#include <vbh/kick_count.hpp>
#include <vbh/stats.h>
#include <vbh/vcpu.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::image {

// What a failed first VMRUN puts back, and where it returns to.
struct LaunchSave {
    std::uint64_t linux_rsp; // at the launch entry, after pushing callee-saved registers
    arch::KernelState kernel;
};

// Selectors of the hypervisor's GDT.
inline constexpr std::uint16_t sel_code = 0x08;
inline constexpr std::uint16_t sel_data = 0x10;
inline constexpr std::uint16_t sel_tss = 0x18;

struct CpuBlock;

struct PerCpu {
    VcpuState vcpu; // first: the entry assembly addresses the GPRs at offset 0
    PerCpu* self;               // %gs:self_offset in the hypervisor (this_cpu())
    std::uint64_t nmis_in_host; // NMIs taken on the hypervisor IDT (isr.S)
    std::uint32_t cpu;
    std::uint32_t apic_id;
    CpuBlock* block;
    Backend::Cpu hw;            // the vendor's control blocks
    std::uint64_t host_cr3;     // the hypervisor's own page tables
    arch::DescPtr gdtr;
    arch::DescPtr idtr;
    LaunchSave save;
    vbh_guest_entry entry;

    // Cross-CPU invalidation (docs/launch.md): in_guest is 1 from just before VMRUN
    // to just after #VMEXIT; seen_gen is the NPT generation this CPU last flushed for.
    std::uint32_t in_guest;
    KickCount kick;             // kick NMIs sent and not yet taken (kick_count.hpp)
    std::uint32_t host_writing; // writing hypercall output into a host frame
    std::uint64_t seen_gen;

    vbh_cpu_stats stats;
    // Time in the hypervisor per exit: vbh_vmrun stores the TSC before VMRUN
    // (tsc[0]) and after #VMEXIT (tsc[1]); the loop's ExitClock (exit_cycles.hpp)
    // charges each exit into the histogram, which has a page of its own.
    std::uint64_t tsc[2];
    vbh_cpu_cycles* cycles;
    alignas(16) std::uint64_t gdt[6];
    alignas(16) arch::Tss64 tss;
};

static_assert(offsetof(PerCpu, vcpu) == 0);
static_assert(sizeof(PerCpu) <= page);

// Offsets the assembly uses (isr.S, this_cpu()): keep both in step.
static_assert(offsetof(PerCpu, self) == VBH_PERCPU_SELF);
static_assert(offsetof(PerCpu, nmis_in_host) == VBH_PERCPU_NMIS);

struct alignas(4096) Page {
    std::uint8_t bytes[page];
};

inline constexpr std::uint64_t stack_pages = 4;

struct CpuBlock {
    Page guard;
    Page stack[stack_pages];
    Page ist_nmi, ist_df, ist_mc; // IST stacks 1..3, one page each
    alignas(page) PerCpu cpu;
    alignas(page) Backend::Pages hw;

    std::uint64_t stack_top() { return reinterpret_cast<std::uint64_t>(&stack[stack_pages]); }
    // Top of an IST stack, 16-byte aligned below the page end (the CPU aligns RSP
    // down to 16 bytes before it pushes the interrupt frame, AMD APM vol. 2 §8.9.3).
    static std::uint64_t top(Page& p) { return reinterpret_cast<std::uint64_t>(&p + 1) - 16; }
};

inline constexpr std::uint64_t cpu_block_pages = sizeof(CpuBlock) / page;
static_assert(sizeof(CpuBlock) % page == 0);

} // namespace vbh::image
