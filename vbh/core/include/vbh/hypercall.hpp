// Hypercall decode: registers in, a validated operation out (docs/hypercalls.md).
// Decoding only reads the ownership state; it changes nothing, so a call that fails
// here has no effect. Perform (vbh/core.hpp) runs only on what decode accepted.
#pragma once

#include <vbh/domains.hpp>
#include <vbh/frame_table.hpp>
#include <vbh/gfn_map.hpp>
#include <vbh/roots.hpp>

#include <cstdint>

namespace vbh {

// The guest's registers at VMMCALL/VMCALL, copied out of the VMCB/VMCS save area once.
struct HypercallRegs {
    std::uint64_t rax; // call number
    std::uint64_t rdi; // arg0
    std::uint64_t rsi; // arg1
    std::uint64_t rdx; // arg2
    std::uint64_t rcx; // arg3
};

// The caller's privilege level (VMCB.CPL / VMCS guest SS.DPL).
struct Cpl {
    std::uint8_t level;
};

// What goes back into rax, rdi, rsi.
struct HypercallOut {
    Status status = Status::ok;
    std::uint64_t out0 = 0;
    std::uint64_t out1 = 0;
};

enum class Call : std::uint8_t {
    version,
    domain_create,
    domain_destroy,
    share,
    unshare,
    donate,
    reclaim,
    hyp_donate,
    donate_list,
    test_fill,
    test_hash,
    bind_root,
    unbind_root,
    guest_donate,
    guest_reclaim,
};

// The state of protected KVM guests (issue 13): bound nested-paging roots and the gfn
// of every private frame. In hypervisor memory, changed under the core's lock.
struct Guests {
    RootTable roots;
    GfnMap gfns;
};

struct Op {
    Call call = Call::version;
    DomainId dom = host_domain;
    FrameRange range{};
    std::uint64_t arg = 0;      // create: flags; test_fill: seed; donate_list: list address;
                                // bind/unbind_root: the root; guest_donate: the first gfn
    std::uint32_t entries = 0;  // donate_list
};

// The copied and validated ranges of VBH_HC_HOST_DONATE_LIST.
struct RangeList {
    FrameRange ranges[VBH_MAX_LIST_ENTRIES];
    std::uint32_t count = 0;
};

// Everything that can be checked from the registers and the ownership state.
// For donate_list the list itself is checked by decode_list() once copied.
Result<Op> decode(const HypercallRegs& regs, Cpl cpl, const FrameTable& frames,
                  const DomainTable& domains, const Guests& guests);

// The protected-guest calls (decode_guest.cpp): DOMAIN_BIND_ROOT, DOMAIN_UNBIND_ROOT,
// GUEST_DONATE, GUEST_RECLAIM; the caller checked the CPL.
Result<Op> decode_guest(const HypercallRegs& regs, const FrameTable& frames,
                        const DomainTable& domains, const Guests& guests);

// The list of a donate_list call, already copied into hypervisor memory.
Result<void> decode_list(const vbh_frame_range* copied, std::uint32_t entries, DomainId dom,
                         const FrameTable& frames, RangeList& out);

// The frame holding a donate_list array (decode() checked it lies in one frame).
constexpr Pfn list_frame(const Op& op) { return Pfn{op.arg >> frame_shift}; }

} // namespace vbh
