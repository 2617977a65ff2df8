/*
 * A process for the huge-page restore: four anonymous regions, none advised but one,
 * each 2 MiB-aligned and its own VMA (PROT_NONE gaps between them):
 *   dense   1 GiB, every word the pattern;
 *   nohuge  64 MiB, MADV_NOHUGEPAGE, every word the pattern;
 *   third   64 MiB, every third page written (the pattern), the others never touched;
 *   holed   64 MiB, every page but the sixth of each 2 MiB written.
 * argv[1]: file to write "ready <dense> <nohuge> <third> <holed>" to (addresses).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pattern.h"

#define PAGE 4096UL
#define HUGE (2UL << 20)
#define DENSE (1024UL << 20)
#define SMALL (64UL << 20)
#define GAP HUGE

int main(int argc, char **argv)
{
	unsigned long total = DENSE + 3 * SMALL + 4 * GAP;
	char *span, *base, *dense, *nohuge, *third, *holed;

	if (argc < 2) {
		fprintf(stderr, "usage: %s READY_FILE\n", argv[0]);
		return 2;
	}
	span = mmap(NULL, total + HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (span == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	base = (char *)(((uintptr_t)span + HUGE - 1) & ~(HUGE - 1));
	dense = base + GAP;
	nohuge = dense + DENSE + GAP;
	third = nohuge + SMALL + GAP;
	holed = third + SMALL + GAP;
	if (mprotect(dense, DENSE, PROT_READ | PROT_WRITE) || mprotect(nohuge, SMALL, PROT_READ | PROT_WRITE) ||
	    mprotect(third, SMALL, PROT_READ | PROT_WRITE) || mprotect(holed, SMALL, PROT_READ | PROT_WRITE)) {
		perror("mprotect");
		return 1;
	}
	if (madvise(nohuge, SMALL, MADV_NOHUGEPAGE)) {
		perror("madvise");
		return 1;
	}
	fill_pattern(dense, DENSE);
	fill_pattern(nohuge, SMALL);
	for (unsigned long p = 0; p < SMALL; p += 3 * PAGE)
		fill_pattern(third + p, PAGE);
	for (unsigned long p = 0; p < SMALL; p += PAGE)
		if (p % HUGE != 5 * PAGE)
			fill_pattern(holed + p, PAGE);
	announce(argv[1], "%p %p %p %p", (void *)dense, (void *)nohuge, (void *)third, (void *)holed);
	for (;;)
		pause();
}
