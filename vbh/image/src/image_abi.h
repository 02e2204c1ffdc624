/* Constants the assembly header needs from boot.h/abi.h (which are C, not asm-safe).
 * entry.cpp static_asserts that they match. */
#define VBH_IMAGE_MAGIC_ASM 0x4d494856
#define VBH_ABI_VERSION_ASM 0x1
