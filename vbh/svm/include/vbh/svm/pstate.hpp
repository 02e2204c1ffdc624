// The authoritative vCPU state of a protected VM (docs/protected-vm.md, "Authoritative
// vCPU state"): the pure rule engine. A "protected vCPU" is a VMCB12 whose N_CR3 is a
// nested root bound to a protected domain D (VBH_HC_DOMAIN_BIND_ROOT). The host drives
// it: it writes VMCB12 and the L2's GPRs pass through the physical registers at VMRUN
// and #VMEXIT (AMD APM vol. 2 §15.5, §15.6). Without a rule a hostile host could point
// the vCPU at its own code or page tables in shared memory and have the guest read its
// private memory out. So vbh snapshots the state at every #VMEXIT it reflects to the
// host and, at the next VMRUN of that VMCB12, lets through only the changes that exit
// asked for (an instruction's results, its RIP advance, an interrupt); anything else is
// refused with the field that changed. No hardware access: hosted-tested
// (tests/nested/pstate_test.cpp); the run-time glue is pstate_run.hpp.
#pragma once

#include <vbh/spinlock.hpp>
#include <vbh/svm/vmcb.hpp>
#include <vbh/vcpu.hpp>

#include <cstddef>
#include <cstdint>

namespace vbh::svm {

// What changed, for the log (info bits 15:8 of a protected refusal, pstate_run.hpp).
// The first 16 are the GPRs in Gpr order (vcpu.hpp), so a GPR's field is its index.
#define VBH_PSTATE_FIELDS(X)                                                                    \
    X(rax) X(rcx) X(rdx) X(rbx) X(rsp) X(rbp) X(rsi) X(rdi)                                   \
    X(r8) X(r9) X(r10) X(r11) X(r12) X(r13) X(r14) X(r15)                                     \
    X(rip) X(rflags) X(cr0) X(cr2) X(cr3) X(cr4) X(efer) X(dr6) X(dr7) X(cpl)                 \
    X(es) X(cs) X(ss) X(ds) X(fs) X(gs) X(gdtr) X(idtr) X(ldtr) X(tr)                         \
    X(star) X(lstar) X(cstar) X(sfmask) X(kernel_gs_base)                                     \
    X(sysenter_cs) X(sysenter_esp) X(sysenter_eip) X(g_pat) X(s_cet) X(ssp) X(isst_addr)      \
    X(spec_ctrl)                                                                              \
    X(event_inj)   /* an event the exit did not ask for */                                    \
    X(next_rip)    /* nRIP of a re-injected soft interrupt */                                 \
    X(int_shadow)  /* interrupt shadow set (only clearing it is allowed) */                   \
    X(icpt_pf)     /* #PF intercept added: decode assists would expose private code */        \
    X(join_mode)   /* late joiner not in real mode */                                         \
    X(join_code)   /* late joiner's CS.base+RIP not on D's private memory at that gfn */      \
    X(join_idt)    /* late joiner's IVT (IDTR.base) not on D's private memory */              \
    X(none)

#define VBH_PSTATE_FIELD_MEMBER_(name) name,
enum class PField : std::uint8_t { VBH_PSTATE_FIELDS(VBH_PSTATE_FIELD_MEMBER_) };
#undef VBH_PSTATE_FIELD_MEMBER_

constexpr const char* to_string(PField f) {
    switch (f) {
#define VBH_PSTATE_FIELD_NAME_(name) \
    case PField::name: return #name;
        VBH_PSTATE_FIELDS(VBH_PSTATE_FIELD_NAME_)
#undef VBH_PSTATE_FIELD_NAME_
    }
    return "?";
}
static_assert(std::uint8_t(PField::r15) == std::uint8_t(Gpr::r15));

inline constexpr std::size_t pstate_gprs = std::size_t(Gpr::count);

// The locked state of a protected vCPU as its last reflected #VMEXIT left it: the
// VMCB12 fields VMRUN loads, the VMLOAD set the L2 ran with (the host's next VMLOAD of
// VMCB12 must bring it back), the GPRs, and what the exit asked of the host.
struct PstateSnapshot {
    std::uint64_t gpr[pstate_gprs]; // rax and rsp as VMCB12 holds them
    std::uint64_t rip, rflags, cr0, cr2, cr3, cr4, efer, dr6, dr7;
    Segment es, cs, ss, ds, fs, gs, gdtr, idtr, ldtr, tr;
    std::uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    std::uint64_t sysenter_cs, sysenter_esp, sysenter_eip, g_pat, s_cet, ssp, isst_addr, spec_ctrl;
    std::uint64_t int_shadow;
    std::uint32_t icpt_exc;
    std::uint8_t cpl;
    // The exit (§15.6): its code, EXITINFO1/2, EXITINTINFO and nRIP.
    std::uint64_t exit_code, exit_info1, exit_info2, exit_int_info, next_rip;
};

// At a reflected #VMEXIT: v12 as reflect_exit() wrote it, l1 the host's block (holding
// the L2's VMLOAD state), gpr the L2's registers (rax/rsp are taken from v12).
void pstate_capture(const Vmcb& v12, const Vmcb& l1, const std::uint64_t* gpr, PstateSnapshot& out);

// At the next VMRUN of that VMCB12: v12 the host's copy, l1 the host's block (the
// VMLOAD state it loaded), gpr the registers the L2 would start with (rax/rsp are
// taken from v12). The first field changed beyond what the exit allows, or none.
PField pstate_check(const PstateSnapshot& snap, const Vmcb& v12, const Vmcb& l1,
                    const std::uint64_t* gpr);

// A VMCB12 joining a domain after its private memory came into use (an AP, or an
// attacker's second VMCB12 on the domain's root) must start where the guest itself put code: real mode, with
// CS.base+RIP on a gfn that is the domain's private memory there, and so its IVT (an
// NMI the host injects before the guest loads its own IDTR goes through it). private_gfn
// answers "KVM's table maps this gfn to D's private frame donated for it".
template <class PrivateGfn>
PField pstate_join(const Vmcb& v12, PrivateGfn&& private_gfn) {
    constexpr std::uint64_t cr0_pe = 1, cr0_pg = 1ull << 31;
    constexpr std::uint64_t efer_long = (1ull << 8) | (1ull << 10); // LME, LMA
    if ((v12.cr0 & (cr0_pe | cr0_pg)) || (v12.efer & efer_long))
        return PField::join_mode;
    if (!private_gfn((v12.cs.base + v12.rip) >> 12))
        return PField::join_code;
    if (!private_gfn(v12.idtr.base >> 12))
        return PField::join_idt;
    return PField::none;
}

// The table of protected vCPUs, in hypervisor memory (the image's .bss): one record
// per (VMCB12 address, domain), and which domains hold private data. 64 records: one per vCPU
// of the 63 protected domains vbh can hold with one vCPU each, or fewer VMs with more
// vCPUs; a VMRUN that needs a new record when all are taken is refused (table_full).
// Every access holds `lock`; a VMCB12 is entered on one CPU at a time (busy).
struct PstateRecord {
    std::uint64_t v12_pa; // 0: free
    std::uint16_t dom;
    bool running;         // entered on some CPU, its exit not yet reflected
    bool has_snapshot;    // an exit was reflected: later VMRUNs are checked
    PstateSnapshot snap;
};

enum class PstateVerdict : std::uint8_t { ok, changed, join, full, busy };

class PstateTable {
public:
    static constexpr std::uint32_t capacity = 64;
    static constexpr std::uint32_t max_domains = 64; // VBH_MAX_DOMAINS (abi.h)

