// SPDX-License-Identifier: GPL-2.0
/*
 * Frames the suite attacks: allocation, host-side fill and hash. On a bare kernel the
 * victim is one of these frames; under vbh the same frames are donated to a TEST
 * domain and filled by the hypervisor, so the same read/hash code tells whether the
 * host still sees them.
 */
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include "attack.h"
#include "probe.h"

static u8 frame_buf[PAGE_SIZE];

/* FNV-1a 64: the same function as VBH_HC_TEST_HASH, so hashes compare directly. */
u64 fnv1a64(u64 h, const void *p, size_t n)
{
	const u8 *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

/* splitmix64 of (seed, index): cheap, and no two frames of a run look alike. */
u64 pattern_word(u64 seed, unsigned int i)
{
	u64 z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int read_frame(const void *va, u8 *buf)
{
	unsigned int i;
	int trap;

	for (i = 0; i < PAGE_SIZE; i += 8) {
		trap = probe_read64(va + i, (u64 *)(buf + i));
		if (trap != PROBE_OK)
			return trap;
	}
	return PROBE_OK;
}

void out_read(int trap, const u8 *buf)
{
	if (trap == PROBE_OK)
		out("result=read hash=0x%llx word0=0x%llx\n",
		    fnv1a64(FNV1A64_INIT, buf, PAGE_SIZE), *(const u64 *)buf);
	else
		out("result=fault trap=%d\n", trap);
}

void write_marker(void *va)
{
	const u64 marker = 0x5ca1ab1ec0ffee00ull;
	u64 back = 0;
	int trap = probe_write64(va, marker);

	if (trap != PROBE_OK) {
		out("result=fault trap=%d\n", trap);
		return;
	}
	trap = probe_read64(va, &back);
	if (trap != PROBE_OK)
		out("result=write_unverified trap=%d\n", trap);
	else if (back == marker)
		out("result=landed\n");
	else
		out("result=not_landed readback=0x%llx\n", back);
}

/* alloc ORDER: 2^ORDER zeroed contiguous frames. Never freed: they may be owned by a
 * domain when the module goes away, and handing such a frame back to the page
 * allocator would crash the host. The test VM is thrown away anyway. */
static int cmd_alloc(int argc, const u64 *a)
{
	struct page *p;

	if (a[0] > 8)
		return -EINVAL;
	p = alloc_pages(GFP_KERNEL | __GFP_ZERO, a[0]);
	if (!p) {
		out("result=error err=ENOMEM\n");
		return 0;
	}
	out("pfn=0x%lx count=%u\n", page_to_pfn(p), 1u << a[0]);
	return 0;
}

/* fill PFN COUNT SEED: the host writes a pattern through the direct map. */
static int cmd_fill(int argc, const u64 *a)
{
	u64 n;
	unsigned int i;
	int trap = PROBE_OK;

	for (n = 0; n < a[1] && trap == PROBE_OK; n++) {
		u8 *va = phys_to_virt(PFN_PHYS(a[0] + n));

		for (i = 0; i < PAGE_SIZE / 8 && trap == PROBE_OK; i++)
			trap = probe_write64(va + 8 * i, pattern_word(a[2] + n, i));
	}
	if (trap == PROBE_OK)
		out("result=filled\n");
	else
		out("result=fault trap=%d\n", trap);
	return 0;
}

/* hash PFN COUNT: FNV-1a over COUNT frames read through the direct map. */
static int cmd_hash(int argc, const u64 *a)
{
	u64 n, h = FNV1A64_INIT;
	int trap = PROBE_OK;

	for (n = 0; n < a[1] && trap == PROBE_OK; n++) {
		trap = read_frame(phys_to_virt(PFN_PHYS(a[0] + n)), frame_buf);
		h = fnv1a64(h, frame_buf, PAGE_SIZE);
	}
	if (trap == PROBE_OK)
		out("result=read hash=0x%llx\n", h);
	else
		out("result=fault trap=%d frame=%llu\n", trap, n - 1);
	return 0;
}

/* poke PFN OFFSET VALUE: one host write of a u64 (to build hypercall argument arrays). */
static int cmd_poke(int argc, const u64 *a)
{
	int trap;

	if (a[1] > PAGE_SIZE - 8 || (a[1] & 7))
		return -EINVAL;
	trap = probe_write64(phys_to_virt(PFN_PHYS(a[0]) + a[1]), a[2]);
	if (trap == PROBE_OK)
		out("result=written\n");
	else
		out("result=fault trap=%d\n", trap);
	return 0;
}

const struct atk_cmd frame_cmds[] = {
	{ "poke", 3, cmd_poke, "PFN OFFSET VALUE" },
	{ "alloc", 1, cmd_alloc, "ORDER" },
	{ "fill", 3, cmd_fill, "PFN COUNT SEED" },
	{ "hash", 2, cmd_hash, "PFN COUNT" },
	{ }
};
