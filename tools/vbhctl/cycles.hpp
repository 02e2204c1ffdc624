// Time in the hypervisor per exit as vbhctl shows it: the /sys/kernel/vbh/exit_cycles
// text (docs/loader.md) parsed back into struct vbh_exit_cycles (vbh/stats.h), then a
// table of count, mean, median and 99th-percentile buckets and max, or JSON.
#pragma once

#include <vbh/stats.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vbhctl {

struct KindCycles {
    std::uint32_t cpu = 0;
    std::uint32_t kind = 0; // enum vbh_exit_kind
    vbh_exit_cycles c{};
};

struct CyclesView {
    std::vector<KindCycles> rows;
    std::vector<std::string> notes; // "cpu=N unavailable: why" lines
    std::string unavailable;        // non-empty: the whole file said "unavailable: why"
};

// One sysfs line; nullopt for a malformed line (unknown kind, bad number or bucket).
std::optional<KindCycles> parse_cycles_line(std::string_view line);
// The whole file; nullopt names the first malformed line in *bad.
std::optional<CyclesView> parse_cycles(std::string_view text, std::string* bad = nullptr);

// The bucket that holds the q-quantile (0 < q <= 1) of the exits: the exit ranked
// ceil(q * count) falls in it. 0 when there are no exits.
unsigned bucket_quantile(const vbh_exit_cycles& c, double q);

std::string format_cycles_table(const CyclesView& v);
// {"exits": [{"cpu", "kind", "count", "cycles", "mean", "max", "p50_bucket",
//  "p99_bucket", "hist": {"B": N}}], "unavailable": [...]}
std::string format_cycles_json(const CyclesView& v);

} // namespace vbhctl
