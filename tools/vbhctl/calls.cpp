#include "calls.hpp"

#include <vbh/abi.h>
#include <vbh/status.hpp>

#include <array>
#include <cctype>
#include <charconv>

namespace vbhctl {
namespace {

struct CallName {
    std::uint64_t nr;
    const char* name;
};

constexpr std::array call_names{
    CallName{VBH_HC_VERSION, "VERSION"},
    CallName{VBH_HC_DOMAIN_CREATE, "DOMAIN_CREATE"},
    CallName{VBH_HC_DOMAIN_DESTROY, "DOMAIN_DESTROY"},
    CallName{VBH_HC_HOST_SHARE, "HOST_SHARE"},
    CallName{VBH_HC_HOST_UNSHARE, "HOST_UNSHARE"},
    CallName{VBH_HC_HOST_DONATE, "HOST_DONATE"},
    CallName{VBH_HC_HOST_RECLAIM, "HOST_RECLAIM"},
    CallName{VBH_HC_HYP_DONATE, "HYP_DONATE"},
    CallName{VBH_HC_HOST_DONATE_LIST, "HOST_DONATE_LIST"},
    CallName{VBH_HC_TEST_FILL, "TEST_FILL"},
    CallName{VBH_HC_TEST_HASH, "TEST_HASH"},
    CallName{VBH_HC_STATS_READ, "STATS_READ"},
    CallName{VBH_HC_LOG_READ, "LOG_READ"},
    CallName{VBH_HC_CYCLES_READ, "CYCLES_READ"},
    CallName{VBH_HC_LAUNCH_SEAL, "LAUNCH_SEAL"},
    CallName{VBH_HC_DEVIRT, "DEVIRT"},
};

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
    if (status >= vbh::status_count)
        return "unknown";
    return vbh::to_string(static_cast<vbh::Status>(status));
}

const char* call_name(std::uint64_t call) {
    for (const auto& c : call_names)
        if (c.nr == call)
            return c.name;
    return nullptr;
}

} // namespace vbhctl
