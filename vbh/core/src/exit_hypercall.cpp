// The hypercalls the exit path answers itself: statistics and the event log, both
// copied into one host-owned frame the caller names (log.h, stats.h). The frame was
// checked by the environment (RAM, owned by the host: never hypervisor or donated
// memory, threats.md #2). The host may scribble on that frame while we write it; no
// value is ever read back from it.
#include <vbh/exit.hpp>

namespace vbh {

static void copy_bytes(void* dst, const void* src, std::uint64_t n) {
    auto* d = static_cast<volatile unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    for (std::uint64_t i = 0; i < n; ++i)
        d[i] = s[i];
}

HypercallOut read_stats(const vbh_cpu_stats* s, std::uint32_t nr_cpus, Result<void*> frame) {
    if (!s)
        return {Status::range};
    if (!frame)
        return {frame.error()};
    vbh_cpu_stats snap;
    copy_bytes(&snap, s, sizeof snap);
    copy_bytes(*frame, &snap, sizeof snap);
    return {Status::ok, nr_cpus, sizeof(vbh_cpu_stats)};
}

HypercallOut read_log(EventLog& log, std::uint64_t from, Result<void*> frame) {
    if (!frame)
        return {frame.error()};
    static_assert(sizeof(vbh_log_page) <= 4096);
    const EventLog::Copied c = log.read(from, *static_cast<vbh_log_page*>(*frame));
    return {Status::ok, c.count, c.first + c.count};
}

} // namespace vbh
