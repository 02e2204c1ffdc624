// Guest memory: RAM is anonymous host memory registered as memslot 0 at GPA 0, and
// nothing else is backed but the secret stage's memslot 1 (secret.hpp), so the MMIO
// window and the LAPIC page exit to KVM. The image written into RAM before the first
// KVM_RUN is what payload_abi.h lays out: GDT, boot parameters, page tables, the
// payload. In a protected VM all of it stays shared: the VMM must write it.
#pragma once

#include "kvm.hpp"
#include "payload_abi.h"

#include <cstdint>
#include <span>

namespace vmm {

class GuestRam {
public:
    // Maps `size` bytes and registers them as memslot 0 at GPA 0.
    static Result<GuestRam> create(Vm& vm, std::uint64_t size);
    GuestRam(GuestRam&& o) noexcept : base_{o.base_}, size_{o.size_} { o.base_ = nullptr; }
    GuestRam(const GuestRam&) = delete;
    ~GuestRam();
    std::span<std::uint8_t> bytes() { return {base_, size_}; }
    // A u32/u64 in RAM that the guest and the VMM both touch (boot parameters, per-vCPU
    // variables), read with a relaxed atomic load so a racing guest write is no UB.
    std::uint64_t load(std::uint64_t gpa, unsigned size) const;

private:
    GuestRam(std::uint8_t* base, std::uint64_t size) : base_{base}, size_{size} {}
    std::uint8_t* base_;
    std::uint64_t size_;
};

// What the payload is told at entry (payload_abi.h: BP_*).
struct BootParams {
    std::uint32_t vcpus;
    std::uint32_t ticks;
    std::uint32_t timer_count;
    std::uint32_t bench_iterations;
    std::uint32_t bench_vcpu;
    bool secret = false;          // vCPU 0 runs the secret stage
    std::uint64_t secret_seed = 0;
    std::uint32_t touch_pages = 0;     // vCPU 0 runs the touch benchmark (0: not)
    std::uint32_t touch_cpu_iters = 0;
    bool private_code = false;    // the secret stage runs from private pages
};

// Writes the GDT, boot parameters, page tables and payload into `ram` (ram[0] = GPA 0).
// Returns the CR3 value for the vCPUs. Pure, so tested on the host.
Result<std::uint64_t> write_image(std::span<std::uint8_t> ram,
                                  std::span<const std::uint8_t> payload,
                                  const BootParams& params);

// Guest-physical addresses of vCPU i's per-vCPU block and stack.
constexpr std::uint64_t percpu_vars(unsigned i) {
    return VMM_PERCPU + std::uint64_t{i} * VMM_PERCPU_STRIDE + VMM_PERCPU_VARS;
}
constexpr std::uint64_t stack_top(unsigned i) {
    return VMM_STACKS + (std::uint64_t{i} + 1) * VMM_STACK_SIZE;
}
static_assert(VMM_PERCPU + VMM_MAX_VCPUS * VMM_PERCPU_STRIDE <= VMM_PAYLOAD);
static_assert(stack_top(VMM_MAX_VCPUS - 1) <= VMM_RAM_SIZE);
static_assert(VMM_PAGE_TABLES + 6 * 0x1000 <= VMM_PERCPU);
// payload_private.S: its three PTs map VA 0-6 MiB, vCPU 0's pages and the secret's.
static_assert(VMM_SECRET + VMM_SECRET_SIZE <= PV_PT_COUNT * 0x200000);
static_assert(PV_CODE + PV_CODE_PAGES <= VMM_PRIVATE_PAGES && PV_STACK < PV_CODE);
static_assert(PV_PT + PV_PT_COUNT <= PV_GDT && VMM_PAYLOAD + PV_CODE_PAGES * 0x1000 <= VMM_STACKS);

} // namespace vmm
