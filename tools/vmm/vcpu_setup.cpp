#include "vcpu_setup.hpp"

#include "cpuid.hpp"
#include "long_mode.hpp"
#include "memory.hpp"

namespace vmm {

Result<void> setup_vcpu(Vcpu& vcpu, const std::vector<kvm_cpuid_entry2>& supported,
                        std::uint64_t cr3) {
    const unsigned i = vcpu.index();
    if (auto r = vcpu.set_cpuid(vcpu_cpuid(supported, i)); !r) return r;

    auto reset = vcpu.sregs();
    if (!reset) return reset.error();
    if (auto r = vcpu.set_sregs(long_mode_sregs(*reset, cr3, percpu_vars(i))); !r) return r;

    kvm_regs regs{};
    regs.rip = VMM_PAYLOAD;
    regs.rsp = stack_top(i);
    regs.rdi = i;
    regs.rsi = VMM_BOOT_PARAMS;
    regs.rflags = 0x2;  // bit 1 is reserved, always 1; IF = 0
    if (auto r = vcpu.set_regs(regs); !r) return r;

    // With the in-kernel irqchip KVM creates every vCPU but the first waiting for
    // INIT-SIPI-SIPI (KVM_MP_STATE_UNINITIALIZED), as an AP at reset; there is no
    // firmware here to send them, so every vCPU starts runnable at the payload.
    return vcpu.set_mp_state(KVM_MP_STATE_RUNNABLE);
}

} // namespace vmm
