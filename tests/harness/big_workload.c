/*
 * A process with one large anonymous VMA, every word the pattern of pattern_workload.c
 * (word at address a = splitmix64(seed ^ (a & ~7))), for the restore benchmark.
 * MADV_NOHUGEPAGE like pattern_workload: 4 KiB pages, the layout CRIU's page loop sees
 * for most processes.
 * argv[1]: file to write "ready <base> <len>" to; argv[2]: the size in MiB; argv[3]
 * (optional): a percentage of 2 MiB runs written with zeros instead (run k is zero when
 * k * PCT % 100 < PCT), for `criu-pie compact`.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pattern.h"

int main(int argc, char **argv)
{
	unsigned long mib, len;
	void *p;
	char *end;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: big_workload READY-FILE MIB [ZERO-PERCENT]\n");
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
	if (argc == 4) {
		unsigned long pct = strtoul(argv[3], &end, 10), k;

		if (*end || pct > 100) {
			fprintf(stderr, "big_workload: bad percentage %s\n", argv[3]);
			return 2;
		}
		for (k = 0; k < len >> 21; k++)
			if (k * pct % 100 < pct)
				memset((char *)p + (k << 21), 0, 2UL << 20);
	}
	announce(argv[1], "%p %lu", (void *)p, len);
	for (;;)
		pause();
}
