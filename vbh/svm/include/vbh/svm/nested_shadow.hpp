// The shadow NPT at run time (docs/nested.md, "Shadow NPT"): what the host's VMRUN and
// its L2's nested page faults do when the host asked for nested paging (kvm_amd npt=1).
// The walk and the shadow tables are shadow_npt.hpp; this file reaches KVM's tables and
// vbh's ownership through host_page() (host_insn.hpp), which gives a frame only while
// it is host-owned RAM mapped for the host and holds off a concurrent donate of it.
#pragma once

#include <vbh/exit_log.hpp>
#include <vbh/msr.hpp>
#include <vbh/svm/cpu.hpp>
#include <vbh/svm/host_insn.hpp>
#include <vbh/svm/shadow_npt.hpp>

namespace vbh::svm {

// KVM's tables and vbh's rights as a ShadowEnv. A table page or frame is usable only if
// it is host-owned RAM (never hypervisor, donated or lent memory, never MMIO); the host
// may read, write and execute every such frame (its host NPT entry is RWX).
template <HostInsnEnv E>
struct HostTables {
    E& env;

    static std::uint64_t* entry(void* page, std::uint64_t pa) {
        return static_cast<std::uint64_t*>(page) + (pa & 0xfff) / 8;
    }
    EntryRead read_entry(std::uint64_t pa) {
        const Result<void*> p = env.host_page(pa >> 12);
        EntryRead r{bool(p), 0};
        if (p)
            r.value = __atomic_load_n(entry(*p, pa), __ATOMIC_RELAXED);
        env.host_frame_done();
        return r;
    }
    // A locked compare-exchange, as the CPU's own A/D update (APM vol. 2 §5.4.2).
    bool update_entry(std::uint64_t pa, std::uint64_t old, std::uint64_t want) {
        const Result<void*> p = env.host_page(pa >> 12);
        const bool ok = p && __atomic_compare_exchange_n(entry(*p, pa), &old, want, false,
                                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        env.host_frame_done();
        return ok;
    }
    std::uint8_t frame_perm(std::uint64_t pa) {
        const Result<void*> p = env.host_page(pa >> 12);
        env.host_frame_done();
        return p ? perm::rwx : 0;
    }
};

// Can this CPU shadow the host's table? A pool, and 4-level tables: KVM's NPT has as
// many levels as the host's own paging (5 with CR4.LA57), and the walk has four.
inline bool shadow_usable(const Cpu& c) {
    constexpr std::uint64_t cr4_la57 = 1u << 12;
    return c.nested.shadow.ready() && !(c.l1.vmcb->cr4 & cr4_la57);
}

// At the host's accepted VMRUN with NP_ENABLE: the shadow to run the L2 on. A shadow
// serves one host N_CR3 and host ASID; any other, or a TLB_CONTROL flush request (KVM
// asks for one after changing its tables), drops it. The walk follows the host's
// EFER.NXE (the host block's: the host's EFER at its VMRUN). Returns the root; the
// caller flushes the L2's ASID if take_flush().
inline std::uint64_t shadow_at_vmrun(NestedCpu& n, const Vmcb& v12, const Vmcb& l1,
                                     const NestedCaps& caps, vbh_cpu_stats& st) {
    const ShadowNpt::Key key{v12.n_cr3, std::uint32_t(Asid::get(v12.asid_tlb))};
    if (key != n.shadow.key() || TlbControl::get(v12.asid_tlb) != 0) {
        if (n.shadow.used() > 1)
            ++st.l2_shadow_drops;
        n.shadow.reset(key);
    }
    n.walk = {caps.phys_bits, (l1.efer & efer_nxe) != 0, caps.gbpages};
    return n.shadow.root_pa();
}

enum class ShadowExit : std::uint8_t {
    resume,  // the page is in the shadow (or KVM's entry changed): re-enter the L2
    reflect, // the L2 block's exit fields are what the host must see: reflect them
};

// A nested page fault of an L2 whose host uses nested paging: every one is the
// shadow's, since no other nested table is under the L2. KVM's walk refuses: the host
// gets #VMEXIT(NPF) with its own walk's error code (P, W, U, RSVD, I/D) under the
// hardware's bits 63:32 (final translation or guest table access), EXITINFO2 the L2
// address, as a CPU walking KVM's table would report it. KVM's walk gives a frame vbh
// does not let the host reach, or its tables lie outside host RAM: the access never
// happens; the host gets #VMEXIT(SHUTDOWN), KVM's answer to which is to stop that
// guest (KVM_EXIT_SHUTDOWN to its VMM), and the log a vmrun_refused entry naming the
// frame (info shadow_refused). Re-entering would only fault again.
template <HostInsnEnv E>
ShadowExit shadow_exit(Cpu& c, VcpuState& s, E& env, vbh_cpu_stats& st) {
    NestedCpu& n = c.nested;
    Vmcb& l2 = *n.l2.vmcb;
    HostTables<E> t{env};
    const ShadowFaultResult r =
        shadow_npf(t, n.shadow, n.v12->n_cr3, l2.exit_info1, l2.exit_info2, n.walk);
    switch (r.how) {
    case ShadowFault::mapped:
        ++st.l2_shadow_fills;
        [[fallthrough]];
    case ShadowFault::retry:
        // The fault may have interrupted an event's delivery: deliver it again.
        l2.event_inj = EventInj::Valid::get(l2.exit_int_info) ? l2.exit_int_info : 0;
        return ShadowExit::resume;
    case ShadowFault::reflect:
        l2.exit_info1 = r.exit_info1;
        return ShadowExit::reflect;
    case ShadowFault::refused: break;
    }
    env.log().record(VBH_LOG_VMRUN_REFUSED, s.cpu, r.addr, l2.exit_info2,
                     std::uint64_t(Vmcb12Error::shadow_refused));
    l2.exit_code = std::uint64_t(ExitCode::shutdown);
    l2.exit_info1 = l2.exit_info2 = 0;
    l2.exit_int_info = 0;
    return ShadowExit::reflect;
}

} // namespace vbh::svm
