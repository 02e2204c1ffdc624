// SPDX-License-Identifier: GPL-2.0 OR MIT
/* /dev/vbh: the ioctls of hypercalls/include/vbh/ioctl.h. Root only (0600). */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <vbh/ioctl.h>
#include <vbh/log.h>

#include "loader.h"

static long vbh_ioctl_hypercall(void __user *uarg)
{
	struct vbh_ioctl_hypercall req;
	struct vbh_hc hc;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	hc = (struct vbh_hc){ .call = req.call };
	memcpy(hc.args, req.args, sizeof(hc.args));
	if (!vbh_hypercall(&hc))
		return -ENODEV;
	req.status = hc.status;
	memcpy(req.out, hc.out, sizeof(req.out));
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

/* The hypervisor writes only into the loader's output frame (boot record out_pfn;
 * any other target is VBH_E_DENIED), never into a user page: a user page's frame
 * may move (compaction) under the write. VBH_IOCTL_HYPERCALL passes the output calls
 * through unchanged, and the hypervisor refuses their other targets itself. */
static long vbh_ioctl_log_read(void __user *uarg)
{
	struct vbh_ioctl_log_read req;
	struct vbh_hc hc;
	struct page *pg;
	long ret = 0;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	pg = vbh_out_get();
	if (!pg) {
		ret = -ENODEV;
		goto out;
	}
	hc = (struct vbh_hc){ .call = VBH_HC_LOG_READ, .args = { page_to_pfn(pg), req.from } };
	if (!vbh_hypercall(&hc)) {
		ret = -ENODEV;
		goto out;
	}
	req.status = hc.status;
	if (hc.status == VBH_OK &&
	    copy_to_user(u64_to_user_ptr(req.page), page_address(pg), sizeof(struct vbh_log_page)))
		ret = -EFAULT;
	else if (copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
out:
	vbh_out_put();
	return ret;
}

static long vbh_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	if (cmd != VBH_IOCTL_HYPERCALL && cmd != VBH_IOCTL_LOG_READ)
		return -ENOTTY;
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (cmd == VBH_IOCTL_LOG_READ)
		return vbh_ioctl_log_read((void __user *)arg);
	return vbh_ioctl_hypercall((void __user *)arg);
}

static const struct file_operations vbh_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = vbh_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice vbh_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vbh",
	.fops = &vbh_fops,
	.mode = 0600,
};

static bool vbh_misc_registered;

int vbh_dev_register(void)
{
	int err = misc_register(&vbh_misc);

	if (err) {
		pr_err(VBH_PFX "cannot register /dev/vbh (%d)\n", err);
		return err;
	}
	vbh_misc_registered = true;
	return 0;
}

void vbh_dev_unregister(void)
{
	if (vbh_misc_registered)
		misc_deregister(&vbh_misc);
	vbh_misc_registered = false;
}
