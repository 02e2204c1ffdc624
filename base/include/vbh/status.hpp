// Status: the one error vocabulary of vbh, shared with the hypercall ABI. The names and
// values come from VBH_STATUSES (abi.h), the one table of them.
#pragma once

#include <vbh/abi.h>

#include <cstdint>

namespace vbh {

#define VBH_STATUS_MEMBER_(name, value, text) text = VBH_##name,
enum class Status : std::uint32_t { VBH_STATUSES(VBH_STATUS_MEMBER_) };
#undef VBH_STATUS_MEMBER_

inline constexpr std::uint32_t status_count = VBH_STATUS_COUNT;

// "ok", "unknown_call", ...; "?" for a value outside the ABI.
constexpr const char* to_string(Status s) {
    switch (s) {
#define VBH_STATUS_NAME_(name, value, text) \
    case Status::text: return #text;
        VBH_STATUSES(VBH_STATUS_NAME_)
#undef VBH_STATUS_NAME_
    }
    return "?";
}

} // namespace vbh
