#include "secret_checks.hpp"

#include "stream.hpp"

#include <fmt/format.h>

namespace vmm {

namespace {

void add(std::vector<Check>& out, const char* name, bool ok, std::string detail) {
    out.push_back(Check{std::string{"protected."} + name, ok, std::move(detail)});
}

// The secret as written: the last qword (the guest ran the same generator over the
// whole region) and a read-back at once (the memory kept it).
void written(std::vector<Check>& out, std::uint64_t seed, const Report& r) {
    const auto last = r.value64(R_SECRET_LAST);
    const auto diff = r.records[R_SECRET_WRITE_DIFF];
    if (!last || !diff) return add(out, "secret_written", false, "not reported");
    const std::uint64_t want = stream_qword(seed, VMM_SECRET_SIZE / 8 - 1);
    const bool ok = *last == want && *diff == 0;
    add(out, "secret_written", ok,
        ok ? fmt::format("{} bytes", VMM_SECRET_SIZE)
           : fmt::format("last qword {}, {} bytes differ on read-back; want the stream's, 0",
                         *last == want ? "the stream's" : fmt::format("{:#x}", *last), *diff));
}

// Every call answered 0 in the guest, and the VMM saw the calls the payload makes.
void conversions(std::vector<Check>& out, const Report& r, const ConversionTally& t) {
    const auto ok_calls = r.records[R_SECRET_HC_OK];
    const auto first_err = r.records[R_SECRET_HC_ERR];
    if (!ok_calls || !first_err) return add(out, "conversions", false, "not reported");
    const std::uint64_t pages = VMM_SECRET_SHARED_PAGES;
    const bool ok = *ok_calls == secret_conversion_calls && *first_err == 0 &&
                    t.calls == secret_conversion_calls && t.to_shared_pages == pages &&
                    t.to_private_pages == pages && t.refused == 0;
    const std::string seen = fmt::format("{} calls: {} pages shared, {} private", t.calls,
                                         t.to_shared_pages, t.to_private_pages);
    add(out, "conversions", ok,
        ok ? seen
           : fmt::format("got {}, {} refused, {} returned 0 in the guest (first other {:#x}); "
                         "want {} calls: {} pages shared, {} private",
                         seen, t.refused, *ok_calls, *first_err, secret_conversion_calls, pages,
                         pages));
}

// What the guest read in its shared pages is what the VMM put there.
void shared(std::vector<Check>& out, std::uint64_t seed, const Report& r) {
    const auto first = r.value64(R_SECRET_SHARED_QWORD);
    const auto diff = r.records[R_SECRET_SHARED_DIFF];
    if (!first || !diff) return add(out, "shared_data", false, "not reported");
    const std::uint64_t want = stream_qword(seed ^ SECRET_SHARED_SALT, 0);
    const bool ok = *first == want && *diff == 0;
    add(out, "shared_data", ok,
        ok ? fmt::format("{} bytes", VMM_SECRET_SHARED_PAGES * 0x1000)
           : fmt::format("first qword {}, {} bytes unlike the VMM's; want the VMM's, 0",
                         *first == want ? "the VMM's" : fmt::format("{:#x}", *first), *diff));
}

} // namespace

std::vector<Check> judge_secret(std::uint64_t seed, const Report& r, const ConversionTally& t) {
    std::vector<Check> out;
    written(out, seed, r);
    conversions(out, r, t);
    shared(out, seed, r);
    if (const auto diff = r.records[R_SECRET_FINAL_DIFF])
        add(out, "secret_intact", *diff == 0,
            fmt::format("{} of {} bytes differ after the hold", *diff, VMM_SECRET_SIZE));
    else
        add(out, "secret_intact", false, "not reported");
    return out;
}

} // namespace vmm
