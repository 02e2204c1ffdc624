// The hypervisor's event log as vbhctl reads it: /sys/kernel/vbh/log (docs/loader.md,
// the newest <= 24 entries of the VBH_HC_LOG_READ ring, then the per-kind totals and
// first entries of VBH_HC_LOG_SUMMARY, vbh/log.h) parsed back into struct
// vbh_log_entry, or a whole struct vbh_log_page from VBH_IOCTL_LOG_READ; and a
// follower that polls by sequence number.
#pragma once

#include <vbh/log.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vbhctl {

struct LogTotal {
    std::uint32_t kind = 0;
    std::uint64_t count = 0; // events of this kind since the hypervisor's init
};

struct LogView {
    std::uint64_t next_seq = 0;
    std::uint64_t lost = 0;
    std::vector<vbh_log_entry> entries; // oldest first
    std::vector<LogTotal> totals;       // "total kind=K count=N" lines
    std::vector<vbh_log_entry> firsts;  // "first seq=..." lines: never overwritten
    std::string unavailable;            // non-empty: "unavailable: why"
};

std::optional<LogView> parse_log(std::string_view text, std::string* bad = nullptr);
// The page VBH_IOCTL_LOG_READ returned (count clamped to VBH_LOG_PAGE_ENTRIES).
LogView log_view(const vbh_log_page& page);
// "npf", "launch", ... as the loader prints them; 0 for an unknown name.
std::uint32_t log_kind(std::string_view name);
const char* log_kind_name(std::uint32_t kind);
// One line in the loader's format: "seq=N cpu=N kind=npf addr=0x.. rip=0x.. info=0x..".
std::string format_log_entry(const vbh_log_entry& e);

// Hands out each entry once, in sequence order, across successive views.
class LogFollower {
public:
    LogFollower() = default;
    explicit LogFollower(std::uint64_t from) : want_(from) {}
    // The entries of v not handed out before. Entries the ring overwrote before this
    // view (sequence numbers skipped) are added to lost().
    std::vector<vbh_log_entry> take(const LogView& v);
    std::uint64_t lost() const { return lost_; }
    std::optional<std::uint64_t> want() const { return want_; }

private:
    std::optional<std::uint64_t> want_; // unset: start at the oldest entry shown
    std::uint64_t lost_ = 0;
};

} // namespace vbhctl
