// VtdUnit: one VT-d DMA remapping unit (a DRHD of the ACPI DMAR table), driven through
// its registers. vbh uses the unit the simplest way that is still complete:
//   - legacy root/context tables, every device of every bus in one domain (did 1) whose
//     second-level table is the mirror of the host NPT (iommu/README.md);
//   - register-based invalidation: the unit clears CCMD.ICC / IOTLB.IVT when the
//     invalidation has completed (VT-d §6.5.1), so polling the bit is the completion
//     wait; queued invalidation is left off (a host that enabled it is refused);
//   - primary fault recording polled, never interrupt-driven: the fault event
//     interrupt stays masked (FECTL.IM) so the host gets no vector it did not ask for.
// Every wait is bounded (spin_limit reads); a unit that never answers makes the call
// fail, and the caller decides (refuse at setup, stop the machine at runtime).
//
// R is the register window (the image: uncached MMIO through the hypervisor's own page
// tables; tests: a simulated unit).
#pragma once

#include <iommu/vtd_regs.hpp>
#include <vbh/status.hpp>

#include <concepts>
#include <cstdint>

namespace vbh::iommu {

template <class R>
concept Mmio = requires(R& r, unsigned off, std::uint32_t v32, std::uint64_t v64) {
    { r.read32(off) } -> std::same_as<std::uint32_t>;
    { r.read64(off) } -> std::same_as<std::uint64_t>;
    { r.write32(off, v32) } -> std::same_as<void>;
    { r.write64(off, v64) } -> std::same_as<void>;
};

// One primary fault record (VT-d §7.1.3): the requester, the page it reached for,
// whether it wrote, and the unit's reason code (5 = no write permission, 6 = no read).
struct DmaFault {
    std::uint64_t addr;
    std::uint16_t sid; // bus 15:8, device 7:3, function 2:0
    std::uint8_t reason;
    bool write;
};

inline constexpr std::uint16_t vbh_domain = 1; // did 0 is reserved when CAP.CM = 1
inline constexpr std::uint32_t spin_limit = 1u << 24;

template <Mmio R>
class VtdUnit {
public:
    explicit VtdUnit(R regs) : r_{regs} {}

    // Read the capabilities. Status::state when the host's driver already runs the unit
    // (translation, interrupt remapping or queued invalidation enabled: boot with
    // intel_iommu=off intremap=off); Status::invalid when it cannot walk `levels`-level
    // second-level tables (CAP.SAGAW).
    Status probe(unsigned levels) {
        cap_ = r_.read64(vtd::reg_cap);
        ecap_ = r_.read64(vtd::reg_ecap);
        if (r_.read32(vtd::reg_gsts) & vtd::gsts::host_owned)
            return Status::state;
        if (!(vtd::cap::Sagaw::get(cap_) & (1u << (levels - 2))))
            return Status::invalid;
        return Status::ok;
    }

    // Point the unit at root_pa, invalidate every cache it may hold, turn translation
    // on (VT-d §10.4.4-§10.4.6 order). The fault interrupt is masked first.
    Status enable(std::uint64_t root_pa) {
        r_.write32(vtd::reg_fectl, vtd::fectl_im);
        r_.write64(vtd::reg_rtaddr, root_pa);
        if (!command(vtd::gsts::rtps, vtd::gsts::rtps))
            return Status::state;
        r_.write64(vtd::reg_ccmd, vtd::ccmd::icc | vtd::ccmd::global);
        if (!wait_clear64(vtd::reg_ccmd, vtd::ccmd::icc))
            return Status::state;
        if (!invalidate(vtd::iotlb::global))
            return Status::state;
        if (!command(vtd::gsts::tes, vtd::gsts::tes))
            return Status::state;
        enabled_ = true;
        return Status::ok;
    }

    // After the tables changed: write-buffer flush if the unit needs one, then a
    // domain-selective IOTLB invalidation that drains in-flight DMA, waited for. True
    // when the unit reported completion. A disabled unit caches nothing: nothing to do.
    bool invalidate_domain(std::uint16_t did) {
        if (!enabled_)
            return true;
        return invalidate(vtd::iotlb::domain | vtd::iotlb::Did::make(did));
    }

    // Hand every valid fault record to f(DmaFault), clear it; an overflow (records lost
    // because none was free) counts once per call. Returns the records handed over.
    template <class F>
    unsigned drain_faults(F&& f) {
        const std::uint32_t fs = r_.read32(vtd::reg_fsts);
        if (!(fs & (vtd::fsts::ppf | vtd::fsts::pfo)))
            return 0;
        const unsigned n = unsigned(vtd::cap::Nfr::get(cap_)) + 1;
        const unsigned fro = unsigned(vtd::cap::Fro::get(cap_)) * 16;
        const unsigned first = vtd::fsts::Fri::get(fs);
        unsigned drained = 0;
        for (unsigned k = 0; k < n; ++k) {
            const unsigned rec = fro + 16 * ((first + k) % n);
            const std::uint64_t hi = r_.read64(rec + 8);
            if (!(hi & vtd::frcd::f))
                continue;
            const std::uint64_t lo = r_.read64(rec);
            f(DmaFault{lo & ~0xfffull, std::uint16_t(vtd::frcd::Sid::get(hi)),
                       std::uint8_t(vtd::frcd::Reason::get(hi)), !(hi & vtd::frcd::t)});
            r_.write32(rec + 12, std::uint32_t(vtd::frcd::f >> 32)); // RW1C
            ++drained;
        }
        if (fs & vtd::fsts::pfo) {
            r_.write32(vtd::reg_fsts, vtd::fsts::pfo);
            ++overflows_;
        }
        return drained;
    }

    bool enabled() const { return enabled_; }
    bool coherent() const { return vtd::ecap::C::test(ecap_); }
    std::uint64_t cap() const { return cap_; }
    std::uint64_t ecap() const { return ecap_; }
    std::uint64_t overflows() const { return overflows_; }
    R& regs() { return r_; }

private:
    bool invalidate(std::uint64_t granularity) {
        if (vtd::cap::Rwbf::test(cap_) && !command(vtd::gsts::wbfs, 0))
            return false;
        const std::uint64_t drain = (vtd::cap::Drd::test(cap_) ? vtd::iotlb::dr : 0) |
                                    (vtd::cap::Dwd::test(cap_) ? vtd::iotlb::dw : 0);
        const unsigned reg = unsigned(vtd::ecap::Iro::get(ecap_)) * 16 + vtd::iotlb_reg_from_iva;
        r_.write64(reg, vtd::iotlb::ivt | granularity | drain);
        return wait_clear64(reg, vtd::iotlb::ivt);
    }

    // Issue one GCMD bit (the same bit position as its GSTS status) and wait until
    // GSTS & status_bit == want.
    bool command(std::uint32_t bit, std::uint32_t want) {
        r_.write32(vtd::reg_gcmd, (r_.read32(vtd::reg_gsts) & vtd::gsts::persistent) | bit);
        for (std::uint32_t i = 0; i < spin_limit; ++i)
            if ((r_.read32(vtd::reg_gsts) & bit) == want)
                return true;
        return false;
    }

    bool wait_clear64(unsigned reg, std::uint64_t bit) {
        for (std::uint32_t i = 0; i < spin_limit; ++i)
            if (!(r_.read64(reg) & bit))
                return true;
        return false;
    }

    R r_;
    std::uint64_t cap_ = 0;
    std::uint64_t ecap_ = 0;
    std::uint64_t overflows_ = 0;
    bool enabled_ = false;
};

} // namespace vbh::iommu
