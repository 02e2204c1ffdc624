#include "kvm.hpp"

#include "kvm_private.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace vmm {

Error errno_error(const std::string& what, int err) {
    return Error{what + ": " + std::strerror(err)};
}

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

namespace {

// ioctl that returns its (non-negative) result or -errno.
long call(int fd, unsigned long request, const void* arg) {
    long r = ::ioctl(fd, request, arg);
    return r < 0 ? -errno : r;
}

Result<void> check(long r, const char* what) {
    if (r < 0) return errno_error(what, static_cast<int>(-r));
    return {};
}

// struct kvm_cpuid2 as the kernel has it: nent, padding, then the entries at offset 8.
// linux-libc-dev 6.1 declares the entries with __DECLARE_FLEX_ARRAY, which in C++ puts
// an empty struct (1 byte) before them: sizeof(kvm_cpuid2) is 12 there, the entries sit
// at offset 12 and the ioctl numbers encode size 12, and KVM answers EINVAL. Later
// kernels fix the header ("uapi: stddef.h: Fix __DECLARE_FLEX_ARRAY for C++"); until
// the build uses such headers, the layout and the two numbers are spelled here.
struct Cpuid2 {
    std::uint32_t nent;
    std::uint32_t padding;
};
static_assert(sizeof(Cpuid2) == 8);
constexpr unsigned long get_supported_cpuid = _IOWR(KVMIO, 0x05, Cpuid2);
constexpr unsigned long set_cpuid2 = _IOW(KVMIO, 0x90, Cpuid2);

// A Cpuid2 header followed by n entries.
std::vector<std::uint8_t> cpuid_buffer(std::uint32_t n) {
    std::vector<std::uint8_t> buf(sizeof(Cpuid2) + n * sizeof(kvm_cpuid_entry2));
    const Cpuid2 head{n, 0};
    std::memcpy(buf.data(), &head, sizeof head);
    return buf;
}

kvm_cpuid_entry2* cpuid_entries(std::vector<std::uint8_t>& buf) {
    return reinterpret_cast<kvm_cpuid_entry2*>(buf.data() + sizeof(Cpuid2));
}

// Capabilities without which the payload cannot run as written.
struct NeededCap {
    int cap;
    const char* name;
};
constexpr NeededCap needed_caps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP (in-kernel LAPIC)"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID (KVM_SET_CPUID2)"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ"},
};

} // namespace

Result<Kvm> Kvm::open() {
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT)
            return Error{"no /dev/kvm: KVM is not loaded (modprobe kvm_amd, or kvm_intel; "
                         "the CPU, or the hypervisor below, must offer SVM or VMX)"};
        return errno_error("open /dev/kvm", err);
    }
    Kvm kvm;
    kvm.fd_ = Fd{fd};
    long version = call(fd, KVM_GET_API_VERSION, nullptr);
    if (version != KVM_API_VERSION)
        return Error{"/dev/kvm: API version " + std::to_string(version) + ", need " +
                     std::to_string(KVM_API_VERSION)};
    for (const auto& c : needed_caps) {
        if (call(fd, KVM_CHECK_EXTENSION, reinterpret_cast<void*>(long{c.cap})) <= 0)
            return Error{std::string{"/dev/kvm: no "} + c.name};
    }
    long size = call(fd, KVM_GET_VCPU_MMAP_SIZE, nullptr);
    if (auto r = check(size, "KVM_GET_VCPU_MMAP_SIZE"); !r) return r.error();
    kvm.run_size_ = static_cast<int>(size);
    return kvm;
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::supported_cpuid() const {
    // KVM fails with E2BIG while the buffer is too small.
    for (std::uint32_t n = 64; n <= 4096; n *= 2) {
        auto buf = cpuid_buffer(n);
        long r = call(fd(), get_supported_cpuid, buf.data());
        if (r == -E2BIG) continue;
        if (auto ok = check(r, "KVM_GET_SUPPORTED_CPUID"); !ok) return ok.error();
        Cpuid2 head;
        std::memcpy(&head, buf.data(), sizeof head);
        return std::vector<kvm_cpuid_entry2>(cpuid_entries(buf), cpuid_entries(buf) + head.nent);
    }
    return Error{"KVM_GET_SUPPORTED_CPUID: more than 4096 entries"};
}

long Kvm::extension(int cap) const {
    return call(fd(), KVM_CHECK_EXTENSION, reinterpret_cast<void*>(long{cap}));
}

Result<Vm> Vm::create(const Kvm& kvm, unsigned long type) {
    long fd = call(kvm.fd(), KVM_CREATE_VM, reinterpret_cast<void*>(type));
    if (auto r = check(fd, "KVM_CREATE_VM"); !r) return r.error();
    return Vm{Fd{static_cast<int>(fd)}, kvm.run_size()};
}

Result<void> Vm::set_memory(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                            void* host) {
    kvm_userspace_memory_region region{};
    region.slot = slot;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(host);
    return check(call(fd_.get(), KVM_SET_USER_MEMORY_REGION, &region),
                 "KVM_SET_USER_MEMORY_REGION");
}

