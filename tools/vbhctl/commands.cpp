#include "commands.hpp"

#include "bench.hpp"
#include "calls.hpp"
#include "cycles.hpp"
#include "device.hpp"
#include "footprint.hpp"
#include "logview.hpp"
#include "stats.hpp"

#include <vbh/abi.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <sched.h>
#include <thread>
#include <unistd.h>

namespace vbhctl {
namespace {

int fail(const Failure& f) {
    spdlog::error("{}", f.message);
    return f.code;
}

// Reads a sysfs file; logs why not and sets *code when it cannot.
bool sys_text(const char* name, std::string& text, int* code) {
    if (int err = read_sys(name, text)) {
        auto path = std::string(sys_dir) + name;
        *code = fail(describe_errno(err, path.c_str(), sched_getcpu()));
        return false;
    }
    return true;
}

// Runs one hypercall; logs why and sets *code if it did not reach the hypervisor.
bool call(vbh_ioctl_hypercall& req, int* code) {
    if (int err = hypercall(req)) {
        *code = fail(describe_errno(err, VBH_DEVICE_PATH, sched_getcpu()));
        return false;
    }
    return true;
}

} // namespace

bool require_loaded(int* code) {
    if (::access(VBH_DEVICE_PATH, F_OK) == 0)
        return true;
    *code = fail(describe_errno(errno, VBH_DEVICE_PATH, sched_getcpu()));
    return false;
}

int cmd_status() {
    std::string text;
    int code = exit_ok;
    if (!sys_text("status", text, &code))
        return code;
    fmt::print("{}", text);
    // The memory by part (absent before a launch, or from a loader without the file).
    std::string fp_text, bad;
    Footprint fp;
    if (read_sys("footprint", fp_text) == 0 && !fp_text.empty()) {
        if (parse_footprint(fp_text, &fp, &bad))
            fmt::print("{}", render_footprint(fp));
        else
            spdlog::warn("{}footprint: {}", sys_dir, bad);
    }
    if (text.rfind("state=running ", 0) == 0)
        return exit_ok;
    spdlog::error("vbh is loaded but not running");
    return exit_no;
}

int cmd_sys(const char* name) {
    std::string text;
    int code = exit_ok;
    if (!sys_text(name, text, &code))
        return code;
    fmt::print("{}", text);
    return exit_ok;
}

int cmd_version() {
    vbh_ioctl_hypercall req{};
    req.call = VBH_HC_VERSION;
    int code = exit_ok;
    if (!call(req, &code))
        return code;
    if (req.status != VBH_OK) {
        spdlog::error("{}", describe_status(req.call, req.status));
        return exit_no;
    }
    fmt::print("vbh hypervisor ABI {}.{}\n", req.out[0] >> 16 & 0xffff, req.out[0] & 0xffff);
    return exit_ok;
}

namespace {

// A per-CPU sysfs file (stats, exit_cycles): parsed, then printed as a table or JSON.
template <class Parse, class Table, class Json>
int show_sys(const char* name, bool json, Parse parse, Table table, Json to_json) {
    std::string text, bad;
    int code = exit_ok;
    if (!sys_text(name, text, &code))
        return code;
    auto v = parse(text, &bad);
    if (!v) {
        spdlog::error("{}{}: cannot parse line '{}'", sys_dir, name, bad);
        return exit_no;
    }
    fmt::print("{}", json ? to_json(*v) : table(*v));
    if (!v->unavailable.empty()) {
        spdlog::error("{} unavailable: {}", name, v->unavailable);
        return exit_no;
    }
    return exit_ok;
}

} // namespace

int cmd_stats(bool json) {
    return show_sys("stats", json, parse_stats, format_stats_table, format_stats_json);
}

int cmd_cycles(bool json) {
    return show_sys("exit_cycles", json, parse_cycles, format_cycles_table, format_cycles_json);
}

namespace {

// One poll of the log: reads pages through VBH_IOCTL_LOG_READ from the follower's next
// sequence number until the ring has nothing newer, and prints each entry once, until
// *printed reaches `limit` (0: no limit). False (and *code) when the log is gone.
bool poll_log(LogFollower& f, std::uint64_t limit, std::uint64_t* printed, int* code) {
    for (;;) {
        vbh_log_page page{};
        std::uint64_t status = 0;
        if (int err = read_log_page(f.want().value_or(0), page, &status)) {
            *code = fail(describe_errno(err, VBH_DEVICE_PATH, sched_getcpu()));
            return false;
        }
        if (status != VBH_OK) {
            spdlog::error("{}", describe_status(VBH_HC_LOG_READ, status));
            *code = exit_no;
            return false;
        }
        auto lost = f.lost();
        auto fresh = f.take(log_view(page));
        if (f.lost() != lost)
            spdlog::warn("{} log entries overwritten before they were read", f.lost() - lost);
        for (const auto& e : fresh) {
            if (limit && *printed == limit)
                break;
            fmt::print("{}\n", format_log_entry(e));
            ++*printed;
        }
        std::fflush(stdout);
        if (page.count < VBH_LOG_PAGE_ENTRIES || (limit && *printed == limit))
            return true;
    }
}

} // namespace

int cmd_log(const LogOptions& o) {
    if (!o.follow)
        return cmd_sys("log");
    LogFollower f = o.from >= 0 ? LogFollower(static_cast<std::uint64_t>(o.from)) : LogFollower();
    std::uint64_t printed = 0;
    int code = exit_ok;
    for (;;) {
        if (!poll_log(f, o.count, &printed, &code))
            return code;
        if (o.count && printed >= o.count)
            return exit_ok;
        std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
    }
}

int cmd_bench(unsigned iterations) {
    cpu_set_t one;
    CPU_ZERO(&one);
    int cpu = sched_getcpu();
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0)
        spdlog::warn("cannot pin to CPU {}: the samples may mix CPUs", cpu);
    int fd = open_device();
    if (fd < 0)
        return fail(describe_errno(-fd, VBH_DEVICE_PATH, cpu));
    std::vector<std::uint64_t> calls, baseline;
    bench_hypercall(fd, 100, calls, baseline); // warm caches and TLBs
    int err = bench_hypercall(fd, iterations, calls, baseline);
    ::close(fd);
    if (err == EPROTO) {
        spdlog::error("VERSION did not answer ok during the benchmark");
        return exit_no;
    }
    if (err)
        return fail(describe_errno(err, VBH_DEVICE_PATH, cpu));
    fmt::print("cpu {}: {} iterations (wall-clock ns, CLOCK_MONOTONIC)\n", cpu, iterations);
    auto hc = summarize(calls), base = summarize(baseline);
    fmt::print("{}\n", format_summary("null hypercall (VERSION ioctl)", hc));
    fmt::print("{}\n", format_summary("ioctl baseline (ENOTTY, no VMMCALL)", base));
    // What the VMMCALL, the exit handler and the VMRUN back add to the ioctl path.
    fmt::print("hypercall share of the median: {} ns\n",
               hc.median > base.median ? hc.median - base.median : 0);
    return exit_ok;
}

int cmd_hypercall(const std::string& name, const std::vector<std::string>& args) {
    vbh_ioctl_hypercall req{};
    auto nr = parse_call(name);
    if (!nr) {
        spdlog::error("'{}' is neither a call name nor a number", name);
        return exit_usage;
    }
    req.call = *nr;
    for (std::size_t i = 0; i < args.size() && i < 4; ++i) {
        auto v = parse_u64(args[i]);
        if (!v) {
            spdlog::error("bad argument '{}'", args[i]);
            return exit_usage;
        }
        req.args[i] = *v;
    }
    int code = exit_ok;
    if (!call(req, &code))
        return code;
    const char* cname = call_name(req.call);
    fmt::print("cpu={} call={} status={} ({}) out0={:#x} out1={:#x}\n", sched_getcpu(),
               cname ? cname : name, status_name(req.status), req.status, req.out[0],
               req.out[1]);
    return req.status == VBH_OK ? exit_ok : exit_no;
}

} // namespace vbhctl
