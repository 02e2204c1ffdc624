/* SPDX-License-Identifier: MIT */
/* memrand / memseq: read 4 KiB blocks (every 8-byte word of one page) out of a 128 MiB
 * anonymous buffer, either at a pseudo-random page or at the next page. The buffer is
 * populated before timing and kept on 4 KiB guest pages (MADV_NOHUGEPAGE), so a random
 * read is a TLB miss whose walk, under nested paging, also walks the NPT; a sequential
 * read is the streaming baseline. One iteration is one 4 KiB read. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

#define BUF_BYTES (128u << 20)
#define PAGE_WORDS (4096 / sizeof(uint64_t))
#define NPAGES (BUF_BYTES / 4096)

struct buf {
	uint64_t *words;
	uint64_t x, page, sum;
};

static struct buf buf;
static volatile uint64_t sink;

static int setup(void **ctx)
{
	void *p = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mem: mmap 128 MiB");
		return -1;
	}
	madvise(p, BUF_BYTES, MADV_NOHUGEPAGE);
	memset(p, 0x5a, BUF_BYTES);
	buf = (struct buf){ .words = p, .x = 0x9e3779b97f4a7c15u };
	*ctx = &buf;
	return 0;
}

static void read_page(struct buf *b)
{
	const uint64_t *page = b->words + b->page * PAGE_WORDS;
	size_t i;

	for (i = 0; i < PAGE_WORDS; i++)
		b->sum += page[i];
}

static int op_rand(void *ctx)
{
	struct buf *b = ctx;

	b->x ^= b->x << 13; /* xorshift64 (Marsaglia 2003) */
	b->x ^= b->x >> 7;
	b->x ^= b->x << 17;
	b->page = b->x % NPAGES;
	read_page(b);
	return 0;
}

static int op_seq(void *ctx)
{
	struct buf *b = ctx;

	b->page = (b->page + 1) % NPAGES;
	read_page(b);
	return 0;
}

static int teardown(void *ctx)
{
	struct buf *b = ctx;

	sink = b->sum;
	return munmap(b->words, BUF_BYTES);
}

const struct workload wl_memrand = { "memrand", 25000, 100, setup, op_rand, teardown };
const struct workload wl_memseq = { "memseq", 25000, 100, setup, op_seq, teardown };
