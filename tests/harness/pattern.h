/*
 * The memory pattern every test workload writes and the tests check (criu-image's
 * synth module has the same): the word at address a is splitmix64(SEED ^ (a & ~7)).
 * And how a workload announces itself: one "ready ..." line written to a file.
 */
#ifndef PIE_TEST_PATTERN_H
#define PIE_TEST_PATTERN_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SEED 0x5eedULL

static inline uint64_t splitmix64(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Fill `bytes` (a multiple of 8) at `p` with the pattern of their addresses. */
static inline void fill_pattern(void *p, unsigned long bytes)
{
	uint64_t *w = p;

	for (unsigned long i = 0; i < bytes / 8; i++)
		w[i] = splitmix64(SEED ^ (uint64_t)(uintptr_t)&w[i]);
}

/* Write "ready <fmt...>\n" to `path`, or exit(1). */
static inline void announce(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	if (!f) {
		perror("fopen");
		exit(1);
	}
	fputs("ready ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

#endif
