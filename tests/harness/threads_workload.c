/*
 * A multi-threaded process for restore tests: N threads, each filling its own 4 MiB of
 * one anonymous VMA with the pattern of pattern_workload.c (word at address a =
 * splitmix64(seed ^ (a & ~7))), then counting forever in a thread-local variable that it
 * publishes in its slot of a shared counters page. A restore that loses a thread, its
 * registers, its fs base (TLS) or the vDSO (each count calls clock_gettime through it)
 * stops a counter or crashes the process.
 * argv[1]: file to write "ready <threads> <base> <counters>" to; argv[2]: threads.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "pattern.h"
#include <unistd.h>

#define PAGE 4096UL
#define SLICE (4UL << 20)
#define MAX_THREADS 64

static char *base;
static volatile uint64_t *counters;
static int filled;
static __thread uint64_t mine;

static void *worker(void *arg)
{
	long i = (long)arg;
	fill_pattern(base + i * SLICE, SLICE);
	__atomic_add_fetch(&filled, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		struct timespec ts;

		/* Through the vDSO: a restore that breaks it (or its trampolines) crashes here. */
		if (clock_gettime(CLOCK_MONOTONIC, &ts))
			abort();
		mine++;
		counters[i] = mine;
		usleep(1000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 4;
	pthread_t t;

	if (argc < 3 || n < 1 || n > MAX_THREADS) {
		fprintf(stderr, "usage: %s READY_FILE THREADS(1-%d)\n", argv[0], MAX_THREADS);
		return 2;
	}
	base = mmap(NULL, n * SLICE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	counters = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || counters == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise(base, n * SLICE, MADV_NOHUGEPAGE);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t, NULL, worker, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	while (__atomic_load_n(&filled, __ATOMIC_SEQ_CST) < n)
		usleep(1000);
	announce(argv[1], "%ld %p %p", n, (void *)base, (void *)counters);
	for (;;)
		pause();
}
