// The VMM's side of the secret stage (docs/vmm.md, "--protected"): memslot 1 at
// VMM_SECRET, the guest's conversions between private and shared, the sync point where
// the host's attacks run, and the optional scribble that shows the checks can fail.
// In a protected VM (KVM_X86_SW_PROTECTED_VM) the slot is a guest_memfd next to the
// VMM's anonymous mapping and starts private; in an unprotected one (the baseline) it
// is the mapping alone, and a conversion changes nothing in KVM.
#pragma once

#include "devices.hpp"
#include "kvm.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vmm {

struct SecretOptions {
    bool protected_vm = false;   // false: the same stage in an ordinary VM
    std::uint64_t seed = 0;      // the stream's seed (never 0)
    unsigned hold_s = 0;         // at the sync point: wait this long at most
    std::string hold_file;       // ... or until this file exists ("" = no file)
    bool scribble = false;       // after the hold, overwrite the VMM's own mapping
    std::string ready_file;      // created at the sync point ("" = none): a scenario
                                 // that cannot read stdout until exit waits for it
    bool redirect = false;       // after the hold, run the host's code in the guest
    bool rewrite_code = false;   // after the hold, rewrite the guest's code in shared RAM
};

// What the VMM did with the guest's KVM_HC_MAP_GPA_RANGE calls.
struct ConversionTally {
    std::uint64_t calls = 0;
    std::uint64_t to_shared_pages = 0;
    std::uint64_t to_private_pages = 0;
    std::uint64_t refused = 0;   // answered -KVM_EINVAL, nothing changed
};

// One KVM_HC_MAP_GPA_RANGE request, checked: pages of the secret region only, 4 KiB
// pages, attributes "encrypted" (private) or 0 (shared). Pure.
struct Conversion {
    bool ok = false;
    bool to_private = false;
    std::uint64_t first_page = 0;  // index in the region
    std::uint64_t pages = 0;
};
Conversion classify_conversion(std::uint64_t gpa, std::uint64_t pages, std::uint64_t attrs);

// A seed for the stream that neither it nor the shared pages' stream makes 0.
bool usable_seed(std::uint64_t seed);

// Protected VMs need KVM_X86_SW_PROTECTED_VM in KVM_CAP_VM_TYPES (a kvm.ko built with
// CONFIG_KVM_SW_PROTECTED_VM, TDP on), guest_memfd and KVM_SET_USER_MEMORY_REGION2.
Result<void> require_protected(const Kvm& kvm);

class SecretRegion : public SecretHost {
public:
    // Registers memslot 1 (private in a protected VM) and enables the hypercall's exit.
    static Result<std::unique_ptr<SecretRegion>> create(Vm& vm, const SecretOptions& o);
    SecretRegion(const SecretRegion&) = delete;
    ~SecretRegion() override;
    Verdict map_gpa_range(const Hypercall& call) override;
    Verdict sync() override;
    const ConversionTally& tally() const { return tally_; }
    // --redirect needs vCPU 0 (sync() runs on its thread, between two KVM_RUNs) and the
    // guest's RAM (memslot 0), where the host's code and the copied secret go.
    void attach(Vcpu* vcpu0, std::span<std::uint8_t> ram) {
        vcpu0_ = vcpu0;
        ram_ = ram;
    }
    // Qwords of the secret's stream the host's code (--redirect, --rewrite-code) copied
    // into VMM_EXFIL_DATA.
    std::uint64_t exfiltrated() const;

private:
    SecretRegion(Vm& vm, const SecretOptions& o, std::uint8_t* shared);
    Verdict rewrite_code();
    Vm& vm_;
    SecretOptions o_;
    std::uint8_t* shared_;              // the VMM's mapping of the region (slot 1)
    Fd gmem_;                           // protected VM: the region's private memory
    std::vector<std::uint8_t> window_;  // what the VMM puts in the pages made shared
    ConversionTally tally_;
    Vcpu* vcpu0_ = nullptr;
    std::span<std::uint8_t> ram_;
    std::optional<kvm_regs> redirected_;  // vCPU 0's registers before the redirect
    bool redirect_done_ = false;          // once: the sync point is reached again
    bool rewritten_ = false;              // --rewrite-code wrote the host's code
};

} // namespace vmm
