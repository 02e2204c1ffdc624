// The KVM API as vbh-vmm uses it: /dev/kvm, one VM, its vCPUs. Thin owners of the file
// descriptors and the kvm_run page; each call is one ioctl (Documentation/virt/kvm/api.rst)
// and a failure says which ioctl failed and why.
#pragma once

#include "result.hpp"

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vmm {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_{fd} {}
    Fd(Fd&& o) noexcept : fd_{o.fd_} { o.fd_ = -1; }
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }

private:
    int fd_ = -1;
};

class Kvm {
public:
    // Opens /dev/kvm and checks the API version and the capabilities vbh-vmm needs.
    static Result<Kvm> open();
    int fd() const { return fd_.get(); }
    int run_size() const { return run_size_; }
    // KVM_GET_SUPPORTED_CPUID: what KVM can offer a guest on this host.
    Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
    // KVM_CHECK_EXTENSION on /dev/kvm: the capability's value, 0 if KVM does not know it.
    long extension(int cap) const;

private:
    Fd fd_;
    int run_size_ = 0;
};

class Vcpu {
public:
    Vcpu(Fd fd, kvm_run* run, int run_size, unsigned index)
        : fd_{std::move(fd)}, run_{run}, run_size_{run_size}, index_{index} {}
    Vcpu(Vcpu&& o) noexcept;
    Vcpu(const Vcpu&) = delete;
    ~Vcpu();
    unsigned index() const { return index_; }
    kvm_run& run_page() { return *run_; }
    // KVM_RUN: 0, or the errno (EINTR when a signal interrupted it).
    int run();
    Result<kvm_regs> regs() const;
    Result<void> set_regs(const kvm_regs& r);
    Result<kvm_sregs> sregs() const;
    Result<void> set_sregs(const kvm_sregs& s);
    Result<void> set_cpuid(const std::vector<kvm_cpuid_entry2>& entries);
    Result<void> set_mp_state(std::uint32_t state);
    // KVM_GET_TSC_KHZ: the guest's TSC frequency.
    Result<std::uint32_t> tsc_khz() const;

private:
    Fd fd_;
    kvm_run* run_;
    int run_size_;
    unsigned index_;
};

class Vm {
public:
    // KVM_CREATE_VM of `type` (KVM_X86_DEFAULT_VM = 0, or uapi::x86_sw_protected_vm).
    static Result<Vm> create(const Kvm& kvm, unsigned long type = 0);
    // KVM_SET_USER_MEMORY_REGION: guest-physical [gpa, gpa + size) is host memory at host.
    Result<void> set_memory(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                            void* host);
    // KVM_CHECK_EXTENSION on the VM (some answers depend on its type).
    long extension(int cap) const;
    // KVM_ENABLE_CAP with args[0] = arg.
    Result<void> enable_cap(std::uint32_t cap, std::uint64_t arg);
    // KVM_CREATE_GUEST_MEMFD: a file of `size` bytes of private memory for this VM.
    Result<Fd> create_guest_memfd(std::uint64_t size);
    // KVM_SET_USER_MEMORY_REGION2 with KVM_MEM_GUEST_MEMFD: [gpa, gpa + size) is `host`
    // while shared and the guest_memfd `gmem` from offset 0 while private.
    Result<void> set_private_memory(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                                    void* host, const Fd& gmem);
    // KVM_SET_MEMORY_ATTRIBUTES: [gpa, gpa + size) private (uapi::memory_attribute_private)
    // or shared (0).
    Result<void> set_attributes(std::uint64_t gpa, std::uint64_t size, std::uint64_t attributes);
    // KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and a LAPIC per vCPU (before any vCPU).
    Result<void> create_irqchip();
    Result<Vcpu> create_vcpu(unsigned index);

private:
    explicit Vm(Fd fd, int run_size) : fd_{std::move(fd)}, run_size_{run_size} {}
    Fd fd_;
    int run_size_;
};

} // namespace vmm
