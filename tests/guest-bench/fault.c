/* SPDX-License-Identifier: MIT */
/* fault: map 64 anonymous pages, write one byte to each (one minor fault and one
 * zeroed page each), unmap. Exercises the page-fault path, page-table updates and the
 * TLB shootdown of munmap. One iteration is one page fault. */
#include <stdio.h>
#include <sys/mman.h>

#include "common.h"

#define CHUNK_PAGES 64u

static int touch_chunk(unsigned pages)
{
	char *p = mmap(NULL, CHUNK_PAGES * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned i;

	if (p == MAP_FAILED) {
		perror("fault: mmap");
		return -1;
	}
	for (i = 0; i < pages; i++)
		((volatile char *)p)[i * 4096] = 1;
	munmap(p, CHUNK_PAGES * 4096);
	return 0;
}

int bench_fault(uint64_t iters, uint64_t *ns)
{
	uint64_t t0 = now_ns(), done, left;

	for (done = 0; done < iters; done += CHUNK_PAGES) {
		left = iters - done;
		if (touch_chunk(left < CHUNK_PAGES ? (unsigned)left : CHUNK_PAGES))
			return -1;
	}
	*ns = now_ns() - t0;
	return 0;
}
