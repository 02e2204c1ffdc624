#include "secret.hpp"

#include "kvm_private.hpp"
#include "payload_abi.h"
#include "stream.hpp"

#include <asm/kvm_para.h>
#include <linux/kvm_para.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

namespace vmm {

static_assert(HC_MAP_GPA_RANGE == KVM_HC_MAP_GPA_RANGE);
static_assert(HC_MAP_ENCRYPTED == KVM_MAP_GPA_RANGE_ENCRYPTED);
static_assert(VMM_SECRET == VMM_RAM_SIZE, "memslot 1 follows memslot 0");

namespace {

constexpr std::uint64_t page = 0x1000;
constexpr std::uint32_t secret_slot = 1;
// KVM's hypercall status for a bad argument (include/uapi/linux/kvm_para.h), negated
// in rax as KVM itself answers.
constexpr std::uint64_t hc_einval = static_cast<std::uint64_t>(-KVM_EINVAL);

} // namespace

Conversion classify_conversion(std::uint64_t gpa, std::uint64_t pages, std::uint64_t attrs) {
    Conversion c;
    if (gpa % page || gpa < VMM_SECRET || pages == 0 || pages > VMM_SECRET_PAGES) return c;
    const std::uint64_t first = (gpa - VMM_SECRET) / page;
    if (first + pages > VMM_SECRET_PAGES) return c;
    if (attrs != 0 && attrs != HC_MAP_ENCRYPTED) return c;  // 2M/1G sizes, other bits
    return Conversion{true, attrs == HC_MAP_ENCRYPTED, first, pages};
}

bool usable_seed(std::uint64_t seed) { return seed != 0 && seed != SECRET_SHARED_SALT; }

Result<void> require_protected(const Kvm& kvm) {
    const long types = kvm.extension(uapi::cap_vm_types);
    // Before Linux 6.8 (Debian's 6.1) KVM has neither VM types nor guest_memfd: both
    // capabilities are unknown numbers there, which KVM answers with 0.
    if (types <= 0 && kvm.extension(uapi::cap_guest_memfd) <= 0)
        return Error{
            "--protected: this kernel's KVM has no guest_memfd and no VM types "
            "(KVM_CAP_GUEST_MEMFD and KVM_CAP_VM_TYPES are 0: Linux before 6.8, e.g. Debian's "
            "6.1): private memory needs KVM_X86_SW_PROTECTED_VM on Linux 6.8 or later "
            "(docs/protected-vm.md)"};
    if (types <= 0 || !(types & (1l << uapi::x86_sw_protected_vm)))
        return Error{fmt::format(
            "--protected: KVM_CAP_VM_TYPES is {:#x}, without KVM_X86_SW_PROTECTED_VM (bit {}): "
            "this kvm.ko is built without CONFIG_KVM_SW_PROTECTED_VM (Debian's is; "
            "loader/kvm/build.sh makes one with it), or its TDP MMU is off (kvm_amd npt=0)",
            types < 0 ? 0 : types, uapi::x86_sw_protected_vm)};
    if (kvm.extension(uapi::cap_guest_memfd) <= 0)
        return Error{"--protected: /dev/kvm: no KVM_CAP_GUEST_MEMFD"};
    if (kvm.extension(uapi::cap_user_memory2) <= 0)
        return Error{"--protected: /dev/kvm: no KVM_CAP_USER_MEMORY2"};
    return {};
}

SecretRegion::SecretRegion(Vm& vm, const SecretOptions& o, std::uint8_t* shared)
    : vm_{vm}, o_{o}, shared_{shared}, window_(VMM_SECRET_SHARED_PAGES * page) {
    stream_fill(window_, o.seed ^ SECRET_SHARED_SALT);
}

SecretRegion::~SecretRegion() { ::munmap(shared_, VMM_SLOT1_SIZE); }

Result<std::unique_ptr<SecretRegion>> SecretRegion::create(Vm& vm, const SecretOptions& o) {
    // KVM_HC_MAP_GPA_RANGE exits to user space only once enabled (api.rst,
    // KVM_CAP_EXIT_HYPERCALL); otherwise the guest gets -KVM_ENOSYS.
    constexpr std::uint64_t map_gpa = 1ull << KVM_HC_MAP_GPA_RANGE;
    if (!(vm.extension(KVM_CAP_EXIT_HYPERCALL) & static_cast<long>(map_gpa)))
        return Error{"KVM_CAP_EXIT_HYPERCALL: no KVM_HC_MAP_GPA_RANGE"};
    if (auto r = vm.enable_cap(KVM_CAP_EXIT_HYPERCALL, map_gpa); !r) return r.error();

    // The slot: the secret's pages, then those of the private code (payload_private.S).
    void* p = ::mmap(nullptr, VMM_SLOT1_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno_error("mmap of the secret region", errno);
    std::unique_ptr<SecretRegion> s{new SecretRegion{vm, o, static_cast<std::uint8_t*>(p)}};
    if (!o.protected_vm) {
        if (auto r = vm.set_memory(secret_slot, VMM_SECRET, VMM_SLOT1_SIZE, p); !r)
            return r.error();
        return s;
    }
    // The same slot, two backings: the mapping while a page is shared, the guest_memfd
    // while it is private (the attribute decides, per page).
    const long attributes = vm.extension(uapi::cap_memory_attributes);
    if (!(attributes & static_cast<long>(uapi::memory_attribute_private)))
        return Error{"KVM_CAP_MEMORY_ATTRIBUTES: this VM has no private attribute"};
    auto gmem = vm.create_guest_memfd(VMM_SLOT1_SIZE);
    if (!gmem) return gmem.error();
    s->gmem_ = std::move(*gmem);
    if (auto r = vm.set_private_memory(secret_slot, VMM_SECRET, VMM_SLOT1_SIZE, p, s->gmem_); !r)
        return r.error();
    if (auto r = vm.set_attributes(VMM_SECRET, VMM_SLOT1_SIZE, uapi::memory_attribute_private); !r)
        return r.error();
    return s;
}

Verdict SecretRegion::map_gpa_range(const Hypercall& call) {
    ++tally_.calls;
    const Conversion c = classify_conversion(call.args[0], call.args[1], call.args[2]);
    if (!c.ok) {
        ++tally_.refused;
        *call.ret = hc_einval;
        return {};
    }
    const std::uint64_t gpa = VMM_SECRET + c.first_page * page, bytes = c.pages * page;
    if (o_.protected_vm) {
        const std::uint64_t attributes = c.to_private ? uapi::memory_attribute_private : 0;
        if (auto r = vm_.set_attributes(gpa, bytes, attributes); !r)
            return {Verdict::fault, r.error().message};
    }
    if (c.to_private) {
        tally_.to_private_pages += c.pages;
    } else {
        // The host's data for the guest: the pages of the window that just went shared.
        constexpr std::uint64_t first = VMM_SECRET_SHARED_FIRST;
        for (std::uint64_t i = c.first_page; i < c.first_page + c.pages; ++i) {
            if (i < first || i >= first + VMM_SECRET_SHARED_PAGES) continue;
            std::memcpy(shared_ + i * page, window_.data() + (i - first) * page, page);
        }
        tally_.to_shared_pages += c.pages;
    }
    *call.ret = 0;
    return {};
}

// --redirect's code, which the host writes into shared RAM at VMM_EXFIL: copy the
// secret region to VMM_EXFIL_DATA, then OUT to the sync port again (the VMM then puts
// vCPU 0's registers back). What a hostile host does that drives the vCPU: KVM lets it
// set any register of a software-protected VM's vCPU; vbh's authoritative vCPU state
// (issue 13 point 3) is the defence.
constexpr std::uint8_t exfil_code[] = {
    0xBE, 0x00, 0x00, 0x40, 0x00,  // mov esi, VMM_SECRET
    0xBF, 0x00, 0x10, 0x30, 0x00,  // mov edi, VMM_EXFIL_DATA
    0xB9, 0x00, 0x20, 0x00, 0x00,  // mov ecx, VMM_SECRET_SIZE / 8
    0xFC,                          // cld
    0xF3, 0x48, 0xA5,              // rep movsq
    0x66, 0xBA, 0x83, 0x06,        // mov dx, PORT_SECRET_SYNC
    0xEF,                          // out dx, eax
    0xF4, 0xEB, 0xFD,              // 1: hlt; jmp 1b (never reached)
};
static_assert(VMM_SECRET == 0x400000 && VMM_EXFIL_DATA == 0x301000 &&
              VMM_SECRET_SIZE / 8 == 0x2000 && PORT_SECRET_SYNC == 0x683);

std::uint64_t SecretRegion::exfiltrated() const {
    if (ram_.size() < VMM_EXFIL_DATA + VMM_SECRET_SIZE) return 0;
    return stream_same_qwords(ram_.subspan(VMM_EXFIL_DATA, VMM_SECRET_SIZE), o_.seed);
}

// --rewrite-code: the host writes exfil_code over the guest's code where the guest goes
// on after the hold: the instruction after its OUT to the sync port (RIP is still at
// the OUT: KVM advances it on the next KVM_RUN), through the VMM's mapping of memslot 0.
// KVM and vbh let the host write shared memory at any time; what defends the secret is
// that a protected guest runs its secret stage from private copies (payload_private.S),
// so the bytes written here are not the ones it executes. With --shared-code (the old
// layout) they are: the guest copies its secret to VMM_EXFIL_DATA and comes back to the
// sync port, where sync() stops it.
Verdict SecretRegion::rewrite_code() {
    if (!vcpu0_) return {Verdict::fault, "--rewrite-code: no vCPU 0 attached"};
    auto regs = vcpu0_->regs();
    if (!regs) return {Verdict::fault, regs.error().message};
    const std::uint64_t at = regs->rip + 1;
    if (regs->rip >= ram_.size() || ram_[regs->rip] != 0xEF ||
        at + sizeof(exfil_code) > ram_.size())
        return {Verdict::fault, fmt::format("--rewrite-code: RIP {:#x} is not the guest's OUT "
                                            "in RAM", regs->rip)};
    std::memcpy(ram_.data() + at, exfil_code, sizeof(exfil_code));
    rewritten_ = true;
    fmt::print("info protected_rewrite at={:#x} bytes={}\n", at, sizeof(exfil_code));
    std::fflush(stdout);
    return {};
}

Verdict SecretRegion::sync() {
    if (rewritten_) {  // only the host's code comes here again: it ran in the guest
        fmt::print("info protected_rewrite returned exfil_qwords={}\n", exfiltrated());
        std::fflush(stdout);
        return {Verdict::fault, "--rewrite-code: the host's code ran in the guest"};
    }
    if (redirected_) {  // the host's code ran: the guest goes on where it stopped
        // KVM completes an OUT (advances RIP past it) on the next KVM_RUN only if RIP
        // did not change meanwhile (complete_fast_pio_out()); it did, so the VMM steps
        // over the guest's one-byte OUT %eax,%dx itself.
        kvm_regs back = *redirected_;
        if (back.rip < ram_.size() && ram_[back.rip] == 0xEF) ++back.rip;
        auto r = vcpu0_->set_regs(back);
        redirected_.reset();
        if (!r) return {Verdict::fault, r.error().message};
        fmt::print("info protected_redirect returned exfil_qwords={}\n", exfiltrated());
        std::fflush(stdout);
        return {};
    }
    // On stdout at once: whoever attacks the secret (a test) starts on this line.
    // hva: the VMM's own mapping of the slot, where an attack through /proc/<pid>/mem
    // looks (tests/scenarios/protected-vm.sh).
    fmt::print("info protected_ready seed={:#x} gpa={:#x} bytes={} vm={} pid={} hva={:#x}\n",
               o_.seed, VMM_SECRET, VMM_SECRET_SIZE,
               o_.protected_vm ? "protected" : "unprotected", ::getpid(),
               reinterpret_cast<std::uintptr_t>(shared_));
    std::fflush(stdout);
    if (!o_.ready_file.empty()) {
        // Empty; its existence is the message. A failure ends the vCPU: whoever waits
        // for the file would otherwise wait for nothing.
        const int fd =
            ::open(o_.ready_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            return {Verdict::fault, errno_error("--ready-file " + o_.ready_file, errno).message};
        ::close(fd);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto until = t0 + std::chrono::seconds{o_.hold_s};
    bool by_file = false;
    while (std::chrono::steady_clock::now() < until) {
        if (!o_.hold_file.empty() && ::access(o_.hold_file.c_str(), F_OK) == 0) {
            by_file = true;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0);
    // The VMM reads its own mapping of the slot: the secret's qwords it finds there (at
    // their place in the stream) are what a host process holding the memslot sees: all
    // 8192 in an ordinary VM, none in a protected one (the private pages are in the
    // guest_memfd). Whole qwords: a byte of zeros matches the stream 1 time in 256.
    const std::uint64_t own_qwords = stream_same_qwords({shared_, VMM_SECRET_SIZE}, o_.seed);
    if (o_.scribble) {
        // Through the VMM's own mapping of the slot: where an unprotected guest's secret
        // is, and where a protected guest's is not. The complement of the stream makes
        // every byte of a secret kept there differ.
        stream_fill({shared_, VMM_SECRET_SIZE}, o_.seed);
        for (std::uint64_t i = 0; i < VMM_SECRET_SIZE; ++i) shared_[i] = ~shared_[i];
    }
    fmt::print("info protected_resume held_ms={} by={} own_mapping_secret_qwords={}{}\n",
               held.count(), by_file ? "file" : "time", own_qwords,
               o_.scribble ? " scribbled" : "");
    std::fflush(stdout);
    if (o_.redirect && !redirect_done_) {
        redirect_done_ = true;
        if (!vcpu0_ || ram_.size() < VMM_EXFIL + sizeof(exfil_code))
            return {Verdict::fault, "--redirect: no vCPU 0 or RAM attached"};
        auto regs = vcpu0_->regs();
        if (!regs) return {Verdict::fault, regs.error().message};
        std::memcpy(ram_.data() + VMM_EXFIL, exfil_code, sizeof(exfil_code));
        kvm_regs to = *regs;
        to.rip = VMM_EXFIL;
        if (auto r = vcpu0_->set_regs(to); !r) return {Verdict::fault, r.error().message};
        redirected_ = *regs;
        fmt::print("info protected_redirect rip={:#x} to={:#x}\n", regs->rip, to.rip);
        std::fflush(stdout);
    }
    if (o_.rewrite_code) return rewrite_code();
    return {};
}

} // namespace vmm
