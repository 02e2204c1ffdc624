// Status: the one error vocabulary of vbh, shared with the hypercall ABI.
#pragma once

#include <vbh/abi.h>

#include <cstdint>

namespace vbh {

enum class Status : std::uint32_t {
    ok = VBH_OK,
    unknown_call = VBH_E_UNKNOWN_CALL,
    invalid = VBH_E_INVALID,
    range = VBH_E_RANGE,
    overflow = VBH_E_OVERFLOW,
    state = VBH_E_STATE,
    no_domain = VBH_E_NO_DOMAIN,
    no_memory = VBH_E_NO_MEMORY,
    denied = VBH_E_DENIED,
    busy = VBH_E_BUSY,
};

inline constexpr std::uint32_t status_count = VBH_STATUS_COUNT;

constexpr const char* to_string(Status s) {
    switch (s) {
    case Status::ok: return "ok";
    case Status::unknown_call: return "unknown_call";
    case Status::invalid: return "invalid";
    case Status::range: return "range";
    case Status::overflow: return "overflow";
    case Status::state: return "state";
    case Status::no_domain: return "no_domain";
    case Status::no_memory: return "no_memory";
    case Status::denied: return "denied";
    case Status::busy: return "busy";
    }
    return "?";
}

} // namespace vbh
