// SPDX-License-Identifier: GPL-2.0
/*
 * vbh_secret_peek SEED FILE OFFSET: read vbh-vmm's 64 KiB secret region from FILE at
 * OFFSET (the attack: FILE = /proc/<vmm>/mem, OFFSET = the VMM's mapping of the
 * memslot, its protected_ready line's hva=) and count the qwords equal to the secret's
 * stream at their place (xorshift64* of SEED, the twin of tools/vmm/stream.hpp).
 * Prints "read=BYTES secret_qwords=N of 8192" (or "read=error errno=E"), exit 0: the
 * scenario judges. Whole qwords: a zero byte matches the stream 1 time in 256.
 * vbh_secret_peek SEED word PAGE: the first qword of secret page PAGE, in hex (what an
 * L2 reading that page's frame returns: tests/scenarios/protected-vm/attacks.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET_BYTES 65536 /* VMM_SECRET_SIZE (tools/vmm/payload_abi.h) */

static uint64_t stream_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

int main(int argc, char **argv)
{
	static uint64_t buf[SECRET_BYTES / 8];
	uint64_t seed, same = 0;
	ssize_t got;
	size_t i;
	off_t at;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SEED FILE OFFSET | SEED word PAGE\n", argv[0]);
		return 2;
	}
	seed = strtoull(argv[1], NULL, 0);
	if (!strcmp(argv[2], "word")) {
		uint64_t w = 0, n = strtoull(argv[3], NULL, 0) * 512 + 1;

		while (n--)
			w = stream_next(&seed);
		printf("0x%llx\n", (unsigned long long)w);
		return 0;
	}
	at = (off_t)strtoull(argv[3], NULL, 0);
	fd = open(argv[2], O_RDONLY);
	if (fd < 0) {
		printf("read=error errno=%d (%s)\n", errno, strerror(errno));
		return 0;
	}
	got = pread(fd, buf, sizeof(buf), at);
	if (got < 0) {
		printf("read=error errno=%d (%s)\n", errno, strerror(errno));
		return 0;
	}
	for (i = 0; i < (size_t)got / 8; i++)
		same += buf[i] == stream_next(&seed);
	printf("read=%zd secret_qwords=%llu of %d\n", got, (unsigned long long)same,
	       SECRET_BYTES / 8);
	close(fd);
	return 0;
}
