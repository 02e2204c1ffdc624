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

static int nop_path(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - sizeof("/vbh-nop"));
	char *slash;

	if (n <= 0) {
		perror("exec: readlink /proc/self/exe");
		return -1;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	strcpy(slash ? slash : buf, "/vbh-nop");
	return 0;
}

static int spawn_wait(const char *path)
{
	char *const argv[] = { (char *)path, NULL };
	char *const envp[] = { NULL };
	int status;
	pid_t pid = fork();

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

int bench_exec(uint64_t iters, uint64_t *ns)
{
	char path[PATH_MAX];
	uint64_t t0, i;

	if (nop_path(path, sizeof(path)) || spawn_wait(path)) /* warm the page cache */
		return -1;
	t0 = now_ns();
	for (i = 0; i < iters; i++)
		if (spawn_wait(path))
			return -1;
	*ns = now_ns() - t0;
	return 0;
}
