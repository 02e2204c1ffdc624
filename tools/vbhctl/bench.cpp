#include "bench.hpp"

#include <vbh/abi.h>
#include <vbh/ioctl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <sys/ioctl.h>

namespace vbhctl {
namespace {

std::uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// Nearest rank: the smallest sample with at least p% of the samples at or below it.
std::uint64_t rank(const std::vector<std::uint64_t>& sorted, unsigned p) {
    std::size_t r = (sorted.size() * p + 99) / 100;
    return sorted[r == 0 ? 0 : r - 1];
}

// An ioctl number with /dev/vbh's magic that the loader does not know: it returns
// -ENOTTY from vbh_ioctl() before any VMMCALL, so it costs the syscall path only.
constexpr unsigned long baseline_cmd = _IOWR(VBH_IOCTL_MAGIC, 0x7f, vbh_ioctl_hypercall);

} // namespace

Summary summarize(std::vector<std::uint64_t>& samples) {
    Summary s;
    if (samples.empty())
        return s;
    std::sort(samples.begin(), samples.end());
    s.n = samples.size();
    s.min = samples.front();
    s.max = samples.back();
    s.median = rank(samples, 50);
    s.p99 = rank(samples, 99);
    return s;
}

std::string format_summary(const char* what, const Summary& s) {
    return fmt::format("{:<36} n={:<7} median={:>7} ns  p99={:>7} ns  min={:>7} ns  max={:>9} ns",
                       what, s.n, s.median, s.p99, s.min, s.max);
}

int bench_hypercall(int fd, unsigned iterations, std::vector<std::uint64_t>& calls,
                    std::vector<std::uint64_t>& baseline) {
    calls.clear();
    baseline.clear();
    calls.reserve(iterations);
    baseline.reserve(iterations);
    vbh_ioctl_hypercall req{};
    for (unsigned i = 0; i < iterations; ++i) {
        req = vbh_ioctl_hypercall{};
        req.call = VBH_HC_VERSION;
        auto t0 = now_ns();
        int rc = ::ioctl(fd, VBH_IOCTL_HYPERCALL, &req);
        auto t1 = now_ns();
        if (rc != 0)
            return errno;
        if (req.status != VBH_OK)
            return EPROTO;
        calls.push_back(t1 - t0);
        t0 = now_ns();
        (void)::ioctl(fd, baseline_cmd, &req);
        baseline.push_back(now_ns() - t0);
    }
    return 0;
}

} // namespace vbhctl
