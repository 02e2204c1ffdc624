// FakeVtd: a simulated VT-d remapping unit behind iommu::Mmio, for hosted tests of the
// driver (iommu/vtd_unit.hpp). It models what the driver relies on (VT-d spec §11.4):
// GCMD commands reflected in GSTS, CCMD.ICC and IOTLB.IVT cleared only once the
// invalidation "completes" (after `latency` reads of the register, or never when
// latency < 0), fault recording registers with RW1C F bits, and it logs every
// command in order. Each completed IOTLB invalidation snapshots *writes (the count of
// table-entry writes the table memory reported), so a test can tell whether a device
// could still hold a translation older than the tables.
#pragma once

#include <iommu/vtd_regs.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vbh::test {

namespace vtd = iommu::vtd;

struct FakeVtdState {
    std::map<unsigned, std::uint64_t> regs;
    std::vector<std::string> log;
    int latency = 2;            // reads of CCMD / IOTLB before the bit clears; < 0: never
    int pending_reads = 0;
    const std::uint64_t* writes = nullptr; // table-entry writes seen by the memory
    std::uint64_t writes_at_invalidation = 0;
    std::uint64_t iotlb_done = 0;
    std::uint64_t last_iotlb = 0;           // the last IOTLB command written
    static constexpr unsigned iro = 0xf0, fro = 0x220;

    // QEMU 7.2's intel-iommu with aw-bits=48: SAGAW 39+48, MGAW 47, one fault record,
    // 2 MiB and 1 GiB pages, drain supported, ECAP.C clear (not coherent), IR and QI.
    explicit FakeVtdState(unsigned nfr = 1) {
        regs[vtd::reg_cap] = vtd::cap::Sagaw::make(0x6) | vtd::cap::Mgaw::make(47) |
                             vtd::cap::Fro::make(fro / 16) | vtd::cap::Nfr::make(nfr - 1) |
                             vtd::cap::Drd::mask | vtd::cap::Dwd::mask;
        regs[vtd::reg_ecap] = vtd::ecap::Iro::make(iro / 16) | vtd::ecap::Qi::mask | vtd::ecap::Ir::mask;
    }
    std::uint64_t& reg(unsigned off) { return regs[off]; }
    unsigned iotlb_reg() const { return iro + vtd::iotlb_reg_from_iva; }
};

class FakeVtd {
public:
    explicit FakeVtd(FakeVtdState& s) : s_{&s} {}

    std::uint32_t read32(unsigned off) { return std::uint32_t(s_->reg(off)); }
    std::uint64_t read64(unsigned off) {
        if ((off == vtd::reg_ccmd || off == s_->iotlb_reg()) && busy(off))
            tick(off);
        return s_->reg(off);
    }
    void write32(unsigned off, std::uint32_t v) {
        if (off == vtd::reg_gcmd)
            return gcmd(v);
        if (off == vtd::reg_fsts) { // RW1C: PFO
            s_->reg(off) &= ~std::uint64_t(v & vtd::fsts::pfo);
            return;
        }
        if (off >= s_->fro && (off - s_->fro) % 16 == 12) { // F is RW1C, top dword
            std::uint64_t& hi = s_->reg(off - 4);
            if (v & (vtd::frcd::f >> 32))
                hi &= ~vtd::frcd::f;
            update_ppf();
            return;
        }
        s_->reg(off) = v;
    }
    void write64(unsigned off, std::uint64_t v) {
        s_->reg(off) = v;
        if (off == vtd::reg_ccmd && (v & vtd::ccmd::icc)) {
            s_->log.push_back("ccmd");
            start(off);
        } else if (off == s_->iotlb_reg() && (v & vtd::iotlb::ivt)) {
            s_->last_iotlb = v;
            s_->log.push_back((v & (3ull << 60)) == vtd::iotlb::global ? "iotlb-global" : "iotlb-domain");
            start(off);
        } else if (off == vtd::reg_rtaddr) {
            s_->log.push_back("rtaddr");
        }
    }

    // A fault the unit recorded in record i.
    static void record_fault(FakeVtdState& s, unsigned i, std::uint64_t addr, std::uint16_t sid,
                             std::uint8_t reason, bool write) {
        s.reg(s.fro + 16 * i) = addr;
        s.reg(s.fro + 16 * i + 8) = vtd::frcd::f | (write ? 0 : vtd::frcd::t) |
                                    vtd::frcd::Reason::make(reason) | sid;
        s.reg(vtd::reg_fsts) |= vtd::fsts::ppf;
    }

private:
    bool busy(unsigned off) { return off == vtd::reg_ccmd ? s_->reg(off) & vtd::ccmd::icc : s_->reg(off) & vtd::iotlb::ivt; }
    void start(unsigned) { s_->pending_reads = s_->latency; }
    void tick(unsigned off) {
        if (s_->latency < 0 || s_->pending_reads-- > 0)
            return;
        if (off == vtd::reg_ccmd) {
            s_->reg(off) &= ~vtd::ccmd::icc;
            return;
        }
        s_->reg(off) &= ~vtd::iotlb::ivt;
        ++s_->iotlb_done;
        if (s_->writes)
            s_->writes_at_invalidation = *s_->writes;
    }
    void gcmd(std::uint32_t v) {
        std::uint64_t& st = s_->reg(vtd::reg_gsts);
        const std::uint32_t persistent = vtd::gsts::tes | vtd::gsts::qies | vtd::gsts::ires | vtd::gsts::cfis;
        // The enables follow the written value; one-shot commands and a translation
        // enable (0 -> 1) are logged, a disable too.
        const bool was_on = st & vtd::gsts::tes;
        st = (st & ~std::uint64_t(persistent)) | (v & persistent);
        if (v & vtd::gsts::rtps) {
            st |= vtd::gsts::rtps;
            s_->log.push_back("srtp");
        }
        if (v & vtd::gsts::wbfs)
            s_->log.push_back("wbf"); // completes at once: WBFS stays clear
        if (bool(v & vtd::gsts::tes) != was_on)
            s_->log.push_back(was_on ? "te-off" : "te");
    }
    void update_ppf() {
        const unsigned n = unsigned(vtd::cap::Nfr::get(s_->reg(vtd::reg_cap))) + 1;
        bool any = false;
        for (unsigned i = 0; i < n; ++i)
            any |= (s_->reg(s_->fro + 16 * i + 8) & vtd::frcd::f) != 0;
        std::uint64_t& fs = s_->reg(vtd::reg_fsts);
        fs = any ? fs | vtd::fsts::ppf : fs & ~std::uint64_t(vtd::fsts::ppf);
    }

    FakeVtdState* s_;
};

} // namespace vbh::test
