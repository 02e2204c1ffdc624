// Shadow NPT (docs/nested.md, "Shadow NPT"): with kvm_amd npt=1 the host hands its L2 a
// nested page table (KVM's, at VMCB12's N_CR3) that maps L2 guest-physical addresses
// to L1 guest-physical ones, which are system-physical here (vbh's host NPT is the
// identity over host RAM). The CPU walks one nested table only, so vbh runs the L2 on a
// table of its own, built lazily on the L2's nested page faults: each entry is the
// 4 KiB page KVM's walk gives, with the permissions KVM's walk and vbh's ownership of
// the frame both allow (AMD APM vol. 2 §15.25.5). Everything here is pure: KVM's tables
// and vbh's ownership are reached through a ShadowEnv, and the tables vbh builds live
// in a fixed pool of hypervisor pages (ShadowNpt), so tests/nested runs it hosted.
#pragma once

#include <concepts>
#include <cstdint>

namespace vbh::svm {

// Long-mode page-table entry bits (APM vol. 2 §5.3.3); nested tables use the host's
// long-mode format (§15.25.5), and every nested access is a user-level access.
namespace npte {
inline constexpr std::uint64_t p = 1u << 0, rw = 1u << 1, us = 1u << 2, a = 1u << 5,
                               d = 1u << 6, ps = 1u << 7, nx = 1ull << 63;
}

// EXITINFO1 of #VMEXIT(NPF) (§15.25.6): a #PF error code in bits 31:0, then whether the
// fault hit the final translation (bit 32) or a guest page-table access (bit 33).
namespace npf_code {
inline constexpr std::uint64_t present = 1u << 0, write = 1u << 1, user = 1u << 2,
                               rsvd = 1u << 3, fetch = 1u << 4,
                               final_gpa = 1ull << 32, table_gpa = 1ull << 33;
}

// What a translation allows, for KVM's walk and for vbh's ownership alike.
namespace perm {
inline constexpr std::uint8_t r = 1, w = 2, x = 4, rwx = 7;
}

// The host's paging state the walk depends on: MAXPHYADDR (bits above it are reserved
// in every entry), EFER.NXE of the host (without it NX is reserved, §5.3.3), and 1 GiB
// pages (CPUID 8000_0001h EDX[26]; without them PS in a PDPE is reserved).
struct NptWalkCaps {
    std::uint8_t phys_bits;
    bool nxe;
    bool gbpages;
};

// Reserved bits of a present entry at level 4 (PML4E) .. 1 (PTE), leaf or not (§5.3.3,
// figures 5-18 to 5-24): the address bits above MAXPHYADDR everywhere, NX without
// EFER.NXE, PML4E bits 8:7, a 1 GiB PDPE's bits 29:13, a 2 MiB PDE's bits 20:13.
std::uint64_t npte_reserved(std::uint64_t e, int level, const NptWalkCaps& caps);

// Access rights of the access that faulted, from the hardware's EXITINFO1.
struct NptAccess {
    bool write;
    bool fetch;
};
constexpr NptAccess npt_access(std::uint64_t exit_info1) {
    return {(exit_info1 & npf_code::write) != 0, (exit_info1 & npf_code::fetch) != 0};
}

// One 8-byte entry of KVM's tables. ok false: the table page is not host-owned RAM
// (hypervisor, donated or lent memory, MMIO: the host cannot have a table there).
struct EntryRead {
    bool ok;
    std::uint64_t value;
};

// The seam to the hypervisor: read an entry of KVM's tables (pa 8-byte aligned, in
// host RAM or refused), set accessed/dirty bits in it as the CPU would (a locked
// compare-exchange: false if the entry changed meanwhile), and what vbh lets an L2
// whose shadow serves domain dom (0: the root is bound to none) do with frame pa at
// its guest frame gfn: perm bits, rwx for host-owned RAM mapped for the host and for
// dom's private memory donated for exactly that gfn (docs/nested.md, "Shadow NPT"),
// 0 for everything else.
template <class E>
concept ShadowEnv = requires(E& e, std::uint64_t pa, std::uint64_t v, std::uint16_t dom) {
    { e.read_entry(pa) } -> std::same_as<EntryRead>;
    { e.update_entry(pa, v, v) } -> std::same_as<bool>;
    { e.frame_perm(pa, v, dom) } -> std::same_as<std::uint8_t>;
};

// How KVM's walk of one L2 address ended.
enum class NptWalk : std::uint8_t {
    ok,          // frame and perm are valid; the access is allowed by KVM's tables
    fault,       // KVM's tables refuse: error is the NPF error code for the host
    table_fault, // a table page is not host RAM: table_pa names it
    raced,       // an entry changed while its A/D bits were set: fault again
};
struct NptWalkResult {
    NptWalk how;
    std::uint64_t error;    // fault: P, W, U, RSVD, I/D (bits 31:0 of EXITINFO1)
    std::uint64_t frame;    // ok: the 4 KiB L1 frame the L2 page maps to
    std::uint8_t perm;      // ok: what KVM's walk allows (perm bits, R always)
    std::uint64_t table_pa; // table_fault: the refused table page
};

// The error code pieces the walk reports. U is always set: nested accesses are user
// accesses (§15.25.5); W and I/D come from the access (I/D only with EFER.NXE, as a
// #PF error code), P and RSVD from the walk.
constexpr std::uint64_t npt_fault_code(const NptAccess& acc, bool present, bool rsvd,
                                       const NptWalkCaps& caps) {
    return (present || rsvd ? npf_code::present : 0) | (rsvd ? npf_code::rsvd : 0) |
           (acc.write ? npf_code::write : 0) | npf_code::user |
           (acc.fetch && caps.nxe ? npf_code::fetch : 0);
}

// Walk KVM's table at ncr3 for the L2 address gpa and the access acc, as the CPU's
// nested walk would (§15.25.5): every level must be present, free of reserved bits and
// user-accessible; writes need R/W at every level, fetches (with EFER.NXE) no NX at any.
// On success the accessed bits along the walk and, for a write, the dirty bit of the
// leaf are set in KVM's entries, as the CPU sets them (KVM's page aging reads A).
template <ShadowEnv E>
NptWalkResult walk_kvm_npt(E& env, std::uint64_t ncr3, std::uint64_t gpa, const NptAccess& acc,
                           const NptWalkCaps& caps);

// The shadow tables of one CPU: 4-level, 4 KiB leaves only (KVM's 2 MiB and 1 GiB
// leaves are split, each 4 KiB page entered when first touched), in a fixed pool of
// physically contiguous hypervisor pages (page 0 is the root). The pool bounds what a
// host can make vbh allocate per CPU; when it runs out the shadow is dropped and
// rebuilt from the faults that follow (install() returns false, reset(), install again).
// Shadows belong to one (host N_CR3, host ASID, domain the root is bound to): Key. The
// domain is part of it so that a shadow holding a domain's private frames is never
// reused for another domain or for an unbound root.
inline constexpr std::uint32_t shadow_pool_pages = 64; // 256 KiB per CPU
class ShadowNpt {
public:
    struct Key {
        std::uint64_t ncr3;
        std::uint32_t asid;
        std::uint16_t dom = 0;
        bool operator==(const Key&) const = default;
    };

