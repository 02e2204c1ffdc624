// Names and argument parsing for vbhctl: call numbers, status codes, integers.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vbhctl {

// "VERSION", "version", "0x00", "16" -> call number; nullopt if neither.
std::optional<std::uint64_t> parse_call(std::string_view s);
// Decimal, 0x hex or 0 octal, the full string, no sign, no overflow.
std::optional<std::uint64_t> parse_u64(std::string_view s);
// "ok", "denied", ... for enum vbh_status values; "unknown" for anything else
// (a foreign hypervisor's answer, for instance).
const char* status_name(std::uint64_t status);
// "VERSION", "HOST_DONATE", ... or nullptr.
const char* call_name(std::uint64_t call);

} // namespace vbhctl
