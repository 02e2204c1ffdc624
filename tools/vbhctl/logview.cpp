#include "logview.hpp"

#include "abi_names.hpp"
#include "calls.hpp"
#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace vbhctl {
namespace {

// Indexed by enum vbh_log_kind (from 1; 0 has no name); the loader prints the same
// names (loader/stats.c), both from VBH_LOG_KINDS (log.h).
#define VBHCTL_LOG_VALUE_(name, value, text) value,
constexpr std::uint32_t log_kind_end = std::max({VBH_LOG_KINDS(VBHCTL_LOG_VALUE_)}) + 1;
#undef VBHCTL_LOG_VALUE_
constexpr auto kind_names = VBHCTL_NAMES(VBH_LOG_KINDS, log_kind_end);

bool store(vbh_log_entry& e, std::string_view key, std::string_view value) {
    if (key == "kind") {
        e.kind = log_kind(value);
        return true;
    }
    auto v = parse_u64(value);
    if (!v)
        return false;
    if (key == "cpu") {
        if (*v > 0xffffffffu)
            return false;
        e.cpu = static_cast<std::uint32_t>(*v);
    } else if (key == "seq") {
        e.seq = *v;
    } else if (key == "addr") {
        e.addr = *v;
    } else if (key == "rip") {
        e.rip = *v;
    } else if (key == "info") {
        e.info = *v;
    }
    return true;
}

// The loader prints %#llx: "0x1f", but plain "0" for zero. parse_u64 reads both.
std::optional<vbh_log_entry> parse_entry(std::string_view line) {
    vbh_log_entry e{};
    bool have_seq = false;
    for (auto rest = line;;) {
        auto word = next_word(&rest);
        if (word.empty())
            break;
        std::string_view key, value;
        if (!split_pair(word, &key, &value) || !store(e, key, value))
            return std::nullopt;
        have_seq |= key == "seq";
    }
    if (!have_seq)
        return std::nullopt;
    return e;
}

bool parse_header(std::string_view line, LogView& v) {
    bool have_next = false;
    for (auto rest = line;;) {
        auto word = next_word(&rest);
        if (word.empty())
            return have_next;
        std::string_view key, value;
        if (!split_pair(word, &key, &value))
            return false;
        auto n = parse_u64(value);
        if (!n)
            return false;
        if (key == "next_seq")
            v.next_seq = *n, have_next = true;
        else if (key == "lost")
            v.lost = *n;
    }
}

// "total kind=K count=N" and "first <entry>" (VBH_HC_LOG_SUMMARY, after the entries),
// or "summary unavailable: why". False if the line is none of them; a malformed one
// is kept out of the view.
bool parse_summary_line(std::string_view line, LogView& v) {
    constexpr std::string_view total = "total ", first = "first ", none = "summary ";
    if (line.substr(0, none.size()) == none)
        return true;
    if (line.substr(0, first.size()) == first) {
        if (auto e = parse_entry(line.substr(first.size())))
            v.firsts.push_back(*e);
        return true;
    }
    if (line.substr(0, total.size()) != total)
        return false;
    LogTotal t;
    for (auto rest = line.substr(total.size());;) {
        auto word = next_word(&rest);
        if (word.empty())
            break;
        std::string_view key, value;
        if (!split_pair(word, &key, &value))
            return true;
        if (key == "kind")
            t.kind = log_kind(value);
        else if (auto n = parse_u64(value); key == "count" && n)
            t.count = *n;
    }
    v.totals.push_back(t);
    return true;
}

} // namespace

std::uint32_t log_kind(std::string_view name) {
    for (std::uint32_t k = 1; k < kind_names.size(); ++k)
        if (kind_names[k] && name == kind_names[k])
            return k;
    return 0;
}

const char* log_kind_name(std::uint32_t kind) {
    return kind < kind_names.size() && kind_names[kind] ? kind_names[kind] : "unknown";
}

std::optional<LogView> parse_log(std::string_view text, std::string* bad) {
    LogView v;
    auto first = next_line(&text);
    constexpr std::string_view off = "unavailable: ";
    if (first.substr(0, off.size()) == off) {
        v.unavailable = std::string(first.substr(off.size()));
        return v;
    }
    if (!parse_header(first, v)) {
        if (bad)
            *bad = std::string(first);
        return std::nullopt;
    }
    while (!text.empty()) {
        auto line = next_line(&text);
        if (line.empty())
            continue;
        if (parse_summary_line(line, v))
            continue;
        auto e = parse_entry(line);
        if (!e || (!v.entries.empty() && e->seq <= v.entries.back().seq)) {
            if (bad)
                *bad = std::string(line);
            return std::nullopt;
        }
        v.entries.push_back(*e);
    }
    return v;
}

std::string format_log_entry(const vbh_log_entry& e) {
    return fmt::format("seq={} cpu={} kind={} addr={:#x} rip={:#x} info={:#x}", e.seq, e.cpu,
                       log_kind_name(e.kind), e.addr, e.rip, e.info);
}

LogView log_view(const vbh_log_page& page) {
    LogView v;
    v.next_seq = page.next_seq;
    v.lost = page.lost;
    v.entries.assign(page.entries, page.entries + std::min(page.count, VBH_LOG_PAGE_ENTRIES));
    return v;
}

std::vector<vbh_log_entry> LogFollower::take(const LogView& v) {
    if (!want_)
        want_ = v.entries.empty() ? v.next_seq : v.entries.front().seq;
    std::vector<vbh_log_entry> out;
    for (const auto& e : v.entries)
        if (e.seq >= *want_)
            out.push_back(e);
    // Everything from want_ up to the first entry still shown has been overwritten
    // (or scrolled out of the loader's window) before this read.
    auto first = out.empty() ? v.next_seq : out.front().seq;
    if (first > *want_)
        lost_ += first - *want_;
    want_ = std::max(first, out.empty() ? *want_ : out.back().seq + 1);
    return out;
}

} // namespace vbhctl
