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

static volatile uint64_t sink;

static uint64_t *buffer(void)
{
	void *p = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mem: mmap 128 MiB");
		return NULL;
	}
	madvise(p, BUF_BYTES, MADV_NOHUGEPAGE);
	memset(p, 0x5a, BUF_BYTES);
	return p;
}

static uint64_t read_page(const uint64_t *page)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < PAGE_WORDS; i++)
		sum += page[i];
	return sum;
}

static int run(int random, uint64_t iters, uint64_t *ns)
{
	uint64_t *buf = buffer(), x = 0x9e3779b97f4a7c15u, sum = 0, t0, i, page = 0;

	if (!buf)
		return -1;
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		if (random) { /* xorshift64 (Marsaglia 2003) */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			page = x % NPAGES;
		} else {
			page = (page + 1) % NPAGES;
		}
		sum += read_page(buf + page * PAGE_WORDS);
	}
	*ns = now_ns() - t0;
	sink = sum;
	munmap(buf, BUF_BYTES);
	return 0;
}

int bench_memrand(uint64_t iters, uint64_t *ns)
{
	return run(1, iters, ns);
}

int bench_memseq(uint64_t iters, uint64_t *ns)
{
	return run(0, iters, ns);
}
