/*
 * A process with one large anonymous VMA, every word the pattern of pattern_workload.c
 * (word at address a = splitmix64(seed ^ (a & ~7))), for the restore benchmark.
 * MADV_NOHUGEPAGE like pattern_workload: 4 KiB pages, the layout CRIU's page loop sees
 * for most processes.
 * argv[1]: file to write "ready <base> <len>" to; argv[2]: the size in MiB.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char **argv)
{
	unsigned long mib, len;
	void *p;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: big_workload READY-FILE MIB\n");
		return 2;
	}
	mib = strtoul(argv[2], &end, 10);
	if (*end || mib == 0) {
		fprintf(stderr, "big_workload: bad size %s\n", argv[2]);
		return 2;
	}
	len = mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (madvise(p, len, MADV_NOHUGEPAGE)) {
		perror("madvise");
		return 1;
	}
	fill_pattern(p, len);
	announce(argv[1], "%p %lu", (void *)p, len);
	for (;;)
		pause();
}
