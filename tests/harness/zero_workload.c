/*
 * A process tree for `criu-pie compact` with real CRIU: zero pages where they may go and
 * where they must stay.
 *   P: 16 MiB anonymous, the pattern, but pages 5 and 100-109 zeroed again (present, zero);
 *   Z: 512 MiB anonymous, every page written with zeros (present, zero);
 *   F: 1 MiB private mapping of a file holding the pattern; page 3 overwritten with
 *      zeros (an anonymous copy-on-write page that is zero: the file shows otherwise);
 *   X: 1 MiB anonymous, the pattern; a forked child zeroes its page 7 (a zero page over
 *      its parent's data).
 * The child then sleeps; the parent writes "ready P Z F X CHILD-PID" to argv[1].
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pattern.h"

#define PAGE 4096UL
#define MIB (1UL << 20)

static char *anon(unsigned long len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* Huge pages would add zero pages of their own and hide the layout. */
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

int main(int argc, char **argv)
{
	char *p, *z, *f, *x;
	unsigned long i;
	int fd, pipefd[2];
	pid_t child;
	char c;

	if (argc != 3) {
		fprintf(stderr, "usage: zero_workload READY-FILE BACKING-FILE\n");
		return 2;
	}
	p = anon(16 * MIB);
	fill_pattern(p, 16 * MIB);
	memset(p + 5 * PAGE, 0, PAGE);
	memset(p + 100 * PAGE, 0, 10 * PAGE);

	z = anon(512 * MIB);
	for (i = 0; i < 512 * MIB; i += PAGE)
		z[i] = 0;

	/* The file gets the pattern of the addresses it will be mapped at. */
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, MIB)) {
		perror("backing file");
		return 1;
	}
	f = mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED) {
		perror("mmap shared");
		return 1;
	}
	fill_pattern(f, MIB);
	msync(f, MIB, MS_SYNC);
	if (mmap(f, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
		perror("mmap private");
		return 1;
	}
	close(fd);
	memset(f + 3 * PAGE, 0, PAGE);

	x = anon(MIB);
	fill_pattern(x, MIB);

	if (pipe(pipefd))
		return 1;
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		memset(x + 7 * PAGE, 0, PAGE);
		if (write(pipefd[1], "k", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	if (read(pipefd[0], &c, 1) != 1)
		return 1;
	announce(argv[1], "%p %p %p %p %d", (void *)p, (void *)z, (void *)f, (void *)x, child);
	for (;;)
		pause();
}
