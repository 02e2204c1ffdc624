// Per-CPU ASIDs for the host's L2 guests (AMD APM vol. 2 §15.16). The host numbers its
// guests' ASIDs in its own space; the TLB tags entries with the ASID vbh puts in the L2
// block, which must never be 0 (the hypervisor's, and VMRUN refuses it) nor L1's (the
// host's own translations). A host ASID keeps its vbh ASID while it stays in the table;
// when the table is full the oldest entry is evicted and its vbh ASID reused, and every
// (re)assignment asks for a flush of that ASID, so no entry tagged for one host ASID
// survives into another's use. The host's INVLPGA and TLB_CONTROL name host ASIDs:
// find() translates them (a host ASID not in the table has nothing cached to flush).
#pragma once

#include <cstdint>

namespace vbh::svm {

class AsidMap {
public:
    static constexpr std::uint32_t max_slots = 64;

    struct Grant {
        std::uint32_t asid;
        bool flush;
    };

    // nasid: CPUID 8000_000Ah EBX, the number of ASIDs (valid ones are 1..nasid-1).
    // False if no ASID is left besides 0 and l1_asid: nested SVM is then impossible.
    bool init(std::uint32_t nasid, std::uint32_t l1_asid) {
        slots_ = 0;
        for (std::uint32_t a = 1; a < nasid && slots_ < max_slots; ++a)
            if (a != l1_asid)
                vbh_[slots_++] = a;
        used_ = 0;
        next_ = 0;
        return slots_ != 0;
    }

    Grant assign(std::uint32_t host_asid) {
        for (std::uint32_t i = 0; i < used_; ++i)
            if (host_[i] == host_asid)
                return {vbh_[i], false};
        std::uint32_t i = used_ < slots_ ? used_++ : next_;
        if (used_ == slots_)
            next_ = (i + 1) % slots_; // round robin over a full table: oldest first
        host_[i] = host_asid;
        return {vbh_[i], true};
    }

    // The vbh ASID a host ASID currently runs under, or 0 if none.
    std::uint32_t find(std::uint32_t host_asid) const {
        for (std::uint32_t i = 0; i < used_; ++i)
            if (host_[i] == host_asid)
                return vbh_[i];
        return 0;
    }

    // Forget every host ASID (the host's guests are gone, or vbh flushed all ASIDs).
    void reset() {
        used_ = 0;
        next_ = 0;
    }

    std::uint32_t slots() const { return slots_; }
    // Host ASIDs that hold one of vbh's (nested_state.hpp counts them).
    std::uint32_t in_use() const { return used_; }

private:
    std::uint32_t vbh_[max_slots] = {};
    std::uint32_t host_[max_slots] = {};
    std::uint32_t slots_ = 0, used_ = 0, next_ = 0;
};

} // namespace vbh::svm
