// The KVM API for private memory (Linux 6.8 and later), spelled here: the build uses
// Debian 12's linux-libc-dev (6.1), which has none of it. Values and layouts are those
// of Linux 6.12's include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h
// (Documentation/virt/kvm/api.rst: KVM_CREATE_GUEST_MEMFD, KVM_SET_USER_MEMORY_REGION2,
// KVM_SET_MEMORY_ATTRIBUTES, KVM_CAP_VM_TYPES, KVM_EXIT_MEMORY_FAULT); where the
// headers have them too, they are checked against them.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

namespace vmm::uapi {

constexpr int cap_user_memory2 = 231;
constexpr int cap_memory_attributes = 233;
constexpr int cap_guest_memfd = 234;
constexpr int cap_vm_types = 235;       // KVM_CHECK_EXTENSION: a mask of VM types

constexpr unsigned long x86_sw_protected_vm = 1;  // KVM_X86_SW_PROTECTED_VM

constexpr std::uint32_t mem_guest_memfd = 1u << 2;           // KVM_MEM_GUEST_MEMFD
constexpr std::uint64_t memory_attribute_private = 1ull << 3;
constexpr std::uint32_t exit_memory_fault = 39;
constexpr std::uint64_t memory_exit_flag_private = 1ull << 3;

struct UserMemoryRegion2 {
    std::uint32_t slot;
    std::uint32_t flags;
    std::uint64_t guest_phys_addr;
    std::uint64_t memory_size;
    std::uint64_t userspace_addr;
    std::uint64_t guest_memfd_offset;
    std::uint32_t guest_memfd;
    std::uint32_t pad1;
    std::uint64_t pad2[14];
};
static_assert(sizeof(UserMemoryRegion2) == 160);

struct MemoryAttributes {
    std::uint64_t address;
    std::uint64_t size;
    std::uint64_t attributes;
    std::uint64_t flags;
};

struct CreateGuestMemfd {
    std::uint64_t size;
    std::uint64_t flags;
    std::uint64_t reserved[6];
};

// kvm_run's exit union for KVM_EXIT_MEMORY_FAULT.
struct MemoryFault {
    std::uint64_t flags;
    std::uint64_t gpa;
    std::uint64_t size;
};

constexpr unsigned long set_user_memory_region2 = _IOW(KVMIO, 0x49, UserMemoryRegion2);
constexpr unsigned long set_memory_attributes = _IOW(KVMIO, 0xd2, MemoryAttributes);
constexpr unsigned long create_guest_memfd = _IOWR(KVMIO, 0xd4, CreateGuestMemfd);

#ifdef KVM_CAP_VM_TYPES
static_assert(cap_vm_types == KVM_CAP_VM_TYPES && cap_guest_memfd == KVM_CAP_GUEST_MEMFD);
static_assert(cap_user_memory2 == KVM_CAP_USER_MEMORY2);
static_assert(cap_memory_attributes == KVM_CAP_MEMORY_ATTRIBUTES);
static_assert(x86_sw_protected_vm == KVM_X86_SW_PROTECTED_VM);
static_assert(mem_guest_memfd == KVM_MEM_GUEST_MEMFD);
static_assert(memory_attribute_private == KVM_MEMORY_ATTRIBUTE_PRIVATE);
static_assert(exit_memory_fault == KVM_EXIT_MEMORY_FAULT);
static_assert(set_user_memory_region2 == KVM_SET_USER_MEMORY_REGION2);
static_assert(set_memory_attributes == KVM_SET_MEMORY_ATTRIBUTES);
static_assert(create_guest_memfd == KVM_CREATE_GUEST_MEMFD);
#endif

} // namespace vmm::uapi
