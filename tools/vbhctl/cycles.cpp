#include "cycles.hpp"

#include "calls.hpp"
#include "json.hpp"
#include "stats.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <cmath>

namespace vbhctl {
namespace {

std::optional<std::uint32_t> kind_of(std::string_view name) {
    for (unsigned k = 0; k < VBH_EXIT_KIND_COUNT; ++k)
        if (name == exit_kind_name(k))
            return k;
    return std::nullopt;
}

// "B:N,B:N": bucket B < VBH_CYCLE_BUCKETS, each at most once.
bool parse_hist(std::string_view text, vbh_exit_cycles& c) {
    while (!text.empty()) {
        auto comma = text.find(',');
        auto item = text.substr(0, comma);
        text.remove_prefix(comma == std::string_view::npos ? text.size() : comma + 1);
        auto colon = item.find(':');
        if (colon == std::string_view::npos)
            return false;
        auto b = parse_u64(item.substr(0, colon));
        auto n = parse_u64(item.substr(colon + 1));
        if (!b || !n || *b >= VBH_CYCLE_BUCKETS || c.hist[*b] != 0)
            return false;
        c.hist[*b] = *n;
    }
    return true;
}

// The keys every line has; a line missing one is malformed.
enum Seen : unsigned { seen_cpu = 1, seen_kind = 2, seen_count = 4, seen_sum = 8, seen_max = 16,
                       seen_hist = 32, seen_all = 63 };

bool store(KindCycles& k, std::string_view key, std::string_view value, unsigned* seen) {
    if (key == "kind") {
        *seen |= seen_kind;
        auto kind = kind_of(value);
        if (kind)
            k.kind = *kind;
        return kind.has_value();
    }
    if (key == "hist") {
        *seen |= seen_hist;
        return parse_hist(value, k.c);
    }
    auto v = parse_u64(value);
    if (!v)
        return false;
    if (key == "cpu") {
        *seen |= seen_cpu;
        k.cpu = static_cast<std::uint32_t>(*v);
        return *v <= 0xffffffffu;
    }
    if (key == "count") {
        *seen |= seen_count;
        k.c.count = *v;
    } else if (key == "cycles") {
        *seen |= seen_sum;
        k.c.sum = *v;
    } else if (key == "max") {
        *seen |= seen_max;
        k.c.max = *v;
    }
    return true; // unknown keys: a newer loader may print more
}

} // namespace

std::optional<KindCycles> parse_cycles_line(std::string_view line) {
    KindCycles k;
    unsigned seen = 0;
    for (auto rest = line;;) {
        auto word = next_word(&rest);
        if (word.empty())
            break;
        std::string_view key, value;
        if (!split_pair(word, &key, &value) || !store(k, key, value, &seen))
            return std::nullopt;
    }
    if (seen != seen_all)
        return std::nullopt;
    return k;
}

std::optional<CyclesView> parse_cycles(std::string_view text, std::string* bad) {
    CyclesView v;
    auto ok = parse_records(text, &v.unavailable, bad, [&](std::string_view line) {
        if (line.find(" unavailable: ") != std::string_view::npos) {
            v.notes.emplace_back(line);
            return true;
        }
        auto k = parse_cycles_line(line);
        if (k)
            v.rows.push_back(*k);
        return k.has_value();
    });
    return ok ? std::optional(std::move(v)) : std::nullopt;
}

unsigned bucket_quantile(const vbh_exit_cycles& c, double q) {
    std::uint64_t total = 0;
    for (auto n : c.hist)
        total += n;
    if (total == 0)
        return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * double(total)));
    std::uint64_t seen = 0;
    for (unsigned b = 0; b < VBH_CYCLE_BUCKETS; ++b)
        if ((seen += c.hist[b]) >= rank)
            return b;
    return VBH_CYCLE_BUCKETS - 1;
}

namespace {

std::string bucket_range(unsigned b) {
    if (b == VBH_CYCLE_BUCKETS - 1)
        return fmt::format(">={}", 1ull << b);
    return b == 0 ? "0-1" : fmt::format("{}-{}", 1ull << b, (2ull << b) - 1);
}

double mean(const vbh_exit_cycles& c) { return c.count ? double(c.sum) / double(c.count) : 0; }

} // namespace

std::string format_cycles_table(const CyclesView& v) {
    if (!v.unavailable.empty())
        return fmt::format("unavailable: {}\n", v.unavailable);
    std::vector<std::vector<std::string>> rows{
        {"cpu", "exit", "count", "mean", "p50 bucket", "p99 bucket", "max"}};
    for (const auto& r : v.rows)
        rows.push_back({fmt::to_string(r.cpu), exit_kind_name(r.kind), fmt::to_string(r.c.count),
                        fmt::format("{:.0f}", mean(r.c)), bucket_range(bucket_quantile(r.c, 0.5)),
                        bucket_range(bucket_quantile(r.c, 0.99)), fmt::to_string(r.c.max)});
    std::string out = "TSC cycles from #VMEXIT to the next VMRUN, per exit\n";
    out += v.rows.empty() ? "no timed exits yet\n" : render_table(rows);
    for (const auto& n : v.notes)
        out += n + '\n';
    return out;
}

std::string format_cycles_json(const CyclesView& v) {
    if (!v.unavailable.empty())
        return fmt::format("{{\"unavailable\": {}}}\n", json_string(v.unavailable));
    std::string out = "{\n  \"exits\": [";
    for (std::size_t i = 0; i < v.rows.size(); ++i) {
        const auto& r = v.rows[i];
        std::string hist;
        for (unsigned b = 0; b < VBH_CYCLE_BUCKETS; ++b)
            if (r.c.hist[b])
                hist += fmt::format("{}\"{}\": {}", hist.empty() ? "" : ", ", b, r.c.hist[b]);
        out += fmt::format("{}\n    {{\"cpu\": {}, \"kind\": \"{}\", \"count\": {}, \"cycles\": {}, "
                           "\"mean\": {:.1f}, \"max\": {}, \"p50_bucket\": {}, \"p99_bucket\": {}, "
                           "\"hist\": {{{}}}}}",
                           i ? "," : "", r.cpu, exit_kind_name(r.kind), r.c.count, r.c.sum,
                           mean(r.c), r.c.max, bucket_quantile(r.c, 0.5),
                           bucket_quantile(r.c, 0.99), hist);
    }
    out += "\n  ],\n  \"unavailable\": [";
    for (std::size_t i = 0; i < v.notes.size(); ++i)
        out += fmt::format("{}{}", i ? ", " : "", json_string(v.notes[i]));
    return out + "]\n}\n";
}

} // namespace vbhctl
