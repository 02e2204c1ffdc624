#include "footprint.hpp"

#include "text.hpp"

#include <vbh/boot.h>

#include <fmt/format.h>

#include <charconv>

namespace vbhctl {
namespace {

constexpr std::string_view part_names[] = {
#define VBHCTL_FOOTPRINT_NAME(NAME, name) #name,
    VBH_FOOTPRINT_PARTS(VBHCTL_FOOTPRINT_NAME)
#undef VBHCTL_FOOTPRINT_NAME
};

bool known_part(std::string_view name) {
    for (auto p : part_names)
        if (p == name)
            return true;
    return false;
}

bool to_u64(std::string_view s, std::uint64_t* v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
    return ec == std::errc{} && end == s.data() + s.size() && !s.empty();
}

} // namespace

bool parse_footprint(std::string_view text, Footprint* out, std::string* bad) {
    *out = {};
    std::uint64_t sum = 0;
    bool have_total = false;
    while (!text.empty()) {
        auto line = next_line(&text);
        if (line.empty())
            continue;
        auto rest = line;
        auto name = next_word(&rest);
        std::uint64_t v = 0;
        if (!to_u64(next_word(&rest), &v) || !rest.empty()) {
            *bad = std::string(line);
            return false;
        }
        if (name == "total") {
            out->total = v;
            have_total = true;
        } else if (name == "ram") {
            out->ram = v;
        } else if (known_part(name)) {
            out->parts.emplace_back(std::string(name), v);
            sum += v;
        } else {
            *bad = std::string(line);
            return false;
        }
    }
    if (!have_total || sum != out->total) {
        *bad = fmt::format("parts add up to {} B, total says {} B", sum, out->total);
        return false;
    }
    return true;
}

std::string render_footprint(const Footprint& f) {
    std::string out = fmt::format("hypervisor memory: {} KiB", f.total >> 10);
    if (f.ram)
        out += fmt::format(" ({:.2f} % of {} MiB RAM)", 100.0 * double(f.total) / double(f.ram),
                           f.ram >> 20);
    out += '\n';
    std::vector<std::vector<std::string>> rows{{"  part", "KiB"}};
    for (const auto& [name, bytes] : f.parts)
        rows.push_back({"  " + name, fmt::format("{}", (bytes + 1023) >> 10)});
    return out + render_table(rows);
}

} // namespace vbhctl
