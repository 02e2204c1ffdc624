// AmdViUnit: one AMD IOMMU (an IVHD of the ACPI IVRS table), driven through its MMIO
// registers and two rings in hypervisor memory (AMD IOMMU spec §3.3):
//   - the device table (shared by every unit, amdvi::fill_device_table) sends every
//     device id to one v1 page table, the mirror of the host NPT, in domain vbh_domain;
//   - the command buffer carries invalidations; each batch ends with COMPLETION_WAIT,
//     whose store of a sequence number into the completion quadword is the unit's
//     word that every earlier command has completed (§2.4.1): polling it is the wait;
//   - the event log is drained by polling, never interrupt-driven (EventIntEn and
//     ComWaitIntEn stay clear: the host gets no vector it did not ask for).
// Every wait is bounded (spin_limit); a unit that never answers makes the call fail and
// the caller decides (refuse at setup, stop the machine at runtime).
//
// R is the register window (image: uncached MMIO; tests: a simulated unit). The rings
// are hypervisor memory the caller owns: `cmd` and `evt` ring_bytes each, `done` one
// quadword, each with its physical address.
#pragma once

#include <iommu/amdvi_regs.hpp>
#include <iommu/vtd_unit.hpp> // Mmio, DmaFault, vbh_domain, spin_limit

#include <cstdint>

namespace vbh::iommu {

struct AmdViRings {
    amdvi::Command* cmd;
    std::uint64_t cmd_pa;
    const volatile std::uint64_t* evt; // ring_entries events of two quadwords
    std::uint64_t evt_pa;
    volatile std::uint64_t* done;      // COMPLETION_WAIT's store target
    std::uint64_t done_pa;
};

template <Mmio R>
class AmdViUnit {
public:
    AmdViUnit(R regs, AmdViRings rings) : r_{regs}, q_{rings} {}

    // Status::state when the host's driver already runs the unit (IommuEn, CmdBufEn or
    // EventLogEn set: boot with amd_iommu=off).
    Status probe() {
        efr_ = r_.read64(amdvi::reg_efr);
        if (r_.read64(amdvi::reg_control) & amdvi::control::host_owned)
            return Status::state;
        return Status::ok;
    }

    // Point the unit at the device table (devtab_pages 4 KiB pages), set up both rings
    // empty, enable translation with the command buffer and the event log, then flush
    // whatever the unit cached before (§3.3.1 order): INVALIDATE_IOMMU_ALL where
    // EFR.IASup says so, else every device table entry and the domain's pages.
    Status enable(std::uint64_t devtab_pa, std::uint32_t devtab_pages) {
        r_.write64(amdvi::reg_control, 0);
        r_.write64(amdvi::reg_devtab, amdvi::devtab_base(devtab_pa, devtab_pages));
        r_.write64(amdvi::reg_cmdbuf, amdvi::ring_base(q_.cmd_pa));
        r_.write64(amdvi::reg_cmd_head, 0);
        r_.write64(amdvi::reg_cmd_tail, 0);
        r_.write64(amdvi::reg_evtlog, amdvi::ring_base(q_.evt_pa));
        r_.write64(amdvi::reg_evt_head, 0);
        r_.write64(amdvi::reg_evt_tail, 0);
        r_.write64(amdvi::reg_status, amdvi::status::rw1c);
        tail_ = 0;
        r_.write64(amdvi::reg_control, running);
        enabled_ = true;
        if (amdvi::EfrIaSup::test(efr_)) {
            push(amdvi::inval_all());
        } else {
            const std::uint32_t devids = devtab_pages * (4096 / amdvi::dte::bytes);
            for (std::uint32_t d = 0; d < devids; ++d)
                if (!push(amdvi::inval_devtab_entry(std::uint16_t(d))))
                    return Status::state;
            push(amdvi::inval_domain_pages(vbh_domain));
        }
        return wait() ? Status::ok : Status::state;
    }

    // After the tables changed: INVALIDATE_IOMMU_PAGES for the whole domain, then
    // COMPLETION_WAIT, polled. True once the unit reported completion. A disabled unit
    // caches nothing: nothing to do.
    bool invalidate_domain(std::uint16_t did) {
        if (!enabled_)
            return true;
        return push(amdvi::inval_domain_pages(did)) && wait();
    }

