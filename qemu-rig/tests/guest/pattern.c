/*
 * A tiny process with a known memory layout, dumped by CRIU in the qemu-rig guest to make
 * image fixtures (see qemu-rig/tests/criu.rs, fixture_export_pattern). Built `cc -static`.
 *
 * usage: pattern FILE READY
 *   0x10000000: 8 anonymous private pages (rw). Pages 0-2 and 5-7 are written: the first 16
 *               bytes are "RIG-ANON-PAGE-0N" (N = page index), the rest is byte 0xA0+N.
 *               Pages 3-4 are never touched: a hole in the pagemap.
 *   0x20000000: FILE (2 pages, expected: page 0 all 0x11, page 1 all 0x22) mapped private rw.
 *               Page 0 is written (copy-on-write, so it is dumped): "RIG-FILE-COW-P00" then
 *               0x33 bytes. Page 1 is only read: it stays the file's page, not dumped.
 * Then writes its pid to READY and sleeps in pause() forever.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096UL
#define ANON_ADDR ((void *)0x10000000UL)
#define FILE_ADDR ((void *)0x20000000UL)

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE READY\n", argv[0]);
		return 2;
	}
	unsigned char *anon = mmap(ANON_ADDR, 8 * PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (anon != ANON_ADDR)
		return fail("mmap anon");
	for (int i = 0; i < 8; i++) {
		if (i == 3 || i == 4)
			continue;
		unsigned char *p = anon + i * PAGE;
		memset(p, 0xA0 + i, PAGE);
		char tag[17];
		snprintf(tag, sizeof(tag), "RIG-ANON-PAGE-%02d", i);
		memcpy(p, tag, 16);
	}

	int fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		return fail("open file");
	unsigned char *file = mmap(FILE_ADDR, 2 * PAGE, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0);
	if (file != FILE_ADDR)
		return fail("mmap file");
	close(fd);
	memset(file, 0x33, PAGE);
	memcpy(file, "RIG-FILE-COW-P00", 16);
	volatile unsigned sum = 0;
	for (unsigned long i = 0; i < PAGE; i++)
		sum += file[PAGE + i];
	if (sum != 0x22 * PAGE)
		return fail("file page 1 content");

	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", getpid());
	int r = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (r < 0 || write(r, buf, n) != n)
		return fail("ready file");
	close(r);
	for (;;)
		pause();
}
