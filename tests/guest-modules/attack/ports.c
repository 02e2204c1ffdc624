// SPDX-License-Identifier: GPL-2.0
/*
 * Reset and sleep ports (docs/containment.md, attacks 13 and 14; driven by
 * tests/scenarios/reset.sh). The host writes the platform's reset and sleep ports
 * directly, leaves secrets in RAM before a warm reset and looks for them in the next
 * boot. Markers that must survive the reset live in CMOS NVRAM.
 *
 * Secrets are never formed in this module's memory: the word secret is (KEY ^ MASK)
 * + PHASE, computed in registers at the one WRMSR/store that plants it and recognised
 * in the scan as ((w - PHASE) ^ MASK) == KEY; the frame pattern is the hypervisor's
 * TEST_FILL pattern (vbh/frame_memory.hpp fill_word), one word at a time. So a hit in
 * the next boot is a frame the first boot really left behind.
 */
#include <linux/acpi.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mc146818rtc.h>
#include <linux/mm.h>
#include <linux/pfn.h>
#include <asm/msr.h>
#include <vbh/stats.h>
#include "attack.h"

#define SECRET_MASK 0x5ec2e75ec2e7a11dull
#define SECRET_MSR 0x40000200u /* outside the three MSRPM ranges: always exits */

/* vbh/frame_memory.hpp fill_word: the TEST_FILL pattern of (seed, pfn, word). */
static u64 fill_word(u64 seed, u64 pfn, u64 k)
{
	u64 z = seed + pfn * 512 + k + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmd_fadt_ports(int argc, const u64 *a)
{
	struct acpi_table_header *h;
	struct acpi_table_fadt *f;
	u8 s3a = 0xff, s3b = 0xff, s5a = 0xff, s5b = 0xff;

	if (acpi_disabled || ACPI_FAILURE(acpi_get_table(ACPI_SIG_FADT, 1, &h))) {
		out("result=error reason=no_fadt\n");
		return 0;
	}
	f = (struct acpi_table_fadt *)h;
	acpi_get_sleep_type_data(ACPI_STATE_S3, &s3a, &s3b);
	acpi_get_sleep_type_data(ACPI_STATE_S5, &s5a, &s5b);
	out("pm1a=0x%x pm1b=0x%x reset_space=%u reset_port=0x%llx reset_value=0x%x reset_sup=%u s3=%u s5=%u result=read\n",
	    f->pm1a_control_block, f->pm1b_control_block, f->reset_register.space_id,
	    f->reset_register.address, f->reset_value,
	    !!(f->flags & ACPI_FADT_RESET_REGISTER), s3a, s5a);
	acpi_put_table(h);
	return 0;
}

/* port_out SIZE PORT VALUE: one OUT with interrupts off; exits=N counts IO exits. */
static int cmd_port_out(int argc, const u64 *a)
{
	unsigned long flags;
	u64 before;

	if (a[0] != 1 && a[0] != 2 && a[0] != 4)
		return -EINVAL;
	local_irq_save(flags);
	before = exits_now(VBH_EXIT_IO);
	if (a[0] == 1)
		outb(a[2], a[1]);
	else if (a[0] == 2)
		outw(a[2], a[1]);
	else
		outl(a[2], a[1]);
	out_exits(VBH_EXIT_IO, before);
	local_irq_restore(flags);
	out("result=written\n");
	return 0;
}

static int cmd_port_in(int argc, const u64 *a)
{
	u32 v;

	if (a[0] == 1)
		v = inb(a[1]);
	else if (a[0] == 2)
		v = inw(a[1]);
	else if (a[0] == 4)
		v = inl(a[1]);
	else
		return -EINVAL;
	out("value=0x%x result=read\n", v);
	return 0;
}

static int cmd_cmos_read(int argc, const u64 *a)
{
	unsigned long flags;
	u8 v;

	if (a[0] < 0x40 || a[0] > 0x7f) /* NVRAM bytes no firmware uses here */
		return -EINVAL;
	spin_lock_irqsave(&rtc_lock, flags);
	v = CMOS_READ(a[0]);
	spin_unlock_irqrestore(&rtc_lock, flags);
	out("value=%u result=read\n", v);
	return 0;
}

static int cmd_cmos_write(int argc, const u64 *a)
{
	unsigned long flags;

	if (a[0] < 0x40 || a[0] > 0x7f)
		return -EINVAL;
	spin_lock_irqsave(&rtc_lock, flags);
	CMOS_WRITE(a[1], a[0]);
	spin_unlock_irqrestore(&rtc_lock, flags);
	out("result=written\n");
	return 0;
}

/* fill_pattern PFN SEED: the TEST_FILL pattern in a host frame (the bare control). */
static int cmd_fill_pattern(int argc, const u64 *a)
{
	u64 *w;
	int k;

	if (!pfn_valid(a[0]))
		return -EINVAL;
	w = kmap_local_pfn(a[0]);
	for (k = 0; k < 512; k++)
		w[k] = fill_word(a[1], a[0], k);
	kunmap_local(w);
	out("result=filled\n");
	return 0;
}

/* put_secret PFN KEY PHASE: the word secret at word 0 of a host frame. */
static int cmd_put_secret(int argc, const u64 *a)
{
	u64 *w;

	if (!pfn_valid(a[0]))
		return -EINVAL;
	w = kmap_local_pfn(a[0]);
	WRITE_ONCE(w[0], (a[1] ^ SECRET_MASK) + a[2]);
	kunmap_local(w);
	out("result=written\n");
	return 0;
}

/* msr_secret KEY PHASE: WRMSR of the word secret to an MSR vbh refuses and logs, so
 * the secret lands in the hypervisor's log ring (hypervisor memory). */
static int cmd_msr_secret(int argc, const u64 *a)
{
	u64 s = (a[0] ^ SECRET_MASK) + a[1];
	int err = wrmsr_safe(SECRET_MSR, (u32)s, (u32)(s >> 32));

	out("err=%d result=%s\n", err, err ? "refused" : "written");
	return 0;
}

/* scan SEED KEY PHASE: every RAM frame: full-frame TEST_FILL pattern of SEED, and
 * words equal to the secret of (KEY, PHASE). */
struct scan {
	u64 seed, key, phase;
	u64 frames, pat, pat_pfn, words, word_pfn;
};

/* One top-level "System RAM" resource (as loader/bootrec.c walks them). */
static int scan_range(struct resource *res, void *arg)
{
	struct scan *s = arg;
	unsigned long pfn;

	for (pfn = PFN_UP(res->start); pfn < PFN_DOWN(res->end + 1); pfn++) {
		const u64 *w;
		int k;

		if (!pfn_valid(pfn))
			continue;
		s->frames++;
		w = kmap_local_pfn(pfn);
		for (k = 0; k < 512 && w[k] == fill_word(s->seed, pfn, k); k++)
			;
		if (k == 512 && !s->pat++)
			s->pat_pfn = pfn;
		for (k = 0; k < 512; k++)
			if (((w[k] - s->phase) ^ SECRET_MASK) == s->key && !s->words++)
				s->word_pfn = pfn;
		kunmap_local(w);
		if (!(pfn & 1023))
			cond_resched();
	}
	return 0;
}

static int cmd_scan(int argc, const u64 *a)
{
	struct scan s = { .seed = a[0], .key = a[1], .phase = a[2] };

	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    &s, scan_range);
	out("frames=%llu pattern=%llu pattern_pfn=0x%llx secret=%llu secret_pfn=0x%llx result=scanned\n",
	    s.frames, s.pat, s.pat_pfn, s.words, s.word_pfn);
	return 0;
}

