// Cross-CPU invalidation after a host NPT edit (docs/launch.md,
// "Cross-CPU invalidation"; docs/threats.md #5).
#include <vbh/arch/apic.hpp>
#include <vbh/image/hyp.hpp>

namespace vbh::image {

// Every CPU that may hold a translation of the old table either takes an exit (NMI
// kick) and flushes before its next VMRUN (TLB_CONTROL, see vcpu_loop), or is in the
// hypervisor and will flush before its next VMRUN because its seen_gen is behind.
// A CPU writing hypercall output into a host frame (host_writing, see env.hpp)
// is waited for too: it either saw the frame already unmapped or finishes first.
// in_guest / npt_gen are a Dekker pair (seq_cst on both sides): a CPU that enters the
// guest after we read in_guest == 0 is certain to see the new generation.
void CrossCpuFlush::operator()() const {
    const std::uint64_t gen = __atomic_add_fetch(&g.npt_gen, 1, __ATOMIC_SEQ_CST);
    PerCpu* me = this_cpu();
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i) {
        PerCpu* c = g.cpus[i];
        if (c == me || !__atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST))
            continue;
        __atomic_store_n(&c->kick_pending, 1, __ATOMIC_SEQ_CST);
        arch::LocalApic::send_nmi(g.apic, c->apic_id);
        ++me->stats.kicks_sent;
    }
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i) {
        PerCpu* c = g.cpus[i];
        if (c == me)
            continue;
        while ((__atomic_load_n(&c->in_guest, __ATOMIC_SEQ_CST) &&
                __atomic_load_n(&c->seen_gen, __ATOMIC_SEQ_CST) < gen) ||
               __atomic_load_n(&c->host_writing, __ATOMIC_SEQ_CST))
            arch::pause();
    }
}

} // namespace vbh::image
