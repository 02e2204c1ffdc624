#include "calls.hpp"

#include "abi_names.hpp"

#include <vbh/abi.h>

#include <array>
#include <cctype>
#include <charconv>

namespace vbhctl {
namespace {

struct CallName {
    std::uint64_t nr;
    const char* name;
};

#define VBHCTL_CALL_(name, nr) CallName{VBH_HC_##name, #name},
constexpr CallName call_names[] = {VBH_CALLS(VBHCTL_CALL_)};
#undef VBHCTL_CALL_

// Indexed by enum vbh_status (dense from 0).
constexpr auto status_names = VBHCTL_NAMES(VBH_STATUSES, VBH_STATUS_COUNT);

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto ua = std::toupper(static_cast<unsigned char>(a[i]));
        if (ua != static_cast<unsigned char>(b[i]))
            return false;
    }
    return true;
}

} // namespace

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (s.size() > 1 && s[0] == '0') {
        base = 8;
        s.remove_prefix(1);
    }
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
        return std::nullopt;
    return v;
}

std::optional<std::uint64_t> parse_call(std::string_view s) {
    for (const auto& c : call_names)
        if (same_name(s, c.name))
            return c.nr;
    return parse_u64(s);
}

const char* status_name(std::uint64_t status) {
    return status < status_names.size() ? status_names[status] : "unknown";
}

const char* call_name(std::uint64_t call) {
    for (const auto& c : call_names)
        if (c.nr == call)
            return c.name;
    return nullptr;
}

} // namespace vbhctl
