// HypEnv: what the vendor-neutral exit dispatcher (vbh/exit.hpp) gets from the
// hypervisor on target: the core's hypercall dispatcher, the backend's MSR rules,
// ownership lookups, the host NPT, kicks, the log and the per-CPU counters.
#pragma once

#include <vbh/exit.hpp>
#include <vbh/arch/cpu.hpp>
#include <vbh/image/hyp.hpp>
#include <vbh/nospec.hpp>

namespace vbh::image {

struct HypEnv {
    // A destroyed domain's protected vCPU records go with it (pstate_run.hpp).
    HypercallOut core_hypercall(VcpuState& v, const HypercallRegs& r) {
        const HypercallOut out = g.core->dispatch(r, Cpl{v.cpl});
        if (r.rax == VBH_HC_DOMAIN_DESTROY && out.status == Status::ok) [[unlikely]]
            Backend::forget_domain(r.rdi);
        return out;
    }
    MsrResult rdmsr(const VcpuState& v, std::uint32_t msr) { return Backend::rdmsr(*hw_, v, msr); }
    MsrResult wrmsr(VcpuState& v, std::uint32_t msr, std::uint64_t x) {
        return Backend::wrmsr(*hw_, v, msr, x);
    }
    // The host's SVM instructions: VMLOAD/VMSAVE reach host pages through host_page().
    [[gnu::always_inline]] ExitAction virt_insn(VcpuState& v, const Exit& x) {
        return Backend::virt_insn(*hw_, v, x, *this);
    }
    explicit HypEnv(PerCpu* pc) : pc_{pc}, hw_{&pc->hw} {}

    // A page of host RAM the hypervisor may read or write for the host (VMLOAD/VMSAVE):
    // RAM the host owns (never hypervisor, donated or lent memory, never MMIO:
    // docs/threats.md #2), mapped in the host NPT right now; VBH_E_RANGE if not RAM,
    // VBH_E_STATE if not the host's. Reached through the direct map. host_writing is
    // set first and cleared by host_frame_done(): a concurrent donate unmaps the frame,
    // then its cross-CPU flush waits for host_writing == 0, so either we see the frame
    // unmapped or the donate waits for our access (a Dekker pair like in_guest /
    // npt_gen). Every call is followed by host_frame_done(), success or not.
    Result<void*> host_page(std::uint64_t pfn) {
        __atomic_store_n(&pc_->host_writing, 1, __ATOMIC_SEQ_CST);
        if (pfn >= (1ull << (64 - 12)) || !host_accessible(Pfn{pfn}.phys()))
            return unexpected(g.core->frames().at(Pfn{pfn}).owner() == Owner::none
                                  ? Status::range : Status::state);
        const FrameMeta m = g.core->frames().at(Pfn{pfn});
        if (m.owner() == Owner::none)
            return unexpected(Status::range);
        if (m.owner() != Owner::host)
            return unexpected(Status::state);
        return reinterpret_cast<void*>(Pfn{pfn}.phys());
    }
    // A frame the host may receive hypercall output in: a host_page() that is also one
    // of the loader's output frames named in the boot record (held in hypervisor memory
    // since init), else VBH_E_DENIED, so that no caller, root through /dev/vbh included,
    // can have the hypervisor write any other host frame.
    Result<void*> host_frame(std::uint64_t pfn) {
        Result<void*> p = host_page(pfn);
        if (p && pfn - g.br.out_pfn >= g.br.out_count)
            return unexpected(Status::denied);
        return p;
    }
    void host_frame_done() { __atomic_store_n(&pc_->host_writing, 0, __ATOMIC_SEQ_CST); }
    // The shadow NPT's view of protected guests (nested_shadow.hpp, ShadowHostEnv).
    std::uint16_t root_domain(std::uint64_t root) { return g.core->root_domain(root).value; }
    bool private_frame(std::uint64_t pfn, std::uint64_t gfn, std::uint16_t dom) {
        return g.core->private_at(Pfn{pfn}, gfn, DomainId{dom});
    }
    auto& pstates() { return Backend::protected_vcpus(); }
    bool host_accessible(std::uint64_t gpa) {
        return g.npt->table().translates(gpa & ~0xfffull);
    }
    bool take_kick(std::uint32_t cpu) {
        // One NMI exit takes one recent kick (CrossCpuFlush counts the kicks it sends).
        return g.cpus[cpu]->kick.take(arch::rdtsc());
    }
    // Every use of the log (a reader, or an exit about to record) first moves the
    // IOMMU's fault records into it: the units' interrupt stays masked (iommu.hpp).
    EventLog& log() {
        iommu_drain();
        return g.log;
    }
    void flush_caches() { Backend::flush_caches(); }
    // cpu comes from the host in STATS_READ/CYCLES_READ: masked (nospec.hpp). The
    // backend's gauges (state held now, not counted) are filled in from that CPU's
    // state first; it never writes them itself.
    vbh_cpu_stats* stats(std::uint32_t cpu) {
        if (cpu >= g.br.nr_cpus)
            return nullptr;
        PerCpu* pc = g.cpus[index_nospec(cpu, g.br.nr_cpus)];
        Backend::gauges(pc->hw, pc->stats);
        return &pc->stats;
    }
    // v is this CPU's own vCPU (pc_->vcpu): its counters are at hand, no lookup.
    vbh_cpu_stats& own_stats(const VcpuState&) { return pc_->stats; }
    vbh_cpu_cycles* cycles(std::uint32_t cpu) {
        return cpu < g.br.nr_cpus ? g.cpus[index_nospec(cpu, g.br.nr_cpus)]->cycles : nullptr;
    }
    std::uint32_t nr_cpus() { return g.br.nr_cpus; }
    // Sealing takes the IOMMU units (iommu_own): the seal fails, and the loader rolls
    // the launch back, if one cannot be owned.
    bool try_seal() {
        if (__atomic_load_n(&g.sealed, __ATOMIC_SEQ_CST) || iommu_own() != Status::ok)
            return false;
        return __atomic_exchange_n(&g.sealed, 1, __ATOMIC_SEQ_CST) == 0;
    }
    bool sealed() { return __atomic_load_n(&g.sealed, __ATOMIC_ACQUIRE) != 0; }
    const PlatformPorts& ports() { return g.ports; }
    IoState& io_state() { return g.io; }
    std::uint32_t io_in(std::uint16_t port, std::uint8_t size) { return arch::in_sized(port, size); }
    void io_out(std::uint16_t port, std::uint8_t size, std::uint32_t v) {
        arch::out_sized(port, size, v);
    }

private:
    PerCpu* pc_;
    Backend::Cpu* hw_; // &pc_->hw, kept: the backend's calls need no address arithmetic
};

static_assert(ExitEnv<HypEnv>);

} // namespace vbh::image
