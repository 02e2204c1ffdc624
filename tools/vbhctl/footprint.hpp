// Hypervisor memory by part, as the loader shows it in /sys/kernel/vbh/footprint
// ("PART BYTES" per part of boot.h's VBH_FOOTPRINT_PARTS, then "total BYTES" and
// "ram BYTES"; docs/loader.md), for `vbhctl status`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vbhctl {

struct Footprint {
    std::vector<std::pair<std::string, std::uint64_t>> parts; // in the file's order
    std::uint64_t total = 0;
    std::uint64_t ram = 0;
};

// False on a malformed line (in *bad), a part boot.h does not name, or parts that do
// not add up to the total.
bool parse_footprint(std::string_view text, Footprint* out, std::string* bad);
// "hypervisor memory: T KiB (P % of R MiB RAM)" and a table of the parts in KiB.
std::string render_footprint(const Footprint& f);

} // namespace vbhctl
