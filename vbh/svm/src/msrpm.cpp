// The MSR permission map (AMD APM vol. 2 §15.11, figure 15-5): 2 bits per MSR (read,
// write) for three ranges of 8K MSRs; a set bit intercepts. Everything not set here
// runs natively; MSRs outside the three ranges always exit (exit_msr.hpp).
#include <vbh/svm/msr.hpp>

#include <cstdint>

namespace vbh::svm {

// Bit offset of an MSR's read-intercept bit in the map (its write bit is the next
// one), or -1 outside the three ranges.
static std::int64_t msrpm_bit(std::uint32_t msr) {
    struct Range { std::uint32_t first; std::uint32_t byte; };
    constexpr Range ranges[] = {{0x00000000, 0x000}, {0xc0000000, 0x800}, {0xc0010000, 0x1000}};
    for (const Range& r : ranges)
        if (msr >= r.first && msr - r.first < 0x2000)
            return std::int64_t(r.byte) * 8 + std::int64_t(msr - r.first) * 2;
    return -1;
}

static void intercept(std::uint8_t* map, std::uint32_t msr, bool read, bool write) {
    const std::int64_t bit = msrpm_bit(msr);
    if (bit < 0)
        return;
    if (read)
        map[bit / 8] |= std::uint8_t(1u << (bit % 8));
    if (write)
        map[(bit + 1) / 8] |= std::uint8_t(1u << ((bit + 1) % 8));
}

void build_msrpm(std::uint8_t* map) {
    // EFER writes: keep SVME = 1 (reads come from the VMCB copy, already SVME = 1).
    intercept(map, msr_efer, false, true);
    // VM_CR: report SVMDIS | LOCK so kvm_amd refuses to load; refuse writes.
    intercept(map, msr_vm_cr, true, true);
    // VM_HSAVE_PA: the real one points at hypervisor memory; the host sees a shadow.
    intercept(map, msr_vm_hsave_pa, true, true);
}

static_assert(msr_efer == 0xc0000080 && msr_vm_cr == 0xc0010114 && msr_vm_hsave_pa == 0xc0010117);

} // namespace vbh::svm
