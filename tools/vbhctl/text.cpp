#include "text.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace vbhctl {

std::string_view next_word(std::string_view* rest) {
    auto start = rest->find_first_not_of(' ');
    if (start == std::string_view::npos) {
        *rest = {};
        return {};
    }
    rest->remove_prefix(start);
    auto end = rest->find(' ');
    auto word = rest->substr(0, end);
    rest->remove_prefix(end == std::string_view::npos ? rest->size() : end);
    return word;
}

bool split_pair(std::string_view word, std::string_view* key, std::string_view* value) {
    auto eq = word.find('=');
    if (eq == std::string_view::npos)
        return false;
    *key = word.substr(0, eq);
    *value = word.substr(eq + 1);
    return true;
}

std::string_view next_line(std::string_view* rest) {
    auto end = rest->find('\n');
    auto line = rest->substr(0, end);
    rest->remove_prefix(end == std::string_view::npos ? rest->size() : end + 1);
    return line;
}

std::string render_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i)
            width[i] = std::max(width[i], r[i].size());
    std::string out;
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i)
            out += i == 0 ? fmt::format("{:<{}}", r[i], width[i])
                          : fmt::format("  {:>{}}", r[i], width[i]);
        out += '\n';
    }
    return out;
}

} // namespace vbhctl
