/* SPDX-License-Identifier: MIT */
/* fault: map 64 anonymous pages, write one byte to each (one minor fault and one
 * zeroed page each), unmap. Exercises the page-fault path, page-table updates and the
 * TLB flush of munmap. One iteration is one page fault; a batch is one mapping. */
#include <stdio.h>
#include <sys/mman.h>

#include "common.h"

#define CHUNK_PAGES 64u

struct chunk {
	char *p;
	unsigned next;
};

static struct chunk chunk;

static int op(void *ctx)
{
	struct chunk *c = ctx;

	if (!c->p) {
		c->p = mmap(NULL, CHUNK_PAGES * 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c->p == MAP_FAILED) {
			c->p = NULL;
			perror("fault: mmap");
			return -1;
		}
	}
	((volatile char *)c->p)[c->next++ * 4096] = 1;
	if (c->next == CHUNK_PAGES) {
		munmap(c->p, CHUNK_PAGES * 4096);
		*c = (struct chunk){ 0 };
	}
	return 0;
}

static int setup(void **ctx)
{
	chunk = (struct chunk){ 0 };
	*ctx = &chunk;
	return 0;
}

static int teardown(void *ctx)
{
	struct chunk *c = ctx;

	if (c->p)
		munmap(c->p, CHUNK_PAGES * 4096);
	return 0;
}

const struct workload wl_fault = { "fault", 6016, CHUNK_PAGES, setup, op, teardown };
