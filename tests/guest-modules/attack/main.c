// SPDX-License-Identifier: GPL-2.0
/*
 * vbh_attack: command interface. One debugfs file, /sys/kernel/debug/vbh_attack/ctl:
 * write "[@CPU] COMMAND NUMBERS..." and read back the reply (key=value lines, the
 * last one carrying result=...). "@CPU" runs the command on that CPU (work_on_cpu),
 * e.g. on a CPU that just came back online. "help" lists the commands. Driven from
 * busybox sh by tests/scenarios/containment.sh; see docs/containment.md.
 *
 * THIS MODULE ATTACKS THE KERNEL IT RUNS IN. Load it only into a throw-away test VM.
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include "attack.h"

static DEFINE_MUTEX(ctl_lock);
static char reply_buf[32768]; /* a full log page is ~10 KiB of text */
static size_t reply_len;
static struct dentry *dir;

void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_len += vscnprintf(reply_buf + reply_len, sizeof(reply_buf) - reply_len, fmt, ap);
	va_end(ap);
}

static const struct atk_cmd *const tables[] = {
	frame_cmds, map_cmds, hc_cmds, race_cmds, svm_cmds, dma_cmds, port_cmds, msr_cmds,
	nest_cmds, prot_cmds, prot_nest_cmds, msi_cmds,
};

static const struct atk_cmd *find_cmd(const char *name)
{
	const struct atk_cmd *c;
	int i;

	for (i = 0; i < ARRAY_SIZE(tables); i++)
		for (c = tables[i]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return NULL;
}

static void help(void)
{
	const struct atk_cmd *c;
	int i;

	for (i = 0; i < ARRAY_SIZE(tables); i++)
		for (c = tables[i]; c->name; c++)
			out("%s %s\n", c->name, c->usage);
}

struct call {
	const struct atk_cmd *cmd;
	u64 argv[ATK_MAX_ARGS];
	int argc;
};

static long run_call(void *arg)
{
	struct call *c = arg;

	out("cpu=%d\n", raw_smp_processor_id());
	return c->cmd->fn(c->argc, c->argv);
}

/* Parse "[@CPU] NAME N..." and run it; every outcome ends up in the reply. */
static void execute(char *line)
{
	char *tok, *name = NULL;
	struct call c = { };
	long cpu = -1, err;

	while ((tok = strsep(&line, " \t\n")) != NULL) {
		if (!*tok)
			continue;
		if (!name && tok[0] == '@' && cpu < 0 && !kstrtol(tok + 1, 0, &cpu))
			continue;
		if (!name) {
			name = tok;
		} else if (c.argc == ATK_MAX_ARGS || kstrtou64(tok, 0, &c.argv[c.argc++])) {
			out("result=error reason=bad_argument arg=%s\n", tok);
			return;
		}
	}
	if (!name || !strcmp(name, "help")) {
		help();
		return;
	}
	c.cmd = find_cmd(name);
	if (!c.cmd || c.argc != c.cmd->argc) {
		out("result=error reason=usage usage=\"%s %s\"\n", name,
		    c.cmd ? c.cmd->usage : "(unknown command)");
		return;
	}
	if (cpu >= 0 && (cpu >= nr_cpu_ids || !cpu_online(cpu))) {
		out("result=error reason=cpu_offline cpu=%ld\n", cpu);
		return;
	}
	err = cpu >= 0 ? work_on_cpu(cpu, run_call, &c) : run_call(&c);
	if (err)
		out("result=error err=%ld\n", err);
}

static ssize_t ctl_write(struct file *f, const char __user *ubuf, size_t len, loff_t *off)
{
	char line[256];

	if (len >= sizeof(line))
		return -E2BIG;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = 0;
	mutex_lock(&ctl_lock);
	reply_len = 0;
	execute(line);
	mutex_unlock(&ctl_lock);
	return len;
}

static ssize_t ctl_read(struct file *f, char __user *ubuf, size_t len, loff_t *off)
{
	ssize_t n;

	mutex_lock(&ctl_lock);
	n = simple_read_from_buffer(ubuf, len, off, reply_buf, reply_len);
	mutex_unlock(&ctl_lock);
	return n;
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.write = ctl_write,
	.read = ctl_read,
	.llseek = default_llseek,
};

static int __init attack_init(void)
{
	if (hcall_init())
		return -ENOMEM;
	dir = debugfs_create_dir("vbh_attack", NULL);
	debugfs_create_file("ctl", 0600, dir, NULL, &ctl_fops);
	pr_warn("vbh_attack: loaded; this module attacks the running kernel (test VMs only)\n");
	return 0;
}

static void __exit attack_exit(void)
{
	debugfs_remove_recursive(dir);
}

module_init(attack_init);
module_exit(attack_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vbh containment suite: hostile host-kernel attacks (test VMs only)");
