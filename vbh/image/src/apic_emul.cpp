// The host's INIT and SIPI, emulated (docs/launch.md, "INIT and SIPI"; vbh/sipi.hpp).
// exit_apic.hpp decided that the host's ICR write is an INIT or SIPI for CPUs it
// names; no real one is sent. Each CPU the hypervisor runs that the send names gets
// it posted in its SipiSlot; an INIT also kicks it with an NMI, at whose exit it takes
// the INIT and waits in the hypervisor (loop.cpp, wait_for_sipi). A send that names a
// CPU the hypervisor does not run is refused: such a CPU would start outside guest
// mode, and the loader launches every CPU before the seal (docs/loader.md).
#include "env.hpp"

#include <vbh/arch/apic.hpp>
#include <vbh/arch/cpu.hpp>

namespace vbh::image {

bool kick_cpu(PerCpu* me, PerCpu* c) {
    // Counted, and a count ages out (kick_count.hpp).
    c->kick.sent(arch::rdtsc());
    if (!arch::LocalApic::send_nmi(g.apic, c->apic_id)) {
        c->kick.unsent();
        return false;
    }
    ++me->stats.kicks_sent;
    return true;
}

void apic_send(PerCpu* me, const VcpuState& v, const apic::Send& s, std::uint32_t icr_lo) {
    bool named_other = s.shorthand == apic::sh_none && s.dest != s.broadcast;
    for (std::uint32_t i = 0; i < g.br.nr_cpus; ++i) {
        PerCpu* c = g.cpus[i];
        if (!c || !__atomic_load_n(&c->stats.launched, __ATOMIC_ACQUIRE) ||
            !apic::receives(s, c->apic_id, c == me))
            continue;
        named_other = false;
        if (s.verdict == apic::Verdict::init) {
            c->sipi.post_init();
            kick_cpu(me, c); // a CPU in the hypervisor takes the NMI at its next VMRUN
        } else {
            (void)c->sipi.post_sipi(s.vector); // ignored unless it waits, as on the CPU
        }
        g.log.record(VBH_LOG_VIRT_INIT, me->cpu, i, v.rip, icr_lo);
    }
    // A physical destination that is no CPU the hypervisor runs.
    if (named_other)
        g.log.record(VBH_LOG_APIC_DENIED, me->cpu, apic::reg_icr_lo, v.rip,
                     icr_lo | std::uint64_t(s.dest) << 32);
}

} // namespace vbh::image
