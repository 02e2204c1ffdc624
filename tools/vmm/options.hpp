// vbh-vmm's command line (docs/vmm.md, "Running it"), apart from main so the hosted
// tests can parse command lines.
#pragma once

#include "machine.hpp"

#include <optional>

namespace vmm {

struct ParsedArgs {
    std::optional<Options> options;  // none: exit with exit_code (help, or a usage error)
    int exit_code = 0;               // 0 after --help, 2 for a usage error
};

// Parses argv; help and usage errors are printed as CLI11 does (stdout, stderr).
ParsedArgs parse_args(int argc, const char* const* argv);

} // namespace vmm
