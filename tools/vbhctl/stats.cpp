#include "stats.hpp"

#include "abi_names.hpp"
#include "calls.hpp"
#include "json.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace vbhctl {
namespace {

// Indexed by enum vbh_exit_kind, from VBH_EXIT_KINDS (stats.h) like the loader's
// exit_NAME= keys.
constexpr auto exit_names = VBHCTL_NAMES(VBH_EXIT_KINDS, VBH_EXIT_KIND_COUNT);

// The counters after the per-reason exits, in the loader's order.
struct Counter {
    const char* name;
    std::uint64_t vbh_cpu_stats::*field;
};
constexpr std::array<Counter, 19> counters{
    Counter{"total_exits", &vbh_cpu_stats::total_exits},
    Counter{"flushes", &vbh_cpu_stats::flushes},
    Counter{"kicks_sent", &vbh_cpu_stats::kicks_sent},
    Counter{"kicks_taken", &vbh_cpu_stats::kicks_taken},
    Counter{"nmis_reflected", &vbh_cpu_stats::nmis_reflected},
    Counter{"faults_reflected", &vbh_cpu_stats::faults_reflected},
    Counter{"dma_faults", &vbh_cpu_stats::dma_faults},
    Counter{"l2_entries", &vbh_cpu_stats::l2_entries},
    Counter{"l2_exits", &vbh_cpu_stats::l2_exits},
    Counter{"l2_reflected", &vbh_cpu_stats::l2_reflected},
    Counter{"l2_shadow_fills", &vbh_cpu_stats::l2_shadow_fills},
    Counter{"l2_shadow_drops", &vbh_cpu_stats::l2_shadow_drops},
    Counter{"l2_state_drops", &vbh_cpu_stats::l2_state_drops},
    // Gauges (state held when read, docs/nested.md): the total is the sum over CPUs.
    Counter{"l2_asids", &vbh_cpu_stats::l2_asids},
    Counter{"l2_shadow_pages", &vbh_cpu_stats::l2_shadow_pages},
    Counter{"l2_vmcb12", &vbh_cpu_stats::l2_vmcb12},
    Counter{"l2_running", &vbh_cpu_stats::l2_running},
    Counter{"host_svme", &vbh_cpu_stats::host_svme},
    Counter{"host_hsave", &vbh_cpu_stats::host_hsave},
};

std::uint64_t* field_for(vbh_cpu_stats& s, std::string_view key) {
    for (const auto& c : counters)
        if (key == c.name)
            return &(s.*c.field);
    if (key.substr(0, 5) == "exit_")
        for (unsigned k = 0; k < exit_names.size(); ++k)
            if (key.substr(5) == exit_names[k])
                return &s.exits[k];
    return nullptr;
}

// Unknown keys are skipped: a newer loader may print more counters.
bool store(CpuStats& c, std::string_view key, std::uint64_t v, bool* have_cpu) {
    if (key == "cpu" || key == "launched") {
        if (v > 0xffffffffu)
            return false;
        (key == "cpu" ? c.s.cpu : c.s.launched) = static_cast<std::uint32_t>(v);
        *have_cpu |= key == "cpu";
    } else if (auto* f = field_for(c.s, key)) {
        *f = v;
    }
    return true;
}

} // namespace

const char* exit_kind_name(unsigned kind) {
    return kind < exit_names.size() ? exit_names[kind] : "unknown";
}

std::optional<CpuStats> parse_stats_line(std::string_view line) {
    CpuStats c;
    c.s.version = VBH_STATS_VERSION;
    bool have_cpu = false;
    for (auto rest = line;;) {
        auto word = next_word(&rest);
        if (word.empty())
            break;
        if (word == "unavailable:") {
            c.unavailable = std::string(rest.substr(std::min(rest.size(), std::size_t{1})));
            break;
        }
        std::string_view key, value;
        if (!split_pair(word, &key, &value))
            return std::nullopt;
        auto v = parse_u64(value);
        if (!v || !store(c, key, *v, &have_cpu))
            return std::nullopt;
    }
    if (!have_cpu)
        return std::nullopt;
    return c;
}

