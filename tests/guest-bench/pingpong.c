/* SPDX-License-Identifier: MIT */
/* pingpong: two threads pinned to CPU 0 and CPU 1 pass one byte back and forth through
 * two pipes. Every hop wakes a task on the other CPU, which is a reschedule IPI when
 * that CPU sits in HLT: this is the cross-CPU wake-up and context-switch cost.
 * switch: the same with both threads on CPU 0, i.e. two context switches and no IPI.
 * One iteration is one round trip (two wake-ups). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

struct pair {
	int there[2], back[2];
	int peer_cpu, peer_err;
	pthread_t peer;
};

static struct pair pair;

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *echo(void *arg)
{
	struct pair *p = arg;
	char c;

	if (pin(p->peer_cpu)) {
		p->peer_err = 1;
		close(p->back[1]); /* the pinger's read sees EOF */
		return NULL;
	}
	while (read(p->there[0], &c, 1) == 1) /* until the pinger closes its end */
		if (write(p->back[1], &c, 1) != 1) {
			p->peer_err = 1;
			break;
		}
	return NULL;
}

static int op(void *ctx)
{
	struct pair *p = ctx;
	char c = 'x';

	if (write(p->there[1], &c, 1) != 1 || read(p->back[0], &c, 1) != 1) {
		fprintf(stderr, "pingpong: pipe I/O failed (peer on CPU %d)\n", p->peer_cpu);
		return -1;
	}
	return 0;
}

static int start(int peer_cpu, void **ctx)
{
	struct pair *p = &pair;
	int rc;

	memset(p, 0, sizeof(*p));
	p->peer_cpu = peer_cpu;
	if (sysconf(_SC_NPROCESSORS_ONLN) <= peer_cpu) {
		fprintf(stderr, "pingpong: needs CPU %d online\n", peer_cpu);
		return -1;
	}
	if (pipe(p->there) || pipe(p->back) || pin(0)) {
		perror("pingpong: setup");
		return -1;
	}
	if ((rc = pthread_create(&p->peer, NULL, echo, p))) {
		fprintf(stderr, "pingpong: pthread_create: %s\n", strerror(rc));
		return -1;
	}
	*ctx = p;
	return 0;
}

static int stop(void *ctx)
{
	struct pair *p = ctx;

	close(p->there[1]);
	pthread_join(p->peer, NULL);
	if (p->peer_err)
		fprintf(stderr, "pingpong: the peer on CPU %d failed\n", p->peer_cpu);
	return p->peer_err ? -1 : 0;
}

static int setup_pingpong(void **ctx)
{
	return start(1, ctx);
}

static int setup_switch(void **ctx)
{
	return start(0, ctx);
}

const struct workload wl_pingpong = { "pingpong", 200, 1, setup_pingpong, op, stop };
const struct workload wl_switch = { "switch", 3000, 5, setup_switch, op, stop };
