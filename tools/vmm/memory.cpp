#include "memory.hpp"

#include "long_mode.hpp"
#include "paging.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <sys/mman.h>

namespace vmm {

Result<GuestRam> GuestRam::create(Vm& vm, std::uint64_t size) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno_error("mmap of guest RAM", errno);
    GuestRam ram{static_cast<std::uint8_t*>(p), size};
    if (auto r = vm.set_memory(0, 0, size, p); !r) return r.error();
    return ram;
}

GuestRam::~GuestRam() {
    if (base_) ::munmap(base_, size_);
}

std::uint64_t GuestRam::load(std::uint64_t gpa, unsigned size) const {
    if (size == 4) return std::atomic_ref{*reinterpret_cast<std::uint32_t*>(base_ + gpa)}
                              .load(std::memory_order_relaxed);
    return std::atomic_ref{*reinterpret_cast<std::uint64_t*>(base_ + gpa)}
        .load(std::memory_order_relaxed);
}

namespace {

void put32(std::span<std::uint8_t> ram, std::uint64_t gpa, std::uint32_t v) {
    std::memcpy(ram.data() + gpa, &v, sizeof v);
}

} // namespace

Result<std::uint64_t> write_image(std::span<std::uint8_t> ram,
                                  std::span<const std::uint8_t> payload,
                                  const BootParams& params) {
    if (ram.size() < VMM_RAM_SIZE)
        return Error{"guest RAM smaller than VMM_RAM_SIZE"};
    // PV_CODE_PAGES: the private copy of the payload (payload_private.S) holds no more.
    if (payload.size() > std::uint64_t{PV_CODE_PAGES} * 0x1000)
        return Error{"payload of " + std::to_string(payload.size()) + " bytes does not fit"};
    if (params.vcpus == 0 || params.vcpus > VMM_MAX_VCPUS)
        return Error{"vCPU count " + std::to_string(params.vcpus) + " not 1.." +
                     std::to_string(VMM_MAX_VCPUS)};
    std::memset(ram.data(), 0, VMM_RAM_SIZE);

    const Gdt table = gdt();
    std::memcpy(ram.data() + VMM_GDT, table.data(), sizeof table);

    put32(ram, VMM_BOOT_PARAMS + BP_VCPUS, params.vcpus);
    put32(ram, VMM_BOOT_PARAMS + BP_TICKS, params.ticks);
    put32(ram, VMM_BOOT_PARAMS + BP_TIMER_COUNT, params.timer_count);
    put32(ram, VMM_BOOT_PARAMS + BP_BENCH_ITERATIONS, params.bench_iterations);
    put32(ram, VMM_BOOT_PARAMS + BP_BENCH_VCPU, params.bench_vcpu);
    put32(ram, VMM_BOOT_PARAMS + BP_SECRET, params.secret ? 1 : 0);
    std::memcpy(ram.data() + VMM_BOOT_PARAMS + BP_SECRET_SEED, &params.secret_seed, 8);
    put32(ram, VMM_BOOT_PARAMS + BP_TOUCH_PAGES, params.touch_pages);
    put32(ram, VMM_BOOT_PARAMS + BP_TOUCH_CPU_ITERS, params.touch_cpu_iters);
    put32(ram, VMM_BOOT_PARAMS + BP_PRIVATE_CODE, params.private_code ? 1 : 0);

    std::memcpy(ram.data() + VMM_PAYLOAD, payload.data(), payload.size());

    // 4 GiB: RAM, the MMIO window at 3 GiB and the LAPIC at 0xFEE00000; from 3 GiB up
    // everything is device memory, mapped uncached.
    return build_identity_map(ram, VMM_PAGE_TABLES, 4 * gib, MMIO_BASE);
}

} // namespace vmm
