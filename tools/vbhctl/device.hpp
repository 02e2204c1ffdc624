// /dev/vbh and /sys/kernel/vbh: how vbhctl reaches the loader (docs/loader.md).
#pragma once

#include <vbh/ioctl.h>
#include <vbh/log.h>

#include <string>

namespace vbhctl {

inline constexpr const char* sys_dir = "/sys/kernel/vbh/";

// Exit codes of vbhctl.
enum Exit : int { exit_ok = 0, exit_no = 1, exit_usage = 2, exit_not_loaded = 3, exit_perm = 4 };

// Issues the hypercall on the CPU this thread runs on. Returns 0 when the hypervisor
// answered (req.status/out filled), otherwise an errno value: ENOENT when /dev/vbh
// does not exist (vbh not loaded), ENODEV when this CPU is not under vbh, EACCES or
// EPERM without root.
int hypercall(vbh_ioctl_hypercall& req);
// The event log from sequence number `from` (VBH_IOCTL_LOG_READ): 0 with *status set
// (page filled when it is VBH_OK), or an errno value as for hypercall().
int read_log_page(std::uint64_t from, vbh_log_page& page, std::uint64_t* status);
// open(/dev/vbh): the fd, or -errno.
int open_device();
// Reads /sys/kernel/vbh/<name> into out: 0 or an errno value.
int read_sys(const char* name, std::string& out);

// What went wrong reaching `path` with errno `err` (cpu: the CPU the call ran on),
// as one line for the user, and the exit code that goes with it.
struct Failure {
    std::string message;
    Exit code;
};
Failure describe_errno(int err, const char* path, int cpu);
// "VERSION failed: denied (8)"; "call 0x77 failed: unknown (77)" for foreign numbers.
std::string describe_status(std::uint64_t call, std::uint64_t status);

} // namespace vbhctl
