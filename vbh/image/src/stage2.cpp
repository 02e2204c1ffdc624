// Cross-CPU invalidation after a host NPT edit (docs/launch.md,
// "Cross-CPU invalidation" and "Bounded waits"; docs/threats.md #5).
#include <vbh/arch/apic.hpp>
#include <vbh/arch/cpu.hpp>
#include <vbh/flush_wait.hpp>
#include <vbh/image/hyp.hpp>

namespace vbh::image {

namespace {

// The CPUs' flags as the wait rule (vbh/flush_wait.hpp) reads them. in_guest /
// npt_gen are a Dekker pair (seq_cst on both sides): a CPU that enters the guest
// after we read in_guest == 0 is certain to see the new generation.
struct ImageFlushEnv {
    PerCpu* me;
    std::uint32_t nr_cpus() const { return g.br.nr_cpus; }
    bool is_self(std::uint32_t i) const { return g.cpus[i] == me; }
    bool in_guest(std::uint32_t i) const {
        return __atomic_load_n(&g.cpus[i]->in_guest, __ATOMIC_SEQ_CST) != 0;
    }
    std::uint64_t seen_gen(std::uint32_t i) const {
        return __atomic_load_n(&g.cpus[i]->seen_gen, __ATOMIC_SEQ_CST);
    }
    bool host_writing(std::uint32_t i) const {
        return __atomic_load_n(&g.cpus[i]->host_writing, __ATOMIC_SEQ_CST) != 0;
    }
    bool left_by_init(std::uint32_t i) const { return Backend::left_by_init(g.cpus[i]->hw); }
    bool kick(std::uint32_t i) {
        PerCpu* c = g.cpus[i];
        // Counted, and a count ages out (kick_count.hpp).
        c->kick.sent(arch::rdtsc());
        if (!arch::LocalApic::send_nmi(g.apic, c->apic_id)) {
            c->kick.unsent();
            return false;
        }
        ++me->stats.kicks_sent;
        return true;
    }
    std::uint64_t now() { return arch::rdtsc(); }
    void relax() { arch::pause(); }
    void stalled(std::uint32_t i) {
        g.log.record(VBH_LOG_FLUSH_STALL, me->cpu, i, me->vcpu.rip, g.npt_gen);
    }
};
static_assert(FlushEnv<ImageFlushEnv>);

} // namespace

// Every CPU that may hold a translation of the old table either takes an exit (NMI
// kick) and flushes before its next VMRUN (TLB_CONTROL, see vcpu_loop), or is in the
// hypervisor and will flush before its next VMRUN because its seen_gen is behind.
// A CPU writing hypercall output into a host frame (host_writing, see env.hpp)
// is waited for too: it either saw the frame already unmapped or finishes first.
void CrossCpuFlush::operator()() const {
    const std::uint64_t gen = __atomic_add_fetch(&g.npt_gen, 1, __ATOMIC_SEQ_CST);
    ImageFlushEnv env{this_cpu()};
    flush_wait(env, gen);
}

} // namespace vbh::image
