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

// What the shadow needs of the hypervisor besides host pages: the domain a nested root
// is bound to (0: none; VBH_HC_DOMAIN_BIND_ROOT) and whether a frame is that domain's
// private memory donated for a gfn (VBH_HC_GUEST_DONATE). Both are read without the
// core's lock; a change racing them is followed by a cross-CPU flush that drops the
// shadows (flush_stage2, backend.hpp).
template <class E>
concept ShadowHostEnv = HostInsnEnv<E> && requires(E& e, std::uint64_t x, std::uint16_t d) {
    { e.root_domain(x) } -> std::same_as<std::uint16_t>;
    { e.private_frame(x, x, d) } -> std::same_as<bool>;
};

// KVM's tables and vbh's rights as a ShadowEnv. A table page is usable only if it is
// host-owned RAM (never hypervisor, donated or lent memory, never MMIO). A frame is
// usable if it is such RAM (the host may read, write and execute it: its host NPT
// entry is RWX), or if it is private memory of the shadow's domain at the very gfn it
// was donated for: then KVM's walk alone gives the rights. Nothing else ever enters:
// another domain's frame, a domain's frame at another gfn, any domain's frame under a
// root bound to none.
template <ShadowHostEnv E>
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
    // A private frame entering a shadow closes the domain's door to new vCPUs in any
    // state but its own (pstate.hpp, holds_private).
    std::uint8_t frame_perm(std::uint64_t pa, std::uint64_t gfn, std::uint16_t dom) {
        const Result<void*> p = env.host_page(pa >> 12);
        env.host_frame_done();
        if (p)
            return perm::rwx;
        if (dom != 0 && env.private_frame(pa >> 12, gfn, dom)) {
            if constexpr (requires { env.pstates(); })
                env.pstates().saw_private(dom);
            return perm::rwx;
        }
        return 0;
    }
};

// Can this CPU shadow the host's table? A pool, and 4-level tables: KVM's NPT has as
// many levels as the host's own paging (5 with CR4.LA57), and the walk has four.
inline bool shadow_usable(const Cpu& c) {
    constexpr std::uint64_t cr4_la57 = 1u << 12;
    return c.nested.shadow.ready() && !(c.l1.vmcb->cr4 & cr4_la57);
}

// The shadow's key for VMCB12's N_CR3 and ASID: with the domain its root (the address
// the walk uses) is bound to now.
template <ShadowHostEnv E>
ShadowNpt::Key shadow_key(E& env, const Vmcb& v12, std::uint8_t phys_bits) {
    const std::uint64_t root = v12.n_cr3 & npt_addr_mask({phys_bits, true, true});
    return {v12.n_cr3, std::uint32_t(Asid::get(v12.asid_tlb)), env.root_domain(root)};
}

// At the host's accepted VMRUN with NP_ENABLE: the shadow to run the L2 on. A shadow
// serves one host N_CR3, host ASID and domain; any other, or a TLB_CONTROL flush
// request (KVM asks for one after changing its tables), drops it. The walk follows the
// host's EFER.NXE (the host block's: the host's EFER at its VMRUN). Returns the root;
// the caller flushes the L2's ASID if take_flush().
template <ShadowHostEnv E>
std::uint64_t shadow_at_vmrun(E& env, NestedCpu& n, const Vmcb& v12, const Vmcb& l1,
                              const NestedCaps& caps, vbh_cpu_stats& st) {
    const ShadowNpt::Key key = shadow_key(env, v12, caps.phys_bits);
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
//
// The root's binding is read again at every fault: one bound or unbound since the
// VMRUN (whose flush dropped the shadow's entries) gives the shadow its new domain
// before anything enters it.
template <ShadowHostEnv E>
ShadowExit shadow_exit(Cpu& c, VcpuState& s, E& env, vbh_cpu_stats& st) {
    NestedCpu& n = c.nested;
    Vmcb& l2 = *n.l2.vmcb;
    const ShadowNpt::Key key = shadow_key(env, *n.v12, n.walk.phys_bits);
    if (key.dom != n.shadow.key().dom)
        n.shadow.reset(key);
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
