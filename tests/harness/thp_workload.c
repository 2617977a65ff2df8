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

#define SEED 0x5eedULL
#define HUGE (2UL << 20)
#define LEN (64UL << 20)

static uint64_t splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	char *span, *base;
	uint64_t *p;
	FILE *ready;

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
	p = (uint64_t *)base;
	for (unsigned long w = 0; w < LEN / 8; w++)
		p[w] = splitmix64(SEED ^ (uint64_t)(uintptr_t)&p[w]);
	ready = fopen(argv[1], "w");
	if (!ready) {
		perror("fopen");
		return 1;
	}
	fprintf(ready, "ready %p %lu\n", (void *)base, LEN);
	fclose(ready);
	for (;;)
		pause();
}
