#include "device.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace vbhctl {

int hypercall(vbh_ioctl_hypercall& req) {
    int fd = ::open(VBH_DEVICE_PATH, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int err = ::ioctl(fd, VBH_IOCTL_HYPERCALL, &req) == 0 ? 0 : errno;
    ::close(fd);
    return err;
}

} // namespace vbhctl
