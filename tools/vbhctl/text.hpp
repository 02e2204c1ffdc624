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
// Columns padded to their widest cell: the first left-aligned, the others right.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

} // namespace vbhctl
