#include "json.hpp"

#include <fmt/format.h>

namespace vbhctl {

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\')
            out += {'\\', ch};
        else if (u < 0x20)
            out += fmt::format("\\u{:04x}", u);
        else
            out += ch;
    }
    return out + "\"";
}

} // namespace vbhctl
