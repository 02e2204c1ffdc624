// vbhctl: look at and talk to the vbh hypervisor from user space, as a user would:
// through /sys/kernel/vbh (loader/sysfs.c) and the /dev/vbh hypercall ioctl.
// Results go to stdout; diagnostics go to stderr through spdlog.
// Exit codes: 0 ok, 1 the hypervisor said no / not running, 2 usage, 3 not loaded,
// 4 not root.
#include "commands.hpp"
#include "device.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace {

using namespace vbhctl;

struct Args {
    bool verbose = false, json = false;
    LogOptions log;
    unsigned iterations = 10000;
    std::string call;
    std::vector<std::string> call_args;
};

void setup_logging(bool verbose) {
    auto log = std::make_shared<spdlog::logger>(
        "vbhctl", std::make_shared<spdlog::sinks::stderr_sink_st>());
    log->set_pattern("vbhctl: %l: %v");
    log->set_level(verbose ? spdlog::level::debug : spdlog::level::info);
    spdlog::set_default_logger(std::move(log));
}

void add_commands(CLI::App& app, Args& a) {
    app.add_subcommand("status", "loader state and memory by part (/sys/kernel/vbh/status, footprint); 1 unless running");
    app.add_subcommand("version", "VERSION hypercall on this CPU: the hypervisor's ABI");
    app.add_subcommand("stats", "exit counters per CPU and exit reason")
        ->add_flag("--json", a.json, "machine-readable JSON instead of a table");
    app.add_subcommand("cycles", "time in the hypervisor per exit: TSC cycles by CPU and reason")
        ->add_flag("--json", a.json, "machine-readable JSON instead of a table");
    auto* log = app.add_subcommand("log", "the hypervisor's event log (newest 40)");
    log->add_flag("-f,--follow", a.log.follow, "poll by sequence number, print new entries");
    log->add_option("-n,--count", a.log.count, "with --follow: stop after N entries");
    log->add_option("--interval-ms", a.log.interval_ms, "with --follow: poll period")
        ->check(CLI::Range(1u, 60000u));
    log->add_option("--from", a.log.from, "with --follow: first sequence number")
        ->check(CLI::NonNegativeNumber);
    app.add_subcommand("ranges", "hypervisor memory ranges (/sys/kernel/vbh/hyp_ranges)");
    app.add_subcommand("bench", "null hypercall round trip through /dev/vbh (median, p99)")
        ->add_option("-i,--iterations", a.iterations, "samples")
        ->check(CLI::Range(1u, 10000000u));
    auto* hc = app.add_subcommand("hypercall", "one hypercall on this CPU (taskset -c N)");
    hc->add_option("call", a.call, "number (decimal, 0x hex, 0 octal) or name, e.g. test_hash")
        ->required();
    hc->add_option("args", a.call_args, "arg0 .. arg3")->expected(0, 4);
}

int run(const CLI::App& app, const Args& a) {
    int code = exit_ok;
    if (!require_loaded(&code))
        return code;
    auto is = [&](const char* name) { return app.got_subcommand(name); };
    if (is("status"))
        return cmd_status();
    if (is("version"))
        return cmd_version();
    if (is("stats"))
        return cmd_stats(a.json);
    if (is("cycles"))
        return cmd_cycles(a.json);
    if (is("log"))
        return cmd_log(a.log);
    if (is("ranges"))
        return cmd_sys("hyp_ranges");
    if (is("bench"))
        return cmd_bench(a.iterations);
    return cmd_hypercall(a.call, a.call_args);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"vbhctl: inspect and call the vbh hypervisor", "vbhctl"};
    Args a;
    app.add_flag("-v,--verbose", a.verbose, "debug diagnostics");
    app.require_subcommand(1);
    add_commands(app, a);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return exit_ok;
    } catch (const CLI::ParseError& e) {
        setup_logging(false);
        spdlog::error("{}", e.what());
        std::fputs(app.help().c_str(), stderr);
        return exit_usage;
    }
    setup_logging(a.verbose);
    return run(app, a);
}
