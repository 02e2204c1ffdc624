// vbhctl's commands. Each returns an Exit code and reports failures through spdlog.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vbhctl {

struct LogOptions {
    bool follow = false;
    std::uint64_t count = 0;       // stop after this many entries (0: until interrupted)
    unsigned interval_ms = 200;    // poll period
    std::int64_t from = -1;        // first sequence number (-1: the oldest shown)
};

// /dev/vbh is the module's first registration and its last removal: when it is
// missing, vbh is not loaded. Logs why and returns false.
bool require_loaded(int* code);

int cmd_status();
int cmd_version();
int cmd_sys(const char* name);
int cmd_stats(bool json);
// /sys/kernel/vbh/exit_cycles as a table or JSON.
int cmd_cycles(bool json);
int cmd_log(const LogOptions& o);
int cmd_bench(unsigned iterations);
int cmd_hypercall(const std::string& call, const std::vector<std::string>& args);

} // namespace vbhctl
