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

struct side {
	int in, out, cpu;
	uint64_t iters;
	int err;
};

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static void *echo(void *arg)
{
	struct side *s = arg;
	char c;
	uint64_t i;

	if (pin(s->cpu)) {
		s->err = 1;
		return NULL;
	}
	for (i = 0; i < s->iters; i++)
		if (read(s->in, &c, 1) != 1 || write(s->out, &c, 1) != 1) {
			s->err = 1;
			break;
		}
	return NULL;
}

static int ping(int out, int in, uint64_t iters)
{
	char c = 'x';
	uint64_t i;

	for (i = 0; i < iters; i++)
		if (write(out, &c, 1) != 1 || read(in, &c, 1) != 1)
			return -1;
	return 0;
}

static int run(int peer_cpu, uint64_t iters, uint64_t *ns)
{
	int there[2], back[2];
	struct side peer = { .cpu = peer_cpu, .iters = iters };
	pthread_t tid;
	uint64_t t0;
	int rc;

	if (sysconf(_SC_NPROCESSORS_ONLN) <= peer_cpu) {
		fprintf(stderr, "pingpong: needs 2 online CPUs\n");
		return -1;
	}
	if (pipe(there) || pipe(back) || pin(0)) {
		perror("pingpong: setup");
		return -1;
	}
	peer.in = there[0];
	peer.out = back[1];
	if ((rc = pthread_create(&tid, NULL, echo, &peer))) {
		fprintf(stderr, "pingpong: pthread_create: %s\n", strerror(rc));
		return -1;
	}
	t0 = now_ns();
	rc = ping(there[1], back[0], iters);
	*ns = now_ns() - t0;
	if (rc)
		close(there[1]); /* unblock the peer */
	pthread_join(tid, NULL);
	if (rc || peer.err) {
		fprintf(stderr, "pingpong: pipe I/O or pinning to CPU %d failed\n", peer_cpu);
		return -1;
	}
	return 0;
}

int bench_pingpong(uint64_t iters, uint64_t *ns)
{
	return run(1, iters, ns);
}

int bench_switch(uint64_t iters, uint64_t *ns)
{
	return run(0, iters, ns);
}
