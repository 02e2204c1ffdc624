// The SVM backend's entry points, called by the image (vbh/image/src/entry.cpp).
#pragma once

#include <vbh/boot.h>
#include <vbh/result.hpp>

#include <cstdint>

namespace vbh::svm {

// Once at init: CPU support (SVM, NPT, not disabled by firmware) and the shared
// MSR/IO permission maps.
Result<void> init();

// On CPU `cpu`: capture the running kernel into the guest VMCB, switch to the
// hypervisor's tables and stack and enter the VMRUN loop. Returns only on failure,
// with the CPU as it was (boot.h). linux_rsp: the caller's stack to unwind to.
Status launch(std::uint32_t cpu, const vbh_guest_entry* entry, std::uint64_t linux_rsp);

} // namespace vbh::svm
