// SPDX-License-Identifier: GPL-2.0
/*
 * vbh_testmod: a self-test of the qemu-nested pipeline, not part of vbh.
 *
 * It proves that a module built by qemu-nested/build.sh loads into the kernel that
 * boot.sh boots (vermagic match), runs code on every online CPU, and reports through
 * sysfs in the same one-line format vbh uses, so guest/lib.sh's parsers are tested
 * too. With fail=1 it refuses to load, like vbh on a CPU without SVM, which tests the
 * "insmod fails, the system is unchanged" checks of the nosvm scenario.
 */
#include <linux/atomic.h>
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/sysfs.h>

static bool fail;
module_param(fail, bool, 0444);
MODULE_PARM_DESC(fail, "refuse to load with -ENODEV (tests the failure path)");

static atomic_t cpus_seen = ATOMIC_INIT(0);
static struct kobject *kobj;

static void count_cpu(void *unused)
{
	atomic_inc(&cpus_seen);
}

static ssize_t status_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "state=running cpus=%d/%u backend=test version=0.0\n",
			  atomic_read(&cpus_seen), num_online_cpus());
}

static struct kobj_attribute status_attr = __ATTR_RO(status);

static int __init testmod_init(void)
{
	int err;

	if (fail) {
		pr_err("vbh_testmod: refusing to load: fail=1 was requested\n");
		return -ENODEV;
	}
	on_each_cpu(count_cpu, NULL, 1);
	kobj = kobject_create_and_add("vbh_testmod", kernel_kobj);
	if (!kobj)
		return -ENOMEM;
	err = sysfs_create_file(kobj, &status_attr.attr);
	if (err) {
		kobject_put(kobj);
		return err;
	}
	pr_info("vbh_testmod: ran on %d of %u online cpus\n",
		atomic_read(&cpus_seen), num_online_cpus());
	return 0;
}

static void __exit testmod_exit(void)
{
	kobject_put(kobj);
	pr_info("vbh_testmod: unloaded\n");
}

module_init(testmod_init);
module_exit(testmod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("qemu-nested pipeline self-test");
