// FakeAmdVi: a simulated AMD IOMMU behind iommu::Mmio, for hosted tests of the driver
// (iommu/amdvi_unit.hpp). It models what the driver relies on (AMD IOMMU spec §3.3,
// §3.4): a command processor that runs the ring from head to the tail software wrote,
// only while IommuEn and CmdBufEn are set, decoding each command against the spec's
// field layout (a reserved or unknown bit is logged as "illegal"); COMPLETION_WAIT
// storing its data at its address once the earlier commands are done (or never, when
// `stalled`); an event log whose tail the test advances; RW1C status bits. Each
// completed COMPLETION_WAIT snapshots *writes (table-entry writes the table memory
// reported), so a test can tell whether a device could still hold an older translation.
#pragma once

#include <iommu/amdvi_regs.hpp>
#include <iommu/amdvi_unit.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vbh::test {

namespace amdvi = iommu::amdvi;

struct FakeAmdViState {
    std::map<unsigned, std::uint64_t> regs;
    std::vector<std::string> log;
    bool stalled = false;          // the command processor never runs
    std::uint64_t* cmd = nullptr;  // the rings, as the unit sees them (by address)
    std::uint64_t cmd_pa = 0;
    std::uint64_t* done = nullptr;
    std::uint64_t done_pa = 0;
    const std::uint64_t* writes = nullptr;
    std::uint64_t writes_at_completion = 0;
    std::uint64_t completions = 0;
    std::uint64_t reg_writes = 0;  // register writes of any kind

    // QEMU 7.2's amd-iommu: EFR with IASup (and prefetch, PPR, GT, HE, GA, HATS/GATS).
    FakeAmdViState() { regs[amdvi::reg_efr] = 0x2dd3; }
    std::uint64_t& reg(unsigned off) { return regs[off]; }
};

class FakeAmdVi {
public:
    explicit FakeAmdVi(FakeAmdViState& s) : s_{&s} {}

    std::uint32_t read32(unsigned off) { return std::uint32_t(s_->reg(off)); }
    std::uint64_t read64(unsigned off) { return s_->reg(off); }
    void write32(unsigned off, std::uint32_t v) { write64(off, v); }
    void write64(unsigned off, std::uint64_t v) {
        ++s_->reg_writes;
        if (off == amdvi::reg_status) {
            s_->reg(off) &= ~(v & amdvi::status::rw1c);
            return;
        }
        s_->reg(off) = v;
        if (off == amdvi::reg_control) {
            s_->log.push_back("control " + hex(v));
            run();
        } else if (off == amdvi::reg_cmd_tail) {
            run();
        }
    }

    // The unit logged an event: two quadwords at the tail, tail advanced (wrapping).
    static void log_event(FakeAmdViState& s, std::uint64_t* evt, std::uint64_t q0, std::uint64_t q1) {
        std::uint64_t& tail = s.reg(amdvi::reg_evt_tail);
        evt[tail / 8] = q0;
        evt[tail / 8 + 1] = q1;
        tail = (tail + 16) % amdvi::ring_bytes;
    }

private:
    static std::string hex(std::uint64_t v) {
        char b[24];
        std::snprintf(b, sizeof b, "%#llx", (unsigned long long)v);
        return b;
    }

    void run() {
        const std::uint64_t c = s_->reg(amdvi::reg_control);
        if (s_->stalled || !(c & amdvi::control::iommu_en) || !(c & amdvi::control::cmd_buf_en))
            return;
        // Like QEMU 7.2 (amdvi_cmdbuf_run), the head register is written before the
        // head wraps: after a full lap it reads as the ring's size.
        const std::uint64_t base = amdvi::BaseAddr::addr(s_->reg(amdvi::reg_cmdbuf));
        const std::uint64_t bytes = 16ull << amdvi::RingLen::get(s_->reg(amdvi::reg_cmdbuf));
        std::uint64_t head = s_->reg(amdvi::reg_cmd_head) % bytes;
        while (head != s_->reg(amdvi::reg_cmd_tail)) {
            if (base != s_->cmd_pa) {
                s_->log.push_back("cmdbuf at an unknown address");
                return;
            }
            exec(s_->cmd[head / 8], s_->cmd[head / 8 + 1]);
            head += 16;
            s_->reg(amdvi::reg_cmd_head) = head;
            if (head >= bytes)
                head = 0;
        }
    }

    void exec(std::uint64_t q0, std::uint64_t q1) {
        switch (amdvi::Opcode::get(q0)) {
        case amdvi::op::completion_wait: {
            // s 0, i 1, f 2, store address 51:3, reserved 59:52.
            const std::uint64_t pa = q0 & 0x000ffffffffffff8ull;
            if ((q0 & 0x0ff0000000000006ull) || !(q0 & 1) || pa != s_->done_pa)
                return s_->log.push_back("illegal completion_wait");
            *s_->done = q1;
            ++s_->completions;
            if (s_->writes)
                s_->writes_at_completion = *s_->writes;
            return s_->log.push_back("wait " + std::to_string(q1));
        }
        case amdvi::op::inval_devtab_entry:
            if ((q0 & 0x0fffffffffff0000ull) || q1)
                return s_->log.push_back("illegal inval_devtab_entry");
            return s_->log.push_back("devtab " + std::to_string(q0 & 0xffff));
        case amdvi::op::inval_iommu_pages:
            // PASID 19:0, DomainID 47:32, reserved 31:20 and 59:48; q1: S 0, PDE 1, GN 2,
            // reserved 11:3, address 63:12.
            if ((q0 & 0x0fff0000fff00000ull) || (q1 & 0xff8))
                return s_->log.push_back("illegal inval_iommu_pages");
            return s_->log.push_back("pages d=" + std::to_string((q0 >> 32) & 0xffff) +
                                     ((q1 & 1) && (q1 & ~0xfffull) == amdvi::all_pages ? " all" : " some") +
                                     (q1 & 2 ? " pde" : ""));
        case amdvi::op::inval_iommu_all:
            if ((q0 & 0x0fffffffffffffffull) || q1)
                return s_->log.push_back("illegal inval_all");
            return s_->log.push_back("all");
        default:
            return s_->log.push_back("illegal opcode");
        }
    }

    FakeAmdViState* s_;
};

} // namespace vbh::test
