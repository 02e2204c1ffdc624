// Exit statistics as vbhctl shows them: the /sys/kernel/vbh/stats text (docs/loader.md)
// parsed back into struct vbh_cpu_stats (vbh/stats.h), then a table or JSON.
#pragma once

#include <vbh/stats.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vbhctl {

struct CpuStats {
    vbh_cpu_stats s{};
    std::string unavailable; // non-empty: "cpu=N unavailable: why" from the loader
};

struct StatsView {
    std::vector<CpuStats> cpus;
    std::string unavailable; // non-empty: the whole file said "unavailable: why"
};

// One sysfs line; nullopt for a malformed line (no cpu=, a bad number).
std::optional<CpuStats> parse_stats_line(std::string_view line);
// The whole file; nullopt names the first malformed line in *bad.
std::optional<StatsView> parse_stats(std::string_view text, std::string* bad = nullptr);

// Short column names for enum vbh_exit_kind ("hypercall", "msr_read", ...).
const char* exit_kind_name(unsigned kind);
// The sum over the CPUs that answered (cpu = number of them).
vbh_cpu_stats stats_total(const StatsView& v);

// CPU x exit reason, then the invalidation counters; a "total" row.
std::string format_stats_table(const StatsView& v);
// {"cpus": [...], "total": {...}}; unavailable CPUs carry "unavailable": "why".
std::string format_stats_json(const StatsView& v);

} // namespace vbhctl
