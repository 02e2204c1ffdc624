// vbhctl bench: the null hypercall (VBH_HC_VERSION) round trip from user space,
// ioctl on /dev/vbh + VMMCALL + #VMEXIT handling + VMRUN back, in nanoseconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vbhctl {

struct Summary {
    std::size_t n = 0;
    std::uint64_t min = 0, median = 0, p99 = 0, max = 0;
};

// Nearest-rank percentiles of the samples (sorted in place); all zero when empty.
Summary summarize(std::vector<std::uint64_t>& samples);
std::string format_summary(const char* what, const Summary& s);

// Times `iterations` ioctls on an open /dev/vbh, pinned to the CPU it runs on: the
// VERSION hypercall into `calls`, and as the baseline an ioctl the loader rejects
// before any VMMCALL (ENOTTY) into `baseline`. Returns 0 or the errno of the first
// failed hypercall ioctl (a VERSION status other than ok is EPROTO).
int bench_hypercall(int fd, unsigned iterations, std::vector<std::uint64_t>& calls,
                    std::vector<std::uint64_t>& baseline);

} // namespace vbhctl
