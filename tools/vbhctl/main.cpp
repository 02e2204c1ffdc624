// vbhctl: look at and talk to the vbh hypervisor from user space, as a user would:
// through /sys/kernel/vbh (loader/sysfs.c) and the /dev/vbh hypercall ioctl.
// Exit codes: 0 ok, 1 the hypervisor said no / not running, 2 usage, 3 not loaded.
#include "calls.hpp"
#include "device.hpp"

#include <vbh/abi.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sched.h>
#include <sstream>
#include <string>
#include <string_view>

namespace {

constexpr const char* sys_dir = "/sys/kernel/vbh/";
constexpr int exit_no = 1, exit_usage = 2, exit_not_loaded = 3;

int usage() {
    std::fputs("usage: vbhctl status | version | stats | log | ranges\n"
               "       vbhctl hypercall <nr|name> [arg0 [arg1 [arg2 [arg3]]]]\n"
               "  numbers: decimal, 0x hex or 0 octal; names as in abi.h without VBH_HC_\n"
               "  (e.g. version, test_hash). The call runs on the current CPU: use\n"
               "  taskset -c N to choose it.\n",
               stderr);
    return exit_usage;
}

bool read_sys(const char* name, std::string& out) {
    std::ifstream f(std::string(sys_dir) + name);
    if (!f)
        return false;
    std::ostringstream s;
    s << f.rdbuf();
    out = s.str();
    return true;
}

int show_sys(const char* name) {
    std::string text;
    if (!read_sys(name, text)) {
        std::fprintf(stderr, "vbh is not loaded: %s%s missing\n", sys_dir, name);
        return exit_not_loaded;
    }
    std::fputs(text.c_str(), stdout);
    return 0;
}

int cmd_status() {
    std::string text;
    if (!read_sys("status", text)) {
        std::fprintf(stderr, "vbh is not loaded: %sstatus missing\n", sys_dir);
        return exit_not_loaded;
    }
    std::fputs(text.c_str(), stdout);
    return text.rfind("state=running ", 0) == 0 ? 0 : exit_no;
}

// Runs one hypercall; prints why on stderr and returns an exit code if it did not
// reach the hypervisor.
int call(vbh_ioctl_hypercall& req) {
    int err = vbhctl::hypercall(req);
    if (err == 0)
        return 0;
    if (err == ENOENT)
        std::fprintf(stderr, "vbh is not loaded: %s missing\n", VBH_DEVICE_PATH);
    else if (err == ENODEV)
        std::fprintf(stderr, "CPU %d is not running under vbh\n", sched_getcpu());
    else
        std::fprintf(stderr, "%s: %s\n", VBH_DEVICE_PATH, std::strerror(err));
    return err == ENOENT ? exit_not_loaded : exit_no;
}

int cmd_version() {
    vbh_ioctl_hypercall req{};
    req.call = VBH_HC_VERSION;
    if (int rc = call(req))
        return rc;
    if (req.status != VBH_OK) {
        std::fprintf(stderr, "VERSION failed: %s (%llu)\n", vbhctl::status_name(req.status),
                     static_cast<unsigned long long>(req.status));
        return exit_no;
    }
    std::printf("vbh hypervisor ABI %llu.%llu\n",
                static_cast<unsigned long long>(req.out[0] >> 16 & 0xffff),
                static_cast<unsigned long long>(req.out[0] & 0xffff));
    return 0;
}

int cmd_hypercall(int argc, char** argv) {
    if (argc < 1 || argc > 5)
        return usage();
    vbh_ioctl_hypercall req{};
    auto nr = vbhctl::parse_call(argv[0]);
    if (!nr) {
        std::fprintf(stderr, "vbhctl: '%s' is neither a call name nor a number\n", argv[0]);
        return exit_usage;
    }
    req.call = *nr;
    for (int i = 1; i < argc; ++i) {
        auto v = vbhctl::parse_u64(argv[i]);
        if (!v) {
            std::fprintf(stderr, "vbhctl: bad argument '%s'\n", argv[i]);
            return exit_usage;
        }
        req.args[i - 1] = *v;
    }
    if (int rc = call(req))
        return rc;
    const char* name = vbhctl::call_name(req.call);
    std::printf("cpu=%d call=%s status=%s (%llu) out0=%#llx out1=%#llx\n", sched_getcpu(),
                name ? name : argv[0], vbhctl::status_name(req.status),
                static_cast<unsigned long long>(req.status),
                static_cast<unsigned long long>(req.out[0]),
                static_cast<unsigned long long>(req.out[1]));
    return req.status == VBH_OK ? 0 : exit_no;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2)
        return usage();
    std::string_view cmd = argv[1];
    if (cmd == "status")
        return cmd_status();
    if (cmd == "version")
        return cmd_version();
    if (cmd == "stats")
        return show_sys("stats");
    if (cmd == "log")
        return show_sys("log");
    if (cmd == "ranges")
        return show_sys("hyp_ranges");
    if (cmd == "hypercall")
        return cmd_hypercall(argc - 2, argv + 2);
    return usage();
}
