// The secret stage's checks (`check protected.*`), judged from what vCPU 0 reported and
// what the VMM did with its conversions. Like checks.hpp: the detail on success never
// holds the seed or a time, so a bare and a vbh run compare line by line.
#pragma once

#include "checks.hpp"
#include "secret.hpp"

namespace vmm {

// The conversions the payload makes: SHARED_PAGES calls of one page to shared, one call
// of SHARED_PAGES pages back to private.
constexpr std::uint64_t secret_conversion_calls = VMM_SECRET_SHARED_PAGES + 1;

std::vector<Check> judge_secret(std::uint64_t seed, const Report& vcpu0,
                                const ConversionTally& tally);

} // namespace vmm
