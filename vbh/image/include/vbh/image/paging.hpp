// Builders for the hypervisor's page tables and the host NPT (paging.cpp).
#pragma once

#include <vbh/result.hpp>

namespace vbh::image {

Result<void> build_hyp_tables();
Result<void> unmap_guard(const void* guard);
Result<void> build_host_npt();

} // namespace vbh::image
