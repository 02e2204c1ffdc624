// SVM MSR emulation that needs no hardware access; the why is in svm/msr.hpp.
#include <vbh/svm/msr.hpp>

namespace vbh::svm {

// Legacy PerfEvtSel0..3 at C001_0000h; the extended set interleaves PerfEvtSel (even)
// and PerfCtr (odd) from C001_0200h and exists only with PerfCtrExtCore.
MsrResult perf_write_value(std::uint32_t msr, std::uint64_t value, const MsrCaps& caps,
                           std::uint64_t& out) {
    const bool ext = msr >= msr_perf_ext_first && msr <= msr_perf_ext_last;
    const bool legacy_ctl = msr >= msr_perf_ctl0 && msr <= msr_perf_ctl0 + 3;
    if ((!ext && !legacy_ctl) || (ext && !caps.perf_ext))
        return {true, 0};
    if (ext && (msr - msr_perf_ext_first) % 2 == 1) {
        if ((value & ~perf_ctr_writable) != 0)
            return {true, 0};
        out = value;
        return {false, 0};
    }
    if ((value & ~perf_ctl_writable) != 0)
        return {true, 0};
    out = (value | perf_ctl_guest_only) & ~perf_ctl_host_only;
    return {false, 0};
}

} // namespace vbh::svm
