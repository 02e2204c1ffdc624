// Late launch on one CPU, the vendor-neutral half: capture the running kernel, let
// the backend build the host's control block from it, then move this CPU onto the
// hypervisor's own GDT/TSS/IDT/page tables/stack and enter the VMRUN loop.
#include <vbh/arch/apic.hpp>
#include <vbh/arch/serial.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/nospec.hpp>

#include <cstring>

extern "C" [[noreturn]] void vbh_enter_hyp(vbh::image::PerCpu* pc, const vbh::arch::DescPtr* gdtr,
                                          const vbh::arch::DescPtr* idtr, std::uint64_t cr3,
                                          std::uint64_t stack_top);

namespace vbh::image {

[[noreturn]] void vcpu_loop(PerCpu* pc);

// The hypervisor's GDT: null, 64-bit code, data, 64-bit TSS (16 bytes). Rebuilt at
// every launch so that LTR finds the TSS available, not busy.
static void build_gdt(PerCpu* pc) {
    std::memset(&pc->tss, 0, sizeof pc->tss);
    pc->tss.ist[0] = CpuBlock::top(pc->block->ist_nmi);
    pc->tss.ist[1] = CpuBlock::top(pc->block->ist_df);
    pc->tss.ist[2] = CpuBlock::top(pc->block->ist_mc);
    pc->tss.iopb = sizeof(arch::Tss64);
    const auto tss = reinterpret_cast<std::uint64_t>(&pc->tss);
    pc->gdt[0] = 0;
    pc->gdt[1] = arch::SegDesc::make(0, 0xfffff, arch::access_code64, arch::flags_long);
    pc->gdt[2] = arch::SegDesc::make(0, 0xfffff, arch::access_data, arch::flags_data);
    pc->gdt[3] = arch::SegDesc::make(tss, sizeof(arch::Tss64) - 1, arch::access_tss, 0);
    pc->gdt[4] = tss >> 32;
    pc->gdt[5] = 0;
    pc->gdtr = arch::DescPtr{sizeof pc->gdt - 1, reinterpret_cast<std::uint64_t>(pc->gdt)};
    pc->idtr = arch::DescPtr{sizeof g.idt - 1, reinterpret_cast<std::uint64_t>(g.idt)};
}

static void reset_cpu_state(PerCpu* pc, const vbh_guest_entry& e) {
    std::memset(&pc->vcpu, 0, sizeof pc->vcpu);
    pc->vcpu.cpu = pc->cpu;
    pc->entry = e;
    pc->kick.reset();
    __atomic_store_n(&pc->in_guest, 0, __ATOMIC_SEQ_CST);
    pc->seen_gen = __atomic_load_n(&g.npt_gen, __ATOMIC_SEQ_CST);
    pc->stats.version = VBH_STATS_VERSION;
    pc->stats.cpu = pc->cpu;
}

Status launch(std::uint32_t cpu, const vbh_guest_entry* entry, std::uint64_t linux_rsp) {
    if (!__atomic_load_n(&g.initialized, __ATOMIC_ACQUIRE))
        return Status::state;
    if (cpu >= g.br.nr_cpus || entry == nullptr)
        return Status::invalid;
    // The APIC the hypervisor kicks through was captured at init: a CPU whose
    // IA32_APIC_BASE differs (moved, other mode, disabled) is not launched.
    if (!(arch::LocalApic::capture() == g.apic))
        return Status::state;
    PerCpu* pc = g.cpus[index_nospec(cpu, g.br.nr_cpus)]; // the loader's number
    // No "already launched" refusal: this code runs from hypervisor memory, which the
    // host NPT does not map, so a CPU executing it is in host mode. A CPU whose guest
    // was reset by INIT (offline/online) is launched afresh; its stale in_guest flag
    // is cleared so cross-CPU flushes stop waiting for it.
    const vbh_guest_entry e = *entry;
    reset_cpu_state(pc, e);
    pc->save.linux_rsp = linux_rsp;
    pc->save.kernel = arch::capture_kernel_state();
    if (const Status s = Backend::prepare(pc->hw, pc->save.kernel, e, g.npt->table().root(), cpu);
        s != Status::ok)
        return s;
    // From here on the CPU changes; a failure goes through launch_failed() (loop.cpp).
    Backend::enable(pc->hw, pc->save.kernel);
    build_gdt(pc);
    __atomic_store_n(&pc->stats.launched, 1, __ATOMIC_RELEASE);
    vbh_enter_hyp(pc, &pc->gdtr, &pc->idtr, pc->host_cr3, pc->block->stack_top());
}

} // namespace vbh::image

// First C++ on the hypervisor's stack, CR3, GDT and IDT (vbh_enter_hyp).
extern "C" [[noreturn]] void vbh_vcpu_start(vbh::image::PerCpu* pc) {
    using namespace vbh;
    arch::wrmsr(msr_gs_base, reinterpret_cast<std::uint64_t>(pc));
    image::Backend::start(pc->hw);
    // The xAPIC page is reachable only through our direct map (VA = PA, UC).
    pc->apic_id = arch::LocalApic::id(image::g.apic);
    pc->stats.apic_id = pc->apic_id;
    image::g.log.record(VBH_LOG_LAUNCH, pc->cpu, 0, pc->entry.rip, pc->apic_id);
    arch::Serial::puts("vbh-hyp: cpu ");
    arch::Serial::dec(pc->cpu);
    arch::Serial::puts(" entering guest\n");
    image::vcpu_loop(pc);
}
