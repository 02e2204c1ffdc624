// Name lookup tables built from the ABI's X-macro tables (VBH_STATUSES in abi.h,
// VBH_EXIT_KINDS in stats.h, VBH_LOG_KINDS in log.h), whose entries are
// X(NAME, value, text): vbhctl keeps no list of names of its own.
#pragma once

#include <array>

// std::array<const char*, N> with a[value] = "text" for every X(NAME, value, text) of
// TABLE; values outside the table stay nullptr.
#define VBHCTL_NAME_AT_(name, value, text) a[value] = #text;
#define VBHCTL_NAMES(TABLE, N)                                                             \
    [] {                                                                                   \
        std::array<const char*, N> a{};                                                    \
        TABLE(VBHCTL_NAME_AT_)                                                             \
        return a;                                                                          \
    }()