    // pages: count 4 KiB pages at virtual pages / physical pa (count >= 4), zeroed here.
    // nxe: EFER.NXE of the CPU that runs the L2 block (vbh's), which the CPU's walk of
    // the shadow follows: without it NX is reserved, and the shadow cannot refuse a
    // fetch (KVM's NX is then not enforced; vbh's frames never carry an X refusal).
    void init(std::uint64_t* pages, std::uint64_t pa, std::uint32_t count, bool nxe);
    bool ready() const { return count_ != 0; }
    std::uint64_t root_pa() const { return pa_; }
    const Key& key() const { return key_; }
    std::uint32_t used() const { return used_; }

    // Drop every translation (the pages in use are zeroed) and serve key from now on.
    // The CPU may hold translations of the old shadow: flush_needed() says the L2's
    // ASID must be flushed before the L2 runs again (take_flush() clears it).
    void reset(const Key& key);
    // reset() to the same key if anything is mapped: vbh's ownership changed, or the
    // host's INVLPGA (the frames a shadow entry names may no longer be the host's).
    void drop() {
        if (used_ > 1)
            reset(key_);
    }
    bool take_flush() {
        const bool f = flush_;
        flush_ = false;
        return f;
    }
    bool flush_needed() const { return flush_; }

    // Map the 4 KiB page of gpa to frame with perm (r always; w, x as given). False:
    // the pool is full, nothing changed. A changed existing entry asks for a flush.
    bool install(std::uint64_t gpa, std::uint64_t frame, std::uint8_t perm);

    // The leaf entry for gpa, or 0 (tests, and deciding whether a fault is stale).
    std::uint64_t lookup(std::uint64_t gpa) const;

private:
    std::uint64_t* table(std::uint64_t entry) const;
    std::uint64_t* pages_ = nullptr;
    std::uint64_t pa_ = 0;
    std::uint32_t count_ = 0;
    std::uint32_t used_ = 0;
    Key key_{};
    bool flush_ = false;
    bool nxe_ = true;
};

// What vbh does with an L2 nested page fault while the host uses nested paging.
enum class ShadowFault : std::uint8_t {
    mapped,   // the page is in the shadow now: re-enter the L2
    reflect,  // KVM's tables refuse: #VMEXIT(NPF) to the host with exit_info1/2 below
    refused,  // KVM maps the page to a frame vbh does not let the host reach, or its
              // tables lie outside host RAM: the L2 never gets it (docs/nested.md)
    retry,    // KVM's entry changed under the walk: re-enter, the L2 faults again
};
struct ShadowFaultResult {
    ShadowFault how;
    std::uint64_t exit_info1; // reflect: hardware bits 63:32 with KVM's error code
    std::uint64_t addr;       // refused: the frame or table page refused
};

// An NPF of the L2 (exit_info1/2 as the CPU reported them) against the shadow s, whose
// key the caller has checked. Walk KVM's tables, intersect with vbh's frame_perm, and
// enter the page; a full pool drops the shadow first (the caller flushes the ASID).
template <ShadowEnv E>
ShadowFaultResult shadow_npf(E& env, ShadowNpt& s, std::uint64_t ncr3, std::uint64_t exit_info1,
                             std::uint64_t exit_info2, const NptWalkCaps& caps);

} // namespace vbh::svm

#include <vbh/svm/shadow_walk.hpp>