    SpinLock& lock() { return lock_; }

    // Under lock(): the record of (pa, dom), or null.
    PstateRecord* find(std::uint64_t pa, std::uint16_t dom);
    // Under lock(): a free record claimed for (pa, dom), or null when the table is full.
    PstateRecord* claim(std::uint64_t pa, std::uint16_t dom);
    // Under lock(): the record freed and zeroed (the GPRs it held are guest data).
    void release(PstateRecord& r);
    // Has a private frame of dom entered a shadow NPT, where a guest could write it?
    // Until then nothing private exists (donated frames were cleared), and every VMCB12
    // that enters is one of the domain's initial vCPUs. Set by the shadow's fill
    // (nested_shadow.hpp) without the lock: one byte, set once per domain life.
    bool holds_private(std::uint16_t dom) const {
        return dom < max_domains && __atomic_load_n(&private_[dom], __ATOMIC_ACQUIRE);
    }
    void saw_private(std::uint16_t dom) {
        if (dom < max_domains && !__atomic_load_n(&private_[dom], __ATOMIC_RELAXED))
            __atomic_store_n(&private_[dom], true, __ATOMIC_RELEASE);
    }
    // Under lock(): every record of dom zeroed, and its private mark cleared
    // (DOMAIN_DESTROY). Returns how many records went.
    std::uint32_t forget(std::uint16_t dom);
    std::uint32_t in_use() const;
    PstateRecord* record(std::uint32_t i) { return i < capacity ? &records_[i] : nullptr; }
    std::uint32_t index(const PstateRecord& r) const { return std::uint32_t(&r - records_); }

private:
    SpinLock lock_;
    bool private_[max_domains] = {};
    PstateRecord records_[capacity] = {};
};

} // namespace vbh::svm
