// The one point where the image picks its vendor backend. Everything vendor-specific
// the image's launch and VMRUN loop need is a static function of `Backend`; the
// concept below is that seam, checked at compile time. An Intel VMX backend
// (vbh/vmx/) provides the same functions and is chosen here instead; svm/ and vmx/
// never include each other or the image (docs/architecture.md).
#pragma once

#include <vbh/arch/kernel_state.hpp>
#include <vbh/boot.h>
#include <vbh/exit.hpp>
#include <vbh/svm/backend.hpp>

#include <concepts>
#include <cstdint>

namespace vbh::image {

// What the image lends a backend at init: zeroed, physically contiguous frames of
// hypervisor memory and the physical address of any byte of it (init.cpp).
struct BackendMemory {
    Result<void*> alloc_contig(std::uint64_t n);
    std::uint64_t phys(const void* p) const;
};

template <class B>
concept VcpuBackend = requires(typename B::Cpu& c, typename B::Pages& p, VcpuState& v,
                               const arch::KernelState& k, const vbh_guest_entry& e,
                               BackendMemory& mem, std::uint64_t* tsc, std::uint64_t x,
                               std::uint32_t n, const PlatformPorts& ports,
                               vbh_cpu_stats& st) {
    typename B::Stage2; // the host stage-2 table format (ept/)
    { B::check_cpu() } -> std::same_as<Status>;
    { B::init(mem, ports) } -> std::same_as<Result<void>>;
    { B::setup(c, p, mem) } -> std::same_as<void>;
    { B::prepare(c, k, e, x, n) } -> std::same_as<Status>;
    { B::enable(c, k) } -> std::same_as<void>;
    { B::start(c) } -> std::same_as<void>;
    { B::run(c, v, true, tsc) } -> std::same_as<bool>;
    { B::exit(c) } -> std::same_as<Exit>;
    { B::read(c, v) } -> std::same_as<void>;
    { B::write(c, v) } -> std::same_as<void>;
    { B::exit_code(c) } -> std::same_as<std::uint64_t>;
    { B::left_by_init(c) } -> std::same_as<bool>;
    { B::in_l2(c) } -> std::same_as<bool>; // the host's own guest runs (nested)
    { B::gauges(c, st) } -> std::same_as<void>; // live nested state into STATS_READ's copy
    { B::open_nmi_window() } -> std::same_as<void>;
    { B::close_nmi_window() } -> std::same_as<void>;
    { B::rdmsr(c, v, n) } -> std::same_as<MsrResult>;
    { B::wrmsr(c, v, n, x) } -> std::same_as<MsrResult>;
    { B::flush_caches() } -> std::same_as<void>;
    { B::rollback(c, k) } -> std::same_as<void>;
    { B::devirt(c, v, k) };
};

using Backend = svm::Svm;
static_assert(VcpuBackend<Backend>);

} // namespace vbh::image