    // Hand every event between head and tail to f(DmaFault) and consume it. addr: the
    // event's address quadword; sid: its device id; reason: its event code (2:
    // IO_PAGE_FAULT); write: the RW flag. An overflowed log (events lost) counts once
    // per call and is restarted empty (§3.4.13: disable, reset the pointers, clear
    // EventOverflow, enable). Returns the events handed over.
    template <class F>
    unsigned drain_events(F&& f) {
        if (!enabled_)
            return 0;
        std::uint64_t head = ring_ptr(amdvi::reg_evt_head);
        const std::uint64_t tail = ring_ptr(amdvi::reg_evt_tail);
        unsigned drained = 0;
        for (unsigned n = 0; head != tail && n < amdvi::ring_entries; ++n) {
            const std::uint64_t q0 = q_.evt[head / 8], q1 = q_.evt[head / 8 + 1];
            f(DmaFault{q1, std::uint16_t(amdvi::event::DeviceId::get(q0)),
                       std::uint8_t(amdvi::event::Code::get(q0)), amdvi::event::Write::test(q0)});
            head = (head + 16) % amdvi::ring_bytes;
            ++drained;
        }
        if (drained) // the common case is an empty log: two register reads, no write
            r_.write64(amdvi::reg_evt_head, head);
        if (r_.read64(amdvi::reg_status) & amdvi::status::event_overflow) {
            r_.write64(amdvi::reg_control, running & ~amdvi::control::event_log_en);
            r_.write64(amdvi::reg_evt_head, 0);
            r_.write64(amdvi::reg_evt_tail, 0);
            r_.write64(amdvi::reg_status, amdvi::status::event_overflow);
            r_.write64(amdvi::reg_control, running);
            ++overflows_;
        }
        return drained;
    }

    bool enabled() const { return enabled_; }
    std::uint64_t efr() const { return efr_; }
    std::uint64_t overflows() const { return overflows_; }
    std::uint64_t completions() const { return seq_; }
    R& regs() { return r_; }

private:
    static constexpr std::uint64_t running = amdvi::control::iommu_en | amdvi::control::event_log_en |
                                             amdvi::control::cmd_buf_en | amdvi::control::coherent;

    // Queue one command. The ring holds ring_entries - 1 (head == tail is empty): when
    // full, hand the unit what is queued and wait for its head to move. False if it
    // never does.
    bool push(amdvi::Command c) {
        const std::uint64_t next = (tail_ + 16) % amdvi::ring_bytes;
        if (ring_ptr(amdvi::reg_cmd_head) == next) {
            publish();
            for (std::uint32_t i = 0; ring_ptr(amdvi::reg_cmd_head) == next; ++i)
                if (i == spin_limit)
                    return false;
        }
        q_.cmd[tail_ / 16] = c;
        tail_ = next;
        return true;
    }

    // COMPLETION_WAIT storing the next sequence number, publish the tail, poll the store.
    // The fence orders the commands' memory writes before the tail's MMIO write (the
    // unit reads the ring only up to the tail it was given).
    bool wait() {
        const std::uint64_t want = ++seq_;
        if (!push(amdvi::completion_wait(q_.done_pa, want)))
            return false;
        publish();
        for (std::uint32_t i = 0; i < spin_limit; ++i)
            if (*q_.done == want)
                return true;
        return false;
    }

    // A ring pointer as an offset into the ring. QEMU 7.2 updates the head register
    // before it wraps, so a full lap reads as ring_bytes: reduce it.
    std::uint64_t ring_ptr(unsigned reg) { return amdvi::RingPtr::addr(r_.read64(reg)) % amdvi::ring_bytes; }

    void publish() {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        r_.write64(amdvi::reg_cmd_tail, tail_);
    }

    R r_;
    AmdViRings q_;
    std::uint64_t efr_ = 0;
    std::uint64_t tail_ = 0;
    std::uint64_t seq_ = 0;
    std::uint64_t overflows_ = 0;
    bool enabled_ = false;
};

} // namespace vbh::iommu
