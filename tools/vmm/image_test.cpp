// The image written into guest RAM and the entry state of a vCPU.
#include "cpuid.hpp"
#include "long_mode.hpp"
#include "memory.hpp"
#include "paging.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace vmm {
namespace {

std::uint64_t u64(const std::vector<std::uint8_t>& ram, std::uint64_t gpa) {
    std::uint64_t v;
    std::memcpy(&v, ram.data() + gpa, 8);
    return v;
}
std::uint32_t u32(const std::vector<std::uint8_t>& ram, std::uint64_t gpa) {
    std::uint32_t v;
    std::memcpy(&v, ram.data() + gpa, 4);
    return v;
}

TEST(Image, LaysOutGdtParamsPayloadAndTables) {
    std::vector<std::uint8_t> ram(VMM_RAM_SIZE, 0xCC);
    const std::vector<std::uint8_t> payload{0xF4, 0xEB, 0xFD};
    auto cr3 = write_image(ram, payload, BootParams{2, 20, 1000000, 500, 0});
    ASSERT_TRUE(cr3);
    EXPECT_EQ(*cr3, std::uint64_t{VMM_PAGE_TABLES});
    // The descriptors every 64-bit kernel uses for flat ring-0 code and data.
    EXPECT_EQ(u64(ram, VMM_GDT), 0u);
    EXPECT_EQ(u64(ram, VMM_GDT + VMM_CODE_SEL), 0x00AF9B000000FFFFull);
    EXPECT_EQ(u64(ram, VMM_GDT + VMM_DATA_SEL), 0x00CF93000000FFFFull);
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_VCPUS), 2u);
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_TICKS), 20u);
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_TIMER_COUNT), 1000000u);
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_BENCH_ITERATIONS), 500u);
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_ARRIVED), 0u);
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_PRIVATE_CODE), 0u);
    EXPECT_EQ(std::memcmp(ram.data() + VMM_PAYLOAD, payload.data(), payload.size()), 0);
    for (std::uint64_t a : {std::uint64_t{VMM_PAYLOAD}, stack_top(1) - 8, percpu_vars(1)}) {
        auto t = translate(ram, *cr3, a);
        ASSERT_TRUE(t);
        EXPECT_EQ(t->pa, a);
        EXPECT_FALSE(t->leaf & pte_pcd);
    }
    for (std::uint64_t a : {std::uint64_t{MMIO_BASE}, std::uint64_t{LAPIC_BASE + APIC_EOI}}) {
        auto t = translate(ram, *cr3, a);
        ASSERT_TRUE(t);
        EXPECT_EQ(t->pa, a);
        EXPECT_TRUE(t->leaf & pte_pcd);
    }
}

TEST(Image, PrivateCodeFlag) {
    std::vector<std::uint8_t> ram(VMM_RAM_SIZE);
    const std::vector<std::uint8_t> payload(16);
    BootParams p{1, 1, 1, 0, 0, true, 5};
    p.private_code = true;
    ASSERT_TRUE(write_image(ram, payload, p));
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_PRIVATE_CODE), 1u);
    EXPECT_EQ(u32(ram, VMM_BOOT_PARAMS + BP_SECRET), 1u);
}

TEST(Image, RefusesBadParameters) {
    std::vector<std::uint8_t> ram(VMM_RAM_SIZE);
    const std::vector<std::uint8_t> payload(16);
    EXPECT_FALSE(write_image(ram, payload, BootParams{0, 1, 1, 0, 0}));
    EXPECT_FALSE(write_image(ram, payload, BootParams{VMM_MAX_VCPUS + 1, 1, 1, 0, 0}));
    // The secret stage's private copy of the payload holds PV_CODE_PAGES pages.
    const std::vector<std::uint8_t> huge(PV_CODE_PAGES * 0x1000 + 1);
    EXPECT_FALSE(write_image(ram, huge, BootParams{1, 1, 1, 0, 0}));
    EXPECT_TRUE(write_image(ram, std::span{huge}.first(PV_CODE_PAGES * 0x1000),
                            BootParams{1, 1, 1, 0, 0}));
    std::vector<std::uint8_t> small(VMM_RAM_SIZE - 1);
    EXPECT_FALSE(write_image(small, payload, BootParams{1, 1, 1, 0, 0}));
}

