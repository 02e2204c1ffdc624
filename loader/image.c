// SPDX-License-Identifier: GPL-2.0 OR MIT
/* Validation of the embedded image's header (hypercalls/include/vbh/boot.h). */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/printk.h>

#include "loader.h"

static bool vbh_offset_ok(u64 off, u64 file_size)
{
	return off >= sizeof(struct vbh_image_header) && off < file_size;
}

/*
 * The image is built separately from the module, so a stale or foreign vbh.bin is a
 * real possibility: refuse anything whose header does not describe a loadable image
 * of this ABI major version before a single byte of it is copied or called.
 */
int vbh_image_check(const struct vbh_image_header **out)
{
	const struct vbh_image_header *h = (const void *)vbh_image_start;
	u64 blob = vbh_image_end - vbh_image_start;
	u32 major, minor;

	if (blob < sizeof(*h)) {
		pr_err(VBH_PFX "embedded image is %llu bytes, smaller than its header\n", blob);
		return -ENOEXEC;
	}
	if (h->magic != VBH_IMAGE_MAGIC) {
		pr_err(VBH_PFX "embedded image has bad magic %#x (want %#x)\n",
		       h->magic, VBH_IMAGE_MAGIC);
		return -ENOEXEC;
	}
	major = h->abi_version >> 16;
	minor = h->abi_version & 0xffff;
	if (major != VBH_ABI_VERSION_MAJOR || minor < VBH_ABI_VERSION_MINOR) {
		pr_err(VBH_PFX "image ABI %u.%u, loader needs %u.%u or a later minor\n",
		       major, minor, VBH_ABI_VERSION_MAJOR, VBH_ABI_VERSION_MINOR);
		return -ENOEXEC;
	}
	if (h->file_size < sizeof(*h) || h->file_size > blob) {
		pr_err(VBH_PFX "image file_size %llu outside [%zu, %llu]\n",
		       h->file_size, sizeof(*h), blob);
		return -ENOEXEC;
	}
	if (h->mem_size < h->file_size || !PAGE_ALIGNED(h->mem_size)) {
		pr_err(VBH_PFX "image mem_size %#llx smaller than file_size %#llx or not 4 KiB aligned\n",
		       h->mem_size, h->file_size);
		return -ENOEXEC;
	}
	if (!vbh_offset_ok(h->init_offset, h->file_size) ||
	    !vbh_offset_ok(h->launch_offset, h->file_size)) {
		pr_err(VBH_PFX "image entry offsets init=%#llx launch=%#llx outside the file\n",
		       h->init_offset, h->launch_offset);
		return -ENOEXEC;
	}
	*out = h;
	return 0;
}
