/* PerCpu offsets used by assembly (isr.S) and inline asm; percpu.hpp static_asserts
 * them against the C++ layout. */
#define VBH_PERCPU_SELF 0xa8
#define VBH_PERCPU_NMIS 0xb0