TEST(LongMode, EntryState) {
    kvm_sregs reset{};
    reset.apic_base = 0xFEE00900;
    reset.tr.selector = 0x1234;
    const kvm_sregs s = long_mode_sregs(reset, 0x10000, percpu_vars(1));
    EXPECT_EQ(s.cr3, 0x10000u);
    EXPECT_EQ(s.cr0 & (cr0_pe | cr0_pg), cr0_pe | cr0_pg);
    EXPECT_TRUE(s.cr4 & cr4_pae);
    EXPECT_EQ(s.efer & (efer_lme | efer_lma), efer_lme | efer_lma);
    EXPECT_EQ(s.cs.l, 1);
    EXPECT_EQ(s.cs.db, 0);
    EXPECT_EQ(s.cs.selector, VMM_CODE_SEL);
    EXPECT_EQ(s.ss.selector, VMM_DATA_SEL);
    EXPECT_EQ(s.gs.base, percpu_vars(1));
    EXPECT_EQ(s.gdt.base, std::uint64_t{VMM_GDT});
    EXPECT_EQ(s.apic_base, reset.apic_base);
    EXPECT_EQ(s.tr.selector, reset.tr.selector);
    // What the sregs load and what IRETQ reloads from the GDT are the same segments.
    EXPECT_EQ(gdt()[VMM_CODE_SEL / 8], descriptor(s.cs));
    EXPECT_EQ(gdt()[VMM_DATA_SEL / 8], descriptor(s.ss));
}

TEST(Cpuid, HypervisorLeavesAreTheVmms) {
    std::vector<kvm_cpuid_entry2> supported(4);
    supported[0].function = 0;
    supported[0].eax = 0x10;
    supported[1].function = 1;
    supported[1].ebx = 0xAA020800;  // APIC ID 0xAA, 2 logical, CLFLUSH 8
    supported[2].function = 0x40000000;
    supported[2].ebx = 0x4B4D564B;  // "KVMK"
    supported[3].function = 0x40000001;
    supported[3].eax = 0xFFFF;
    const auto t = vcpu_cpuid(supported, 3);
    ASSERT_EQ(t.size(), 4u);
    auto find = [&](std::uint32_t f) {
        const kvm_cpuid_entry2* hit = nullptr;
        for (const auto& e : t)
            if (e.function == f) {
                EXPECT_EQ(hit, nullptr) << "leaf " << f << " twice";
                hit = &e;
            }
        return hit;
    };
    ASSERT_TRUE(find(1));
    EXPECT_EQ(find(1)->ebx, 0x03020800u);
    ASSERT_TRUE(find(CPUID_VMM_BASE));
    EXPECT_EQ(find(CPUID_VMM_BASE)->eax, std::uint32_t{CPUID_VMM_VCPU});
    EXPECT_EQ(find(CPUID_VMM_BASE)->ebx, std::uint32_t{CPUID_SIG_EBX});
    EXPECT_EQ(find(CPUID_VMM_BASE)->ecx, std::uint32_t{CPUID_SIG_ECX});
    EXPECT_EQ(find(CPUID_VMM_BASE)->edx, std::uint32_t{CPUID_SIG_EDX});
    ASSERT_TRUE(find(CPUID_VMM_VCPU));
    EXPECT_EQ(find(CPUID_VMM_VCPU)->eax, std::uint32_t{CPUID_VCPU_MAGIC | 3});
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&find(CPUID_VMM_BASE)->ebx), 4), "vbh-");
}

} // namespace
} // namespace vmm
