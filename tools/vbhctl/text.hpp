// key=value lines as the loader writes them in /sys/kernel/vbh (docs/loader.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vbhctl {

// Splits off the next space-separated word of *rest ("" when none is left).
std::string_view next_word(std::string_view* rest);
// Splits "key=value"; false when there is no '='.
bool split_pair(std::string_view word, std::string_view* key, std::string_view* value);
// Splits off the next line (without its '\n').
std::string_view next_line(std::string_view* rest);
// The loader's per-CPU sysfs files: either one line "unavailable: why" (stored in
// *unavailable) or one record per line, each handed to record(line), which returns
// false for a malformed one; that line goes to *bad (if given) and the result is false.
template <class Record>
bool parse_records(std::string_view text, std::string* unavailable, std::string* bad,
                   Record record) {
    constexpr std::string_view whole = "unavailable: ";
    if (text.substr(0, whole.size()) == whole) {
        auto rest = text.substr(whole.size());
        *unavailable = std::string(next_line(&rest));
        return true;
    }
    while (!text.empty()) {
        auto line = next_line(&text);
        if (line.empty() || record(line))
            continue;
        if (bad)
            *bad = std::string(line);
        return false;
    }
    return true;
}

// Columns padded to their widest cell: the first left-aligned, the others right.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

} // namespace vbhctl