long Vm::extension(int cap) const {
    return call(fd_.get(), KVM_CHECK_EXTENSION, reinterpret_cast<void*>(long{cap}));
}

Result<void> Vm::enable_cap(std::uint32_t cap, std::uint64_t arg) {
    kvm_enable_cap c{};
    c.cap = cap;
    c.args[0] = arg;
    return check(call(fd_.get(), KVM_ENABLE_CAP, &c), "KVM_ENABLE_CAP");
}

Result<Fd> Vm::create_guest_memfd(std::uint64_t size) {
    uapi::CreateGuestMemfd g{};
    g.size = size;
    long fd = call(fd_.get(), uapi::create_guest_memfd, &g);
    if (auto r = check(fd, "KVM_CREATE_GUEST_MEMFD"); !r) return r.error();
    return Fd{static_cast<int>(fd)};
}

Result<void> Vm::set_private_memory(std::uint32_t slot, std::uint64_t gpa, std::uint64_t size,
                                    void* host, const Fd& gmem) {
    uapi::UserMemoryRegion2 region{};
    region.slot = slot;
    region.flags = uapi::mem_guest_memfd;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(host);
    region.guest_memfd = static_cast<std::uint32_t>(gmem.get());
    region.guest_memfd_offset = 0;
    return check(call(fd_.get(), uapi::set_user_memory_region2, &region),
                 "KVM_SET_USER_MEMORY_REGION2");
}

Result<void> Vm::set_attributes(std::uint64_t gpa, std::uint64_t size, std::uint64_t attributes) {
    uapi::MemoryAttributes a{};
    a.address = gpa;
    a.size = size;
    a.attributes = attributes;
    return check(call(fd_.get(), uapi::set_memory_attributes, &a), "KVM_SET_MEMORY_ATTRIBUTES");
}

Result<void> Vm::create_irqchip() {
    return check(call(fd_.get(), KVM_CREATE_IRQCHIP, nullptr), "KVM_CREATE_IRQCHIP");
}

Result<Vcpu> Vm::create_vcpu(unsigned index) {
    long fd = call(fd_.get(), KVM_CREATE_VCPU, reinterpret_cast<void*>(long{index}));
    if (auto r = check(fd, "KVM_CREATE_VCPU"); !r) return r.error();
    Fd owner{static_cast<int>(fd)};
    void* run = ::mmap(nullptr, static_cast<std::size_t>(run_size_), PROT_READ | PROT_WRITE,
                       MAP_SHARED, owner.get(), 0);
    if (run == MAP_FAILED) return errno_error("mmap of the vCPU's kvm_run", errno);
    return Vcpu{std::move(owner), static_cast<kvm_run*>(run), run_size_, index};
}

Vcpu::Vcpu(Vcpu&& o) noexcept
    : fd_{std::move(o.fd_)}, run_{o.run_}, run_size_{o.run_size_}, index_{o.index_} {
    o.run_ = nullptr;
}

Vcpu::~Vcpu() {
    if (run_) ::munmap(run_, static_cast<std::size_t>(run_size_));
}

int Vcpu::run() {
    long r = call(fd_.get(), KVM_RUN, nullptr);
    return r < 0 ? static_cast<int>(-r) : 0;
}

Result<kvm_regs> Vcpu::regs() const {
    kvm_regs r{};
    if (auto ok = check(call(fd_.get(), KVM_GET_REGS, &r), "KVM_GET_REGS"); !ok)
        return ok.error();
    return r;
}

Result<void> Vcpu::set_regs(const kvm_regs& r) {
    return check(call(fd_.get(), KVM_SET_REGS, &r), "KVM_SET_REGS");
}

Result<kvm_sregs> Vcpu::sregs() const {
    kvm_sregs s{};
    if (auto ok = check(call(fd_.get(), KVM_GET_SREGS, &s), "KVM_GET_SREGS"); !ok)
        return ok.error();
    return s;
}

Result<void> Vcpu::set_sregs(const kvm_sregs& s) {
    return check(call(fd_.get(), KVM_SET_SREGS, &s), "KVM_SET_SREGS");
}

Result<void> Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
    auto buf = cpuid_buffer(static_cast<std::uint32_t>(entries.size()));
    std::memcpy(cpuid_entries(buf), entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
    return check(call(fd_.get(), set_cpuid2, buf.data()), "KVM_SET_CPUID2");
}

Result<void> Vcpu::set_mp_state(std::uint32_t state) {
    kvm_mp_state mp{state};
    return check(call(fd_.get(), KVM_SET_MP_STATE, &mp), "KVM_SET_MP_STATE");
}

Result<std::uint32_t> Vcpu::tsc_khz() const {
    long khz = call(fd_.get(), KVM_GET_TSC_KHZ, nullptr);
    if (auto ok = check(khz, "KVM_GET_TSC_KHZ"); !ok) return ok.error();
    return static_cast<std::uint32_t>(khz);
}

} // namespace vmm
