// Test hooks: VBH_HC_TEST_FILL / VBH_HC_TEST_HASH, the VBH_DOMAIN_TEST flag and
// VBH_BOOT_DEMO_ATTACKABLE work only where VBH_TEST_HOOKS=1 is defined: the test image
// vbh-test.bin and the hosted core the unit tests use (CMake target vbh_test_hooks).
// The product, vbh.bin, answers the calls with VBH_E_UNKNOWN_CALL, refuses the flag
// like any unknown flag bit (VBH_E_INVALID) and ignores the boot flag, so no build that
// ships can be asked to touch a domain's frames or to leave its memory mapped.
//
// The gates are in two .cpp files only, decode() (vbh/core/src/decode.cpp) and the host
// NPT build (vbh/image/src/paging.cpp); no header or template depends on the define, so
// every other object of the image is the same in both images and one program can never
// mix two versions of a class. Core::perform keeps its fill/hash cases in both: only a
// decoded TEST_* call reaches them, and the product's decode() yields none.
#pragma once

#ifndef VBH_TEST_HOOKS
#define VBH_TEST_HOOKS 0
#endif

namespace vbh {

inline constexpr bool test_hooks = VBH_TEST_HOOKS != 0;

} // namespace vbh
