#include "options.hpp"

#include "payload_abi.h"
#include "secret.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

namespace vmm {

ParsedArgs parse_args(int argc, const char* const* argv) {
    Options o;
    CLI::App app{"vbh-vmm: boot a 64-bit test payload under KVM and check its results"};
    app.add_option("--vcpus", o.vcpus, "vCPUs")->check(CLI::Range(1u, unsigned{VMM_MAX_VCPUS}));
    app.add_option("--ticks", o.ticks, "LAPIC timer interrupts each vCPU waits for in HLT")
        ->check(CLI::Range(1u, 100000u));
    app.add_option("--period-us", o.period_us, "LAPIC timer period")
        ->check(CLI::Range(200u, 1000000u));  // KVM raises shorter periods to 200 us
    app.add_option("-i,--iterations", o.iterations, "exits per benchmark loop, 0: none")
        ->check(CLI::Range(0u, 100000000u));
    app.add_option("--timeout", o.timeout_s, "seconds for the whole run, not counting the hold")
        ->check(CLI::Range(1u, 3600u));
    bool protected_vm = false, unprotected = false;
    auto* prot = app.add_flag("--protected", protected_vm,
                              "secret stage in a KVM_X86_SW_PROTECTED_VM, the secret private");
    auto* unprot = app.add_flag("--unprotected", unprotected,
                                "the same stage in an ordinary VM (baseline)");
    prot->excludes(unprot);
    std::string seed;
    auto* seed_opt =
        app.add_option("--seed", seed, "the secret's seed, e.g. 0x1234 (default: random)");
    auto* hold = app.add_option("--hold-secs", o.hold_s,
                                "at the sync point: wait this long (with --hold-file: at most; "
                                "default 120)")
                     ->check(CLI::Range(0u, 3600u));
    auto* file = app.add_option("--hold-file", o.hold_file,
                                "at the sync point: wait until this file exists");
    auto* ready = app.add_option("--ready-file", o.ready_file,
                                 "at the sync point: create this file (then hold)");
    app.add_flag("--scribble", o.scribble,
                 "after the hold, overwrite the VMM's own mapping of the secret region");
    app.add_option("--touch-pages", o.touch_pages,
                   "touch benchmark: pages of memslot 2 that vCPU 0 touches (private with "
                   "--protected), 0: none")
        ->check(CLI::Range(0u, unsigned{VMM_TOUCH_MAX_PAGES}));
    app.add_option("--touch-cpu-iters", o.touch_cpu_iters,
                   "touch benchmark: xorshift64 steps of its CPU loop")
        ->check(CLI::Range(0u, 1000000000u));
    app.add_flag("--redirect", o.redirect,
                 "after the hold, point vCPU 0 at the VMM's code that copies the secret to "
                 "shared RAM (a hostile host)");
    app.add_flag("--rewrite-code", o.rewrite_code,
                 "after the hold, rewrite the guest's code in shared RAM where it goes on, "
                 "with code that copies the secret to shared RAM (a hostile host)");
    app.add_flag("--shared-code", o.shared_code,
                 "--protected: run the secret stage from shared memslot 0 as ordinary VMs "
                 "do, not from private pages (the control of --rewrite-code)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return {std::nullopt, app.exit(e) == 0 ? 0 : 2};
    }
    auto usage = [](const char* why) {
        std::fprintf(stderr, "vbh-vmm: %s\n", why);
        return ParsedArgs{std::nullopt, 2};
    };
    if (protected_vm) o.secret = Options::Secret::protected_vm;
    else if (unprotected) o.secret = Options::Secret::unprotected;
    else if (seed_opt->count() || hold->count() || file->count() || ready->count() ||
             o.scribble || o.redirect || o.rewrite_code)
        return usage("--seed, --hold-secs, --hold-file, --ready-file, --scribble, "
                     "--redirect and --rewrite-code need --protected or --unprotected");
    if (o.shared_code && !protected_vm)
        return usage("--shared-code needs --protected (other VMs run from shared memory)");
    if (o.redirect && o.rewrite_code)
        return usage("--redirect and --rewrite-code: one hostile host at a time");
    if (seed_opt->count()) {
        std::size_t used = 0;
        std::uint64_t v = 0;
        try {
            v = std::stoull(seed, &used, 0);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != seed.size()) return usage("--seed: not a number");
        if (!usable_seed(v)) return usage("--seed: this seed makes a stream of zeros");
        o.seed = v;
    }
    if (file->count() && !hold->count()) o.hold_s = 120;
    return {o, 0};
}

} // namespace vmm