/*
 * alloc_in LO HI ORDER: 2^ORDER frames whose first pfn lies in [LO, HI); what is
 * allocated outside the band on the way stays allocated (it only steers the
 * allocator). The reset scenario plants its secrets in a band the next boot's
 * kernel, initrd and early allocations leave alone.
 */
static int cmd_alloc_in(int argc, const u64 *a)
{
	struct page *p;
	int tries;

	if (a[2] > 8)
		return -EINVAL;
	for (tries = 0; tries < 100000; tries++) {
		p = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, a[2]);
		if (!p)
			break;
		if (page_to_pfn(p) >= a[0] && page_to_pfn(p) + (1ul << a[2]) <= a[1]) {
			out("pfn=0x%lx count=%u tries=%d\n", page_to_pfn(p), 1u << a[2], tries);
			return 0;
		}
	}
	out("result=error err=ENOMEM tries=%d\n", tries);
	return 0;
}

const struct atk_cmd port_cmds[] = {
	{ "alloc_in", 3, cmd_alloc_in, "PFN_LO PFN_HI ORDER" },
	{ "fadt_ports", 0, cmd_fadt_ports, "" },
	{ "port_out", 3, cmd_port_out, "SIZE PORT VALUE" },
	{ "port_in", 2, cmd_port_in, "SIZE PORT" },
	{ "cmos_read", 1, cmd_cmos_read, "INDEX (0x40-0x7f)" },
	{ "cmos_write", 2, cmd_cmos_write, "INDEX VALUE" },
	{ "fill_pattern", 2, cmd_fill_pattern, "PFN SEED" },
	{ "put_secret", 3, cmd_put_secret, "PFN KEY PHASE" },
	{ "msr_secret", 2, cmd_msr_secret, "KEY PHASE" },
	{ "scan", 3, cmd_scan, "SEED KEY PHASE" },
	{ }
};
