/*
 * Loads the restorer blob the way CRIU's restore does and calls into it.
 *
 * The blob comes from the generated header (prefix `restorer`): its bytes are copied
 * into an anonymous RWX mapping sized up to the args area, the mapping is moved with
 * mremap(MREMAP_FIXED) to another address, and Debian's libcompel applies the
 * relocations there, exactly the sequence CRIU follows before jumping into the blob.
 * Each command prints one result line and exits 0 only when the result is right.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include <compel/infect.h>
#include "restorer-blob.h"

struct read_range_args {
	int32_t fd;
	int64_t offset;
	void *buf;
	uint64_t len;
};

static struct parasite_blob_desc pbd;
static unsigned char *blob;
static size_t blob_len;

static void die(const char *what)
{
	fprintf(stderr, "blob_loader: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void load_blob(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *first, *hole;

	restorer_setup_c_header_desc(&pbd, true);
	blob_len = round_up(pbd.hdr.args_off, page);

	first = mmap(NULL, blob_len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (first == MAP_FAILED)
		die("mmap blob");
	memcpy(first, pbd.hdr.mem, pbd.hdr.bsize);

	/* Reserve a different place and move the blob there, as CRIU's remap does. */
	hole = mmap(NULL, blob_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED)
		die("mmap target");
	blob = mremap(first, blob_len, blob_len, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	if (blob == MAP_FAILED)
		die("mremap blob");

	compel_relocs_apply(blob, blob, &pbd);
}

static void *entry(unsigned long off)
{
	return blob + off;
}

static sigjmp_buf trap_env;
static volatile long trap_rax;

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	trap_rax = (long)((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX];
	siglongjmp(trap_env, 1);
}

/* Run the blob from its head in trap mode: command and args through the service slots. */
static long run_trap(unsigned int cmd, void *args)
{
	struct sigaction sa = { .sa_sigaction = on_trap, .sa_flags = SA_SIGINFO };
	static char stack[1 << 16] __attribute__((aligned(16)));
	void (*head)(void) = (void (*)(void))entry(pbd.hdr.parasite_ip_off);

	if (sigaction(SIGTRAP, &sa, NULL))
		die("sigaction");
	*(unsigned int *)(blob + pbd.hdr.cmd_off) = cmd;
	*(void **)(blob + pbd.hdr.args_ptr_off) = args;
	if (sigsetjmp(trap_env, 1) == 0) {
		/* The head never returns: it stops at int3 with the result in rax. */
		__asm__ volatile("mov %0, %%rsp\n\tjmp *%1" : : "r"(stack + sizeof(stack)), "r"(head) : "memory");
		__builtin_unreachable();
	}
	return trap_rax;
}

static int cmd_getpid(bool trap)
{
	long (*fn)(void) = (long (*)(void))entry(restorer_sym__export_blob_getpid);
	long got = trap ? run_trap(64, NULL) : fn();

	printf("getpid blob=%ld libc=%d\n", got, getpid());
	return got == getpid() ? 0 : 1;
}

static int cmd_read(const char *path, long long off, unsigned long long len, bool trap)
{
	long (*fn)(struct read_range_args *) = (long (*)(struct read_range_args *))entry(restorer_sym__export_blob_read_range);
	unsigned char *got = calloc(1, len + 1), *want = calloc(1, len + 1);
	struct read_range_args a;
	long ret;
	ssize_t n;
	int fd;

	if (!got || !want)
		die("calloc");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open");
	a = (struct read_range_args){ .fd = fd, .offset = off, .buf = got, .len = len };
	ret = trap ? run_trap(65, &a) : fn(&a);
	n = pread(fd, want, len, off);
	printf("read ret=%ld expect=%zd match=%d\n", ret, n, ret == n && n >= 0 && !memcmp(got, want, len));
	return ret == n && n >= 0 && !memcmp(got, want, len) ? 0 : 1;
}

static int cmd_read_badfd(void)
{
	long (*fn)(struct read_range_args *) = (long (*)(struct read_range_args *))entry(restorer_sym__export_blob_read_range);
	char buf[16];
	struct read_range_args a = { .fd = -1, .offset = 0, .buf = buf, .len = sizeof(buf) };
	long ret = fn(&a);

	printf("read-badfd ret=%ld\n", ret);
	return ret == -EBADF ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: blob_loader info|getpid|trap-getpid|read FILE OFF LEN|trap-read FILE OFF LEN|read-badfd\n");
		return 2;
	}
	load_blob();
	if (!strcmp(argv[1], "info")) {
		printf("info base=%p len=%zu bsize=%zu got_off=%lu args_off=%lu data_off=%lu relocs=%u\n", (void *)blob,
		       blob_len, pbd.hdr.bsize, pbd.hdr.got_off, pbd.hdr.args_off, pbd.hdr.data_off, pbd.hdr.nr_relocs);
		return 0;
	}
	if (!strcmp(argv[1], "getpid"))
		return cmd_getpid(false);
	if (!strcmp(argv[1], "trap-getpid"))
		return cmd_getpid(true);
	if ((!strcmp(argv[1], "read") || !strcmp(argv[1], "trap-read")) && argc == 5)
		return cmd_read(argv[2], atoll(argv[3]), strtoull(argv[4], NULL, 0), argv[1][0] == 't');
	if (!strcmp(argv[1], "read-badfd"))
		return cmd_read_badfd();
	fprintf(stderr, "blob_loader: unknown command %s\n", argv[1]);
	return 2;
}
