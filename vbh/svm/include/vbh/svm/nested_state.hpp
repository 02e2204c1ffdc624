// What vbh holds for the host's nested SVM on one CPU, and when it lets go of it
// (docs/nested.md, "State and teardown"). The host's guests leave state in vbh: host
// ASIDs mapped to vbh's (AsidMap), the shadow NPT's tables (ShadowNpt), the copy of the
// last VMCB12 with its address, the host's permission maps, and the L2 block. None of it
// has a hardware "free": the CPU only knows that its EFER.SVME went to 0, which KVM's
// hardware disable does on every CPU (kvm_amd unload; with kvm.enable_virt_at_load=0
// also when its last VM is destroyed). With SVME = 0 the host can run no guest (VMRUN
// is #UD), so nothing of its guests can still be in use: vbh drops it all there, and
// the gauges of vbh_cpu_stats read 0. The pages themselves are per-CPU and allocated
// once at init (Svm::setup): kept, zeroed, and counted only while they hold something.
#pragma once

#include <vbh/exit_msr.hpp>
#include <vbh/stats.h>
#include <vbh/svm/cpu.hpp>
#include <vbh/svm/nested_run.hpp>

#include <cstring>

namespace vbh::svm {

// The host's guest is what this CPU runs (nested_run.hpp switches `active`).
inline bool l2_active(const Cpu& c) { return c.active.vmcb != c.l1.vmcb; }

// Pool pages holding the shadow's tables; its root page is always kept (empty between
// shadows), so it is not counted.
inline std::uint32_t shadow_pages_used(const NestedCpu& n) {
    return n.shadow.used() > 1 ? n.shadow.used() - 1 : 0;
}

inline bool nested_state_held(const Cpu& c) {
    const NestedCpu& n = c.nested;
    return n.v12_pa != 0 || n.asids.in_use() != 0 || shadow_pages_used(n) != 0 || l2_active(c);
}

// Forget the host's guests on this CPU: every host ASID, the shadow's tables, the
// VMCB12 copy and address, the copies of the host's maps, the merged maps and the L2
// block (zeroed, so no state of a guest that is gone stays in hypervisor memory). The
// translations the CPU may still cache under vbh's L2 ASIDs go with a flush of every
// ASID at the host's next entry; after it no stage-2 flush needs to cover them (used).
// Only while the host's own block runs: an L2 is never torn down under itself. Rare
// (kvm_amd's unload), so off the EFER write's path.
[[gnu::noinline, gnu::cold]] inline void drop_nested_state(Cpu& c) {
    NestedCpu& n = c.nested;
    if (nested_state_held(c))
        ++n.state_drops;
    n.asids.reset();
    if (n.shadow.ready())
        n.shadow.reset({});
    std::memset(n.v12, 0, sizeof(Vmcb));
    std::memset(n.l2.vmcb, 0, sizeof(Vmcb));
    std::memset(n.host_msrpm, 0, msrpm_bytes);
    std::memset(n.host_iopm, 0, iopm_bytes);
    if (n.msrpm && n.iopm) {
        std::memset(n.msrpm, 0, msrpm_bytes);
        std::memset(n.iopm, 0, iopm_bytes);
    }
    n.v12_pa = 0;
    n.maps = {nullptr, nullptr};
    n.np = false;
    n.used = false;
    Vmcb& l1 = *c.l1.vmcb;
    l1.asid_tlb = TlbControl::set(l1.asid_tlb, tlb_flush_all);
}

// A WRMSR to EFER. From the host: its own SVME (host_svm.hpp); a GIF it changes keeps
// the host's block holding interrupts (hold_host_interrupts); SVME going 1 -> 0 is the
// host's hardware disable: drop_nested_state(). From an L2 whose host does not
// intercept it: the L2's own EFER (its block keeps SVME, Svm::write), never the host's.
[[gnu::noinline, gnu::cold]] inline MsrResult l2_efer_write(VcpuState& s, std::uint64_t x,
                                                           std::uint64_t writable) {
    return write_efer(s, x | efer_svme, writable);
}
inline MsrResult nested_efer_write(Cpu& c, VcpuState& s, std::uint64_t x, std::uint64_t writable) {
    if (l2_active(c)) [[unlikely]]
        return l2_efer_write(s, x, writable);
    const bool svme = c.host.svme, gif = c.host.gif;
    const MsrResult r = write_host_efer(c.host, s, x, writable);
    if (c.host.gif != gif) [[unlikely]]
        hold_host_interrupts(c);
    if (svme && !c.host.svme) [[unlikely]]
        drop_nested_state(c);
    return r;
}

// The gauges of vbh_cpu_stats from a CPU's state (and its drop counter). Read by
// whichever CPU asks (STATS_READ): a snapshot of a CPU that may be running, like the
// counters next to them.
inline void nested_gauges(const Cpu& c, vbh_cpu_stats& st) {
    const NestedCpu& n = c.nested;
    const auto put = [](std::uint64_t& f, std::uint64_t v) {
        __atomic_store_n(&f, v, __ATOMIC_RELAXED); // two readers may fill it at once
    };
    put(st.l2_state_drops, n.state_drops);
    put(st.l2_asids, n.asids.in_use());
    put(st.l2_shadow_pages, shadow_pages_used(n));
    put(st.l2_vmcb12, n.v12_pa != 0);
    put(st.l2_running, l2_active(c));
    put(st.host_svme, c.host.svme);
    put(st.host_hsave, c.host.hsave_pa != 0);
}

} // namespace vbh::svm
