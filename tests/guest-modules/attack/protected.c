// SPDX-License-Identifier: GPL-2.0
/*
 * Attacks on a protected KVM guest's private memory (issue 13 point 5,
 * tests/scenarios/protected-vm.sh, docs/containment.md "Protected VMs").
 *
 * gmem_pfns PID FIRST COUNT: the frames behind a VMM's guest_memfd, found the way a
 * ring-0 attacker finds them: walk the VMM process's file table for the file KVM
 * names "[kvm-gmem]" (anon_inode_create_getfile() in virt/kvm/guest_memfd.c) and look
 * its pages up in the file's page cache (guest_memfd keeps its folios there; offset
 * = gfn - the memslot's first gfn). Nothing of KVM's internals or of vbh is asked.
 *
 * scan_secret SEED FIRST END: read frames FIRST..END-1 through the kernel's direct map
 * and look for the VMM's secret (vbh-vmm's stream of SEED: xorshift64*, the twin of
 * tools/vmm/stream.hpp): a frame whose first qword is the first qword of one of the
 * 16 secret pages and whose whole 4 KiB equal that page is a hit. The secret lives
 * in whole pages (guest_memfd folios, the VMM's anonymous pages), so page-aligned
 * matching finds every copy a host could use. A frame the read faults on is counted,
 * not an error: under vbh a private frame is absent from the host's nested page table
 * and the read gets #GP.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pid.h>
#include <linux/sched/task.h>
#include "attack.h"
#include "probe.h"

#define SECRET_PAGES 16   /* VMM_SECRET_PAGES (tools/vmm/payload_abi.h) */
#define QWORDS_PER_PAGE (PAGE_SIZE / 8)
#define MAX_LISTED 20     /* hit/fault pfns named in the reply */

static u64 stream_next(u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

/* The VMM process's guest_memfd file, with a reference; NULL if it has none. */
static struct file *gmem_file(pid_t nr)
{
	struct pid *pid = find_get_pid(nr);
	struct task_struct *t = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	struct files_struct *files;
	struct file *f, *hit = NULL;
	struct fdtable *fdt;
	unsigned int i;

	put_pid(pid);
	if (!t)
		return NULL;
	task_lock(t);
	files = t->files;
	if (files) {
		spin_lock(&files->file_lock);
		fdt = files_fdtable(files);
		for (i = 0; i < fdt->max_fds && !hit; i++) {
			f = rcu_dereference_protected(fdt->fd[i], lockdep_is_held(&files->file_lock));
			if (f && !strcmp(f->f_path.dentry->d_name.name, "[kvm-gmem]"))
				hit = get_file(f);
		}
		spin_unlock(&files->file_lock);
	}
	task_unlock(t);
	put_task_struct(t);
	return hit;
}

static int cmd_gmem_pfns(int argc, const u64 *a)
{
	struct file *f = gmem_file(a[0]);
	unsigned long idx, found = 0;
	struct folio *folio;

	if (!f) {
		out("result=error reason=no_gmem_file pid=%llu\n", a[0]);
		return 0;
	}
	for (idx = a[1]; idx < a[1] + a[2]; idx++) {
		folio = filemap_get_folio(f->f_mapping, idx);
		if (IS_ERR_OR_NULL(folio))  /* NULL before Linux 6.3 */
			continue;
		out("page=%lu pfn=0x%lx\n", idx, folio_pfn(folio) + (idx - folio->index));
		folio_put(folio);
		found++;
	}
	fput(f);
	out("result=found pages=%lu\n", found);
	return 0;
}

static u8 scan_buf[PAGE_SIZE];

/* Does the frame (read into scan_buf) hold secret page p of the stream of seed? */
static bool is_secret_page(u64 seed, unsigned int p)
{
	u64 s = seed, v = 0;
	unsigned int i;

	for (i = 0; i < p * QWORDS_PER_PAGE; i++)
		stream_next(&s);
	for (i = 0; i < QWORDS_PER_PAGE; i++) {
		v = stream_next(&s);
		if (((u64 *)scan_buf)[i] != v)
			return false;
	}
	return true;
}

static int cmd_scan_secret(int argc, const u64 *a)
{
	u64 seed = a[0], first[SECRET_PAGES], s = seed, w;
	unsigned long pfn, scanned = 0, faults = 0, hits = 0, zero = 0, listed = 0;
	unsigned int p, i;
	int trap = PROBE_OK;

	if (!seed || a[2] <= a[1])
		return -EINVAL;
	for (p = 0; p < SECRET_PAGES; p++)  /* each secret page's first qword */
		for (i = 0; i < QWORDS_PER_PAGE; i++) {
			w = stream_next(&s);
			if (!i)
				first[p] = w;
		}
	for (pfn = a[1]; pfn < a[2]; pfn++) {
		if (!pfn_valid(pfn))
			continue;
		scanned++;
		trap = probe_read64(phys_to_virt(PFN_PHYS(pfn)), &w);
		if (trap != PROBE_OK) {
			if (faults++ < MAX_LISTED)
				out("fault pfn=0x%lx trap=%d\n", pfn, trap);
			continue;
		}
		if (!w && a[2] - a[1] <= 64) {  /* small ranges: is the frame all zero? */
			trap = read_frame(phys_to_virt(PFN_PHYS(pfn)), scan_buf);
			zero += trap == PROBE_OK && !memchr_inv(scan_buf, 0, PAGE_SIZE);
		}
		for (p = 0; p < SECRET_PAGES; p++) {
			if (w != first[p])
				continue;
			trap = read_frame(phys_to_virt(PFN_PHYS(pfn)), scan_buf);
			if (trap == PROBE_OK && is_secret_page(seed, p)) {
				hits++;
				if (listed++ < MAX_LISTED)
					out("hit pfn=0x%lx page=%u\n", pfn, p);
			}
			break;
		}
		if (!(scanned & 0xfff))
			cond_resched();
	}
	out("result=scanned frames=%lu hits=%lu faults=%lu zero=%lu\n", scanned, hits, faults,
	    zero);
	return 0;
}

const struct atk_cmd prot_cmds[] = {
	{ "gmem_pfns", 3, cmd_gmem_pfns, "PID FIRST COUNT  pfns of a VMM's guest_memfd pages" },
	{ "scan_secret", 3, cmd_scan_secret,
	  "SEED FIRST END  direct-map read of pfns FIRST..END-1, hits of vbh-vmm's secret" },
	{ }
};
