// Per-CPU hypervisor state, one block per CPU the boot record allows, in hypervisor
// memory. Layout of the block (contiguous virtual pages):
//   [guard][stack x4][IST NMI][IST #DF][IST #MC][PerCpu][guest VMCB][host VMCB][HSAVE]
// The guard page is left out of the hypervisor's page tables: a stack overflow faults
// (#PF -> #DF on its own IST stack) instead of overwriting the IST stacks.
#pragma once

#include <vbh/arch/desc.hpp>
#include <vbh/image/percpu_offsets.h>
#include <vbh/boot.h>
#include <vbh/exit_cycles.hpp>
#include <vbh/stats.h>
#include <vbh/svm/vmcb.hpp>
#include <vbh/vcpu.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::image {

inline constexpr std::uint64_t stack_pages = 4;
inline constexpr std::uint64_t ist_pages = 3; // NMI, #DF, #MC: one page each
inline constexpr std::uint64_t percpu_pages = 1 + stack_pages + ist_pages + 1 + 3;

// What launch() must put back if the first VMRUN fails (QEMU overwrites the VMCB save
// area with host state then: platform.md quirk 2), and what DEVIRT restores besides
// the guest VMCB.
struct LaunchSave {
    std::uint64_t linux_rsp; // at the launch entry, after pushing callee-saved registers
    std::uint64_t cr0, cr3, cr4, efer, hsave_msr, dr7, cr2;
    arch::DescPtr gdtr;
    arch::DescPtr idtr;
    std::uint16_t cs, ss, ds, es;
};

// Selectors of the hypervisor's GDT.
inline constexpr std::uint16_t sel_code = 0x08;
inline constexpr std::uint16_t sel_data = 0x10;
inline constexpr std::uint16_t sel_tss = 0x18;

struct PerCpu {
    VcpuState vcpu; // first: the entry assembly addresses the GPRs at offset 0
    PerCpu* self;               // %gs:self_offset in the hypervisor (this_cpu())
    std::uint64_t nmis_in_host; // NMIs taken on the hypervisor IDT (isr.S)
    std::uint32_t cpu;
    std::uint32_t apic_id;
    svm::Vmcb* vmcb;
    svm::Vmcb* host_vmcb;
    std::uint64_t vmcb_pa;
    std::uint64_t host_vmcb_pa;
    std::uint64_t hsave_pa;
    std::uint64_t stack_top;
    std::uint64_t host_cr3;
    arch::DescPtr gdtr;
    arch::DescPtr idtr;
    LaunchSave save;
    vbh_guest_entry entry;

    // Cross-CPU invalidation (docs/launch.md): in_guest is 1 from just before VMRUN
    // to just after #VMEXIT; seen_gen is the NPT generation this CPU last flushed for.
    std::uint32_t in_guest;
    std::uint32_t kick_pending;
    std::uint32_t host_writing; // writing hypercall output into a host frame
    std::uint64_t seen_gen;
    bool entered;        // a VMRUN of this launch succeeded

    vbh_cpu_stats stats;
    // Time in the hypervisor per exit: vbh_vmrun stores the TSC before VMRUN
    // (tsc[0]) and after #VMEXIT (tsc[1]); the histogram has a page of its own.
    std::uint64_t tsc[2];
    ExitClock clock;
    vbh_cpu_cycles* cycles;
    alignas(16) std::uint64_t gdt[6];
    alignas(16) arch::Tss64 tss;
};

static_assert(offsetof(PerCpu, vcpu) == 0);
static_assert(sizeof(PerCpu) <= 4096);

// Offsets the assembly uses (vbh/svm/src/vmrun.S): keep both in step.
static_assert(offsetof(PerCpu, self) == VBH_PERCPU_SELF);
static_assert(offsetof(PerCpu, nmis_in_host) == VBH_PERCPU_NMIS);

} // namespace vbh::image
