/* SPDX-License-Identifier: MIT */
/* exec: fork + execve of the static vbh-nop next to this binary, then wait. Covers
 * process creation, the ELF loader, page faults of a fresh address space and glibc's
 * start-up CPUIDs (each one an exit if the hypervisor intercepts CPUID). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static char path[PATH_MAX];

static int op(void *ctx)
{
	char *const argv[] = { path, NULL };
	char *const envp[] = { NULL };
	int status;
	pid_t pid = fork();

	(void)ctx;
	if (pid < 0) {
		perror("exec: fork");
		return -1;
	}
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "exec: %s failed (status %#x)\n", path, status);
		return -1;
	}
	return 0;
}

static int setup(void **ctx)
{
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - sizeof("/vbh-nop"));
	char *slash;

	if (n <= 0) {
		perror("exec: readlink /proc/self/exe");
		return -1;
	}
	path[n] = '\0';
	slash = strrchr(path, '/');
	strcpy(slash ? slash : path, "/vbh-nop");
	return op(*ctx); /* warm the page cache */
}

const struct workload wl_exec = { "exec", 60, 1, setup, op, NULL };
