/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The hypervisor image (vbh.bin, built by the vbh_image CMake target) embedded as
 * bytes. The loader never links against it: it reads struct vbh_image_header at
 * offset 0 and copies the image into hypervisor memory. VBH_IMAGE_PATH comes from
 * the VBH_IMAGE make variable (see Kbuild).
 */
	.section .rodata.vbh_image, "a"
	.balign 4096
	.globl vbh_image_start
vbh_image_start:
	.incbin VBH_IMAGE_PATH
	.globl vbh_image_end
vbh_image_end:
	.byte 0
