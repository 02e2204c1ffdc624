// SvmEnv: what the vendor-neutral exit dispatcher (vbh/exit.hpp) gets from the
// hypervisor on target: the core's hypercall dispatcher, ownership lookups, the
// host NPT, kicks, the log and the per-CPU counters.
#pragma once

#include <vbh/exit.hpp>
#include <vbh/image/hyp.hpp>

namespace vbh::svm {

struct SvmEnv {
    HypercallOut core_hypercall(VcpuState& v, const HypercallRegs& r) {
        return image::g.core->dispatch(r, Cpl{v.cpl});
    }
    explicit SvmEnv(image::PerCpu* pc) : pc_{pc} {}

    // A frame the host may receive output in: RAM the host owns (never hypervisor,
    // donated or lent memory: threats.md #2), mapped in the host NPT right now.
    // Reached through the direct map. host_writing is set first and cleared by
    // host_frame_done(): a concurrent donate unmaps the frame, then its cross-CPU
    // flush waits for host_writing == 0, so either we see the frame unmapped or the
    // donate waits for our write (a Dekker pair like in_guest / npt_gen).
    Result<void*> host_frame(std::uint64_t pfn) {
        __atomic_store_n(&pc_->host_writing, 1, __ATOMIC_SEQ_CST);
        if (pfn >= (1ull << (64 - 12)) || !host_accessible(Pfn{pfn}.phys()))
            return unexpected(image::g.core->frames().at(Pfn{pfn}).owner() == Owner::none
                                  ? Status::range : Status::state);
        const FrameMeta m = image::g.core->frames().at(Pfn{pfn});
        if (m.owner() == Owner::none)
            return unexpected(Status::range);
        if (m.owner() != Owner::host)
            return unexpected(Status::state);
        return reinterpret_cast<void*>(Pfn{pfn}.phys());
    }
    void host_frame_done() { __atomic_store_n(&pc_->host_writing, 0, __ATOMIC_SEQ_CST); }
    bool host_accessible(std::uint64_t gpa) {
        return image::g.npt->table().lookup(gpa & ~0xfffull).has_value();
    }
    bool take_kick(std::uint32_t cpu) {
        return __atomic_exchange_n(&image::g.cpus[cpu]->kick_pending, 0, __ATOMIC_SEQ_CST) != 0;
    }
    EventLog& log() { return image::g.log; }
    vbh_cpu_stats* stats(std::uint32_t cpu) {
        return cpu < image::g.br.nr_cpus ? &image::g.cpus[cpu]->stats : nullptr;
    }
    vbh_cpu_cycles* cycles(std::uint32_t cpu) {
        return cpu < image::g.br.nr_cpus ? image::g.cpus[cpu]->cycles : nullptr;
    }
    std::uint32_t nr_cpus() { return image::g.br.nr_cpus; }
    bool try_seal() { return __atomic_exchange_n(&image::g.sealed, 1, __ATOMIC_SEQ_CST) == 0; }
    bool sealed() { return __atomic_load_n(&image::g.sealed, __ATOMIC_ACQUIRE) != 0; }

private:
    image::PerCpu* pc_;
};

static_assert(ExitEnv<SvmEnv>);

} // namespace vbh::svm
