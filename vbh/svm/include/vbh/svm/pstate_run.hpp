// Protected vCPUs at run time (docs/protected-vm.md, "Authoritative vCPU state"): the
// host's VMRUN of a VMCB12 whose N_CR3 is bound to a protected domain D is checked
// against the state its last reflected #VMEXIT left (pstate.hpp), and that exit's state
// is what the next VMRUN is checked against. nested_run.hpp calls these three:
//   pstate_at_vmrun  after every other VMRUN check passed: find or join the record
//   pstate_at_exit   at the #VMEXIT reflected to the host: the snapshot
//   pstate_abort     the L2 block failed VMRUN (VMEXIT_INVALID): it never ran
// The records live in one table in hypervisor memory (the environment's pstates()),
// since a vCPU moves between CPUs; DOMAIN_DESTROY forgets a domain's (pstate_forget).
#pragma once

#include <vbh/svm/cpu.hpp>
#include <vbh/svm/nested.hpp>
#include <vbh/svm/nested_shadow.hpp>
#include <vbh/svm/pstate.hpp>

namespace vbh::svm {

template <class E>
concept PstateEnv = ShadowHostEnv<E> && requires(E& e) {
    { e.pstates() } -> std::same_as<PstateTable&>;
};

// Why a protected VMRUN was refused: the error, the field, the domain. The log entry's
// info is error | field << 8 | domain << 16 (docs/nested.md, "Refusals").
struct PstateRefusal {
    Vmcb12Error error;
    PField field;
    std::uint16_t dom;
    constexpr std::uint64_t info() const {
        return std::uint64_t(error) | std::uint64_t(field) << 8 | std::uint64_t(dom) << 16;
    }
};

// Does KVM's table (N_CR3 of v12) map gfn to D's private frame donated for that gfn?
// The walk is the shadow's own (shadow_walk.hpp), as an instruction fetch: what the L2
// would execute there.
template <PstateEnv E>
bool pstate_private_gfn(E& env, const Vmcb& v12, const Vmcb& l1, const NestedCaps& caps,
                        std::uint16_t dom, std::uint64_t gfn) {
    HostTables<E> t{env};
    const NptWalkCaps walk{caps.phys_bits, (l1.efer & efer_nxe) != 0, caps.gbpages};
    const NptWalkResult r = walk_kvm_npt(t, v12.n_cr3, gfn << 12, NptAccess{false, true}, walk);
    return r.how == NptWalk::ok && env.private_frame(r.frame >> 12, gfn, dom);
}

// At the host's VMRUN of v12 (pa), every other check passed; l1 holds the VMLOAD state
// the host loaded, s the GPRs the L2 would start with. Not protected (no nested paging,
// or N_CR3 bound to no domain): nothing to check. Protected: the record of (pa, D) is
// checked against its snapshot; a VMCB12 new to D is one of its initial vCPUs while no
// private frame of D was ever mapped for a guest, else it must join as pstate_join()
// says. Accepted: the record is running on this CPU.
template <PstateEnv E>
PstateRefusal pstate_at_vmrun(NestedCpu& n, std::uint64_t pa, const Vmcb& v12, const Vmcb& l1,
                              const VcpuState& s, E& env, const NestedCaps& caps) {
    n.pstate = 0;
    if (!host_nested_paging(v12))
        return {Vmcb12Error::ok, PField::none, 0};
    const std::uint16_t dom = shadow_key(env, v12, caps.phys_bits).dom;
    if (dom == 0)
        return {Vmcb12Error::ok, PField::none, 0};
    PstateTable& t = env.pstates();
    LockGuard guard{t.lock()};
    PstateRecord* r = t.find(pa, dom);
    if (r && r->running)
        return {Vmcb12Error::protected_busy, PField::none, dom};
    if (r && r->has_snapshot) {
        if (const PField f = pstate_check(r->snap, v12, l1, s.gpr); f != PField::none)
            return {Vmcb12Error::protected_state, f, dom};
    }
    if (!r) {
        if (t.holds_private(dom)) {
            const PField f = pstate_join(v12, [&](std::uint64_t gfn) {
                return pstate_private_gfn(env, v12, l1, caps, dom, gfn);
            });
            if (f != PField::none)
                return {Vmcb12Error::protected_join, f, dom};
        }
        r = t.claim(pa, dom);
        if (!r)
            return {Vmcb12Error::protected_full, PField::none, dom};
    }
    r->running = true;
    n.pstate = t.index(*r) + 1;
    n.pstate_dom = dom;
    return {Vmcb12Error::ok, PField::none, dom};
}

// The record this CPU's L2 runs under, if it is still that VMCB12's (a DOMAIN_DESTROY
// meanwhile freed it, and another VMCB12 may hold the slot now).
inline PstateRecord* pstate_mine(NestedCpu& n, PstateTable& t) {
    if (n.pstate == 0)
        return nullptr;
    PstateRecord* r = t.record(n.pstate - 1);
    n.pstate = 0;
    return r && r->v12_pa == n.v12_pa && r->dom == n.pstate_dom && r->running ? r : nullptr;
}

// The #VMEXIT is reflected: v12 and l1 as reflect_exit() left them, s the L2's GPRs.
template <PstateEnv E>
void pstate_at_exit(NestedCpu& n, const Vmcb& l1, const VcpuState& s, E& env) {
    if (n.pstate == 0) [[likely]]
        return;
    PstateTable& t = env.pstates();
    LockGuard guard{t.lock()};
    if (PstateRecord* r = pstate_mine(n, t)) {
        pstate_capture(*n.v12, l1, s.gpr, r->snap);
        r->has_snapshot = true;
        r->running = false;
    }
}

// The L2 block never ran: the record is as before the VMRUN (a new one goes).
template <PstateEnv E>
void pstate_abort(NestedCpu& n, E& env) {
    if (n.pstate == 0) [[likely]]
        return;
    PstateTable& t = env.pstates();
    LockGuard guard{t.lock()};
    if (PstateRecord* r = pstate_mine(n, t)) {
        r->running = false;
        if (!r->has_snapshot)
            t.release(*r);
    }
}

// DOMAIN_DESTROY of dom succeeded: its records and its private mark go, so that a
// VMCB12 page reused later, by any domain that gets the id, matches nothing stale.
inline std::uint32_t pstate_forget(PstateTable& t, std::uint64_t dom) {
    if (dom == 0 || dom >= PstateTable::max_domains)
        return 0;
    LockGuard guard{t.lock()};
    return t.forget(std::uint16_t(dom));
}

} // namespace vbh::svm
