/*
 * A process whose one anonymous VMA was advised MADV_HUGEPAGE before it was filled: the
 * restore should give it back in huge pages. 64 MiB at a 2 MiB-aligned address, every
 * word the pattern of pattern_workload.c.
 * argv[1]: file to write "ready <base> <len>" to.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pattern.h"

#define HUGE (2UL << 20)
#define LEN (64UL << 20)

int main(int argc, char **argv)
{
	char *span, *base;

	if (argc < 2) {
		fprintf(stderr, "usage: %s READY_FILE\n", argv[0]);
		return 2;
	}
	span = mmap(NULL, LEN + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (span == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	base = (char *)(((uintptr_t)span + HUGE - 1) & ~(HUGE - 1));
	/* Only the aligned part stays: one VMA, exactly LEN. */
	if (base > span)
		munmap(span, base - span);
	munmap(base + LEN, span + LEN + HUGE - (base + LEN));
	if (madvise(base, LEN, MADV_HUGEPAGE)) {
		perror("madvise");
		return 1;
	}
	fill_pattern(base, LEN);
	announce(argv[1], "%p %lu", (void *)base, LEN);
	for (;;)
		pause();
}
