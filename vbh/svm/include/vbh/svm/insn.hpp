// SVM instructions (AMD APM vol. 2 §15.5 VMRUN, §15.5.2 VMLOAD/VMSAVE, §15.17 GIF).
// All need EFER.SVME = 1; the physical address goes in rax.
#pragma once

#include <cstdint>

namespace vbh::svm {

inline void vmsave(std::uint64_t pa) { asm volatile("vmsave %%rax" ::"a"(pa) : "memory"); }
inline void vmload(std::uint64_t pa) { asm volatile("vmload %%rax" ::"a"(pa) : "memory"); }
inline void clgi() { asm volatile("clgi" ::: "memory"); }
inline void stgi() { asm volatile("stgi" ::: "memory"); }

} // namespace vbh::svm
