// /dev/vbh: one hypercall per ioctl (hypercalls/include/vbh/ioctl.h).
#pragma once

#include <vbh/ioctl.h>

namespace vbhctl {

// Issues the hypercall on the CPU this thread runs on. Returns 0 when the hypervisor
// answered (req.status/out filled), otherwise an errno value: ENOENT when /dev/vbh
// does not exist (vbh not loaded), ENODEV when this CPU is not under vbh.
int hypercall(vbh_ioctl_hypercall& req);

} // namespace vbhctl
