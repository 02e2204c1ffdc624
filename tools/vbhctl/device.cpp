#include "device.hpp"

#include "calls.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace vbhctl {

int open_device() {
    int fd = ::open(VBH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int hypercall(vbh_ioctl_hypercall& req) {
    int fd = open_device();
    if (fd < 0)
        return -fd;
    int err = ::ioctl(fd, VBH_IOCTL_HYPERCALL, &req) == 0 ? 0 : errno;
    ::close(fd);
    return err;
}

int read_log_page(std::uint64_t from, vbh_log_page& page, std::uint64_t* status) {
    int fd = open_device();
    if (fd < 0)
        return -fd;
    vbh_ioctl_log_read req{from, reinterpret_cast<std::uintptr_t>(&page), 0};
    int err = ::ioctl(fd, VBH_IOCTL_LOG_READ, &req) == 0 ? 0 : errno;
    ::close(fd);
    *status = req.status;
    return err;
}

int read_sys(const char* name, std::string& out) {
    auto path = std::string(sys_dir) + name;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    out.clear();
    char buf[4096];
    for (;;) {
        auto n = ::read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            ::close(fd);
            return err;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
}

Failure describe_errno(int err, const char* path, int cpu) {
    switch (err) {
    case ENOENT:
        return {fmt::format("vbh is not loaded: {} missing", path), exit_not_loaded};
    case EACCES:
    case EPERM:
        return {fmt::format("{}: permission denied: vbhctl needs root (CAP_SYS_ADMIN)", path),
                exit_perm};
    case ENODEV:
        return {fmt::format("CPU {} is not running under vbh", cpu), exit_no};
    default:
        return {fmt::format("{}: {}", path, std::strerror(err)), exit_no};
    }
}

std::string describe_status(std::uint64_t call, std::uint64_t status) {
    const char* name = call_name(call);
    return fmt::format("{} failed: {} ({})", name ? name : fmt::format("call {:#x}", call),
                       status_name(status), status);
}

} // namespace vbhctl
