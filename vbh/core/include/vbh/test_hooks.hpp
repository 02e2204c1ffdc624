// Test hooks: VBH_HC_TEST_FILL / VBH_HC_TEST_HASH, the VBH_DOMAIN_TEST flag and
// VBH_BOOT_DEMO_ATTACKABLE work only where VBH_TEST_HOOKS=1 is defined: the test image
// vbh-test.bin and the hosted core the unit tests use (CMake target vbh_test_hooks).
// The product, vbh.bin, answers the calls with VBH_E_UNKNOWN_CALL, refuses the flag
// like any unknown flag bit (VBH_E_INVALID) and ignores the boot flag, so no build that
// ships can be asked to touch a domain's frames or to leave its memory mapped.
//
// The gates: decode() (vbh/core/src/decode.cpp), the host NPT build
// (vbh/image/src/paging.cpp) and Core::perform's fill/hash cases (core.hpp), so the
// product image has no code that fills or hashes a domain's frames. Every object of
// one program is built with the same setting (CMake: vbh_core links vbh_test_hooks
// PUBLIC, the test image compiles its own sources with it), so no program mixes two
// versions of Core.
#pragma once

#ifndef VBH_TEST_HOOKS
#define VBH_TEST_HOOKS 0
#endif

namespace vbh {

inline constexpr bool test_hooks = VBH_TEST_HOOKS != 0;

} // namespace vbh