std::optional<StatsView> parse_stats(std::string_view text, std::string* bad) {
    StatsView v;
    auto ok = parse_records(text, &v.unavailable, bad, [&](std::string_view line) {
        auto c = parse_stats_line(line);
        if (c)
            v.cpus.push_back(std::move(*c));
        return c.has_value();
    });
    return ok ? std::optional(std::move(v)) : std::nullopt;
}

vbh_cpu_stats stats_total(const StatsView& v) {
    vbh_cpu_stats t{};
    t.version = VBH_STATS_VERSION;
    for (const auto& c : v.cpus) {
        if (!c.unavailable.empty())
            continue;
        ++t.cpu;
        t.launched += c.s.launched;
        for (unsigned k = 0; k < VBH_STATS_MAX_KINDS; ++k)
            t.exits[k] += c.s.exits[k];
        for (const auto& f : counters)
            t.*f.field += c.s.*f.field;
    }
    return t;
}

namespace {

using Row = std::vector<std::string>;

Row header_row() {
    Row r{"cpu", "launched"};
    r.insert(r.end(), exit_names.begin(), exit_names.end());
    for (const auto& c : counters)
        r.emplace_back(c.name);
    return r;
}

Row value_row(std::string label, const vbh_cpu_stats& s) {
    Row r{std::move(label), fmt::to_string(s.launched)};
    for (unsigned k = 0; k < exit_names.size(); ++k)
        r.push_back(fmt::to_string(s.exits[k]));
    for (const auto& c : counters)
        r.push_back(fmt::to_string(s.*c.field));
    return r;
}

} // namespace

std::string format_stats_table(const StatsView& v) {
    if (!v.unavailable.empty())
        return fmt::format("unavailable: {}\n", v.unavailable);
    std::vector<Row> rows{header_row()};
    std::string notes;
    for (const auto& c : v.cpus) {
        if (c.unavailable.empty())
            rows.push_back(value_row(fmt::to_string(c.s.cpu), c.s));
        else
            notes += fmt::format("cpu {} unavailable: {}\n", c.s.cpu, c.unavailable);
    }
    rows.push_back(value_row("total", stats_total(v)));
    return render_table(rows) + notes;
}

namespace {

std::string json_counters(const vbh_cpu_stats& s) {
    std::string out = "\"exits\": {";
    for (unsigned k = 0; k < exit_names.size(); ++k)
        out += fmt::format("{}\"{}\": {}", k ? ", " : "", exit_names[k], s.exits[k]);
    out += "}";
    for (const auto& c : counters)
        out += fmt::format(", \"{}\": {}", c.name, s.*c.field);
    return out;
}

std::string json_cpu(const CpuStats& c) {
    if (!c.unavailable.empty())
        return fmt::format("{{\"cpu\": {}, \"unavailable\": {}}}", c.s.cpu,
                           json_string(c.unavailable));
    return fmt::format("{{\"cpu\": {}, \"launched\": {}, {}}}", c.s.cpu, c.s.launched,
                       json_counters(c.s));
}

} // namespace

std::string format_stats_json(const StatsView& v) {
    if (!v.unavailable.empty())
        return fmt::format("{{\"unavailable\": {}}}\n", json_string(v.unavailable));
    std::string out = "{\n  \"cpus\": [";
    for (std::size_t i = 0; i < v.cpus.size(); ++i)
        out += fmt::format("{}\n    {}", i ? "," : "", json_cpu(v.cpus[i]));
    auto t = stats_total(v);
    out += fmt::format("\n  ],\n  \"total\": {{\"cpus\": {}, \"launched\": {}, {}}}\n}}\n",
                       t.cpu, t.launched, json_counters(t));
    return out;
}

} // namespace vbhctl
