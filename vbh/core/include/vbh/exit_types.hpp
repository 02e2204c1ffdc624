// The exit in vendor-neutral terms, and what its handler decides: the types every
// exit handler (exit.hpp, exit_apic.hpp) and backend share.
#pragma once

#include <vbh/stats.h>

#include <cstdint>

namespace vbh {

// One member per VBH_EXIT_KINDS entry (stats.h), with its value: the index into
// vbh_cpu_stats.exits.
#define VBH_EXIT_MEMBER_(name, value, text) text = VBH_EXIT_##name,
enum class ExitReason : std::uint8_t { VBH_EXIT_KINDS(VBH_EXIT_MEMBER_) };
#undef VBH_EXIT_MEMBER_
// Every reason indexes the per-kind arrays (stats.exits, cycles.kind) unchecked.
#define VBH_EXIT_IN_RANGE_(name, value, text) static_assert(VBH_EXIT_##name < VBH_EXIT_KIND_COUNT);
VBH_EXIT_KINDS(VBH_EXIT_IN_RANGE_)
#undef VBH_EXIT_IN_RANGE_

struct Exit {
    ExitReason reason = ExitReason::other;
    std::uint8_t insn_len = 0; // length of the exiting instruction (hypercall, msr)
    std::uint64_t code = 0;    // the vendor's raw exit code, for the log
    std::uint64_t qual = 0;    // npf: the fault error code (AMD EXITINFO1)
    std::uint64_t gpa = 0;     // npf: the guest-physical address
};

enum class ExitAction : std::uint8_t {
    resume, // re-enter the guest
    devirt, // leave guest mode on this CPU (VBH_HC_DEVIRT before seal)
    fatal,  // the guest cannot continue (triple fault, unknown exit)
    reset,  // a reset/power-off port write: scrub, then perform it (exit_io.hpp)
    init,   // INIT: this CPU leaves guest mode for the INIT to take it
};

} // namespace vbh
