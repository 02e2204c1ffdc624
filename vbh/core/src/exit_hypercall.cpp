// The hypercalls the exit path answers itself: statistics, exit cycles and the event
// log, each copied into one host-owned frame the caller names (log.h, stats.h). The
// frame was checked by the environment (RAM, owned by the host: never hypervisor or
// donated memory, docs/threats.md #2). The host may scribble on that frame while we write
// it; no value is ever read back from it.
#include <vbh/exit.hpp>

namespace vbh {

static void copy_bytes(void* dst, const void* src, std::uint64_t n) {
    auto* d = static_cast<volatile unsigned char*>(dst);
    auto* s = static_cast<const unsigned char*>(src);
    for (std::uint64_t i = 0; i < n; ++i)
        d[i] = s[i];
}

// One CPU's counters as they are now: that CPU may be updating them meanwhile.
static HypercallOut read_percpu(const void* src, std::uint64_t size, std::uint32_t nr_cpus,
                                Result<void*> frame) {
    if (!src)
        return {Status::range};
    if (!frame)
        return {frame.error()};
    copy_bytes(*frame, src, size);
    return {Status::ok, nr_cpus, size};
}

// total_exits is not counted on the exit path (one add per exit fewer): it is the sum
// of the per-kind counts, the only place each exit is counted, made here.
HypercallOut read_stats(const vbh_cpu_stats* s, std::uint32_t nr_cpus, Result<void*> frame) {
    const HypercallOut out = read_percpu(s, sizeof *s, nr_cpus, frame);
    if (out.status != Status::ok)
        return out;
    std::uint64_t total = 0;
    for (const std::uint64_t& n : s->exits)
        total += __atomic_load_n(&n, __ATOMIC_RELAXED);
    copy_bytes(&static_cast<vbh_cpu_stats*>(*frame)->total_exits, &total, sizeof total);
    return out;
}

HypercallOut read_cycles(const vbh_cpu_cycles* c, std::uint32_t nr_cpus, Result<void*> frame) {
    static_assert(sizeof(vbh_cpu_cycles) <= 4096);
    return read_percpu(c, sizeof *c, nr_cpus, frame);
}

HypercallOut read_log(EventLog& log, std::uint64_t from, Result<void*> frame) {
    if (!frame)
        return {frame.error()};
    static_assert(sizeof(vbh_log_page) <= 4096);
    const EventLog::Copied c = log.read(from, *static_cast<vbh_log_page*>(*frame));
    return {Status::ok, c.count, c.first + c.count};
}

HypercallOut read_log_summary(EventLog& log, Result<void*> frame) {
    if (!frame)
        return {frame.error()};
    const std::uint64_t next = log.summary(*static_cast<vbh_log_summary*>(*frame));
    return {Status::ok, next, sizeof(vbh_log_summary)};
}

} // namespace vbh
