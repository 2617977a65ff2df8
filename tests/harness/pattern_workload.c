/*
 * A process with a known memory pattern for dump/restore tests: three adjacent VMAs,
 * each written page by page with the word pattern criu-image's synth module uses (word
 * at address a = splitmix64(seed ^ (a & ~7))), with holes left untouched:
 *   A: 96 MiB anonymous at BASE, every 16th page a hole;
 *   B: 16 MiB anonymous at BASE + 96 MiB, every other page a hole (records that straddle
 *      IOV_MAX: contiguous in the pages file, not in memory);
 *   C: a 4 MiB private mapping of a file at BASE + 112 MiB, its first half written.
 * BASE is wherever the kernel finds 116 MiB free (fixed addresses can collide).
 * Prints "ready <pages written> <BASE>" to the file named by argv[1], then sleeps.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pattern.h"

#define PAGE 4096UL
static void fill(uint64_t *p)
{
	fill_pattern(p, PAGE);
}

#define SPAN (116UL << 20)

static void *map_at(unsigned long addr, unsigned long len, int fd)
{
	/* Inside our own reservation: MAP_FIXED replaces it. */
	int flags = MAP_PRIVATE | MAP_FIXED | (fd < 0 ? MAP_ANONYMOUS : 0);
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* Huge pages would fill the holes with present zero pages. */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

int main(int argc, char **argv)
{
	unsigned long written = 0, i, base;
	char *a, *b, *c;
	void *span;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: pattern_workload READY-FILE BACKING-FILE\n");
		return 2;
	}
	span = mmap(NULL, SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (span == MAP_FAILED) {
		perror("reserve");
		return 1;
	}
	base = (unsigned long)span;
	a = map_at(base, 96UL << 20, -1);
	for (i = 0; i < (96UL << 20) / PAGE; i++)
		if (i % 16 != 15) {
			fill((uint64_t *)(a + i * PAGE));
			written++;
		}
	b = map_at(base + (96UL << 20), 16UL << 20, -1);
	for (i = 0; i < (16UL << 20) / PAGE; i += 2) {
		fill((uint64_t *)(b + i * PAGE));
		written++;
	}
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4UL << 20)) {
		perror("backing file");
		return 1;
	}
	c = map_at(base + (112UL << 20), 4UL << 20, fd);
	close(fd);
	for (i = 0; i < (2UL << 20) / PAGE; i++) {
		fill((uint64_t *)(c + i * PAGE));
		written++;
	}
	announce(argv[1], "%lu %#lx", written, base);
	for (;;)
		pause();
}
