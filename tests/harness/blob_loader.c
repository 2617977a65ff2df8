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
#include <sys/uio.h>
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

/* The engine's C ABI (include/pie_restore.h), passed through the blob's export. */
#include "pie_restore.h"

struct restore_args {
	int32_t fd;
	uint32_t nr_ios;
	const void *ios;
	struct pie_restore_opts opts;
	struct pie_restore_result result;
};

static void *read_all(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	off_t sz;
	void *buf;

	if (fd < 0)
		die("open records");
	sz = lseek(fd, 0, SEEK_END);
	buf = malloc(sz ? sz : 1);
	if (!buf || pread(fd, buf, sz, 0) != sz)
		die("read records");
	close(fd);
	*len = sz;
	return buf;
}

/*
 * restore PAGES RECORDS NR REGION STRATEGY WORKERS DEDUP [trap]
 * RECORDS holds NR packed restore_vma_io records whose iovec bases are offsets into a
 * REGION-byte destination; they are rebased onto a fresh mapping (with guard pages on
 * both sides), the blob restores them, and every byte is checked: each iovec against
 * the pages file (or against zeros if DEDUP punched it out: then against a copy taken
 * before), every other byte of the region still zero.
 */
static int cmd_restore(char **argv, bool trap)
{
	size_t rec_len, region = strtoull(argv[5], NULL, 0), page = 4096, nr = strtoul(argv[4], NULL, 0);
	unsigned char *rec = read_all(argv[3], &rec_len), *p = rec, *area, *dst, *seen, *want;
	int pages = open(argv[2], O_RDWR);
	struct restore_args a;
	long ret;
	size_t i, bad = 0, outside = 0, checked = 0;
	off_t psize;

	if (pages < 0)
		die("open pages");
	psize = lseek(pages, 0, SEEK_END);
	want = malloc(psize ? psize : 1);
	if (!want || pread(pages, want, psize, 0) != psize)
		die("read pages");
	area = mmap(NULL, region + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		die("mmap region");
	dst = area + page;
	if (mprotect(dst, region, PROT_READ | PROT_WRITE))
		die("mprotect region");
	seen = calloc(1, region ? region : 1);
	if (!seen)
		die("calloc");
	for (i = 0; i < nr; i++) {
		int32_t n = *(int32_t *)p;
		struct iovec *iov = (struct iovec *)(p + 16);
		for (int32_t k = 0; k < n; k++)
			iov[k].iov_base = dst + (uintptr_t)iov[k].iov_base;
		p += 16 + 16 * (size_t)n;
	}
	memset(&a, 0, sizeof(a));
	a.fd = pages;
	a.nr_ios = nr;
	a.ios = rec;
	a.opts.version = PIE_RESTORE_OPTS_V1;
	a.opts.size = sizeof(a.opts);
	a.opts.strategy = strtoul(argv[6], NULL, 0);
	a.opts.workers = strtoul(argv[7], NULL, 0);
	a.opts.dedup_chunk = strtoull(argv[8], NULL, 0);
	ret = trap ? run_trap(66, &a) : ((long (*)(struct restore_args *))entry(restorer_sym__export_restore_vma_ios))(&a);

	/* Verify: each iovec against the file, everything else zero. */
	p = rec;
	for (i = 0; i < nr; i++) {
		int32_t n = *(int32_t *)p;
		int64_t off = *(int64_t *)(p + 8);
		struct iovec *iov = (struct iovec *)(p + 16);
		for (int32_t k = 0; k < n; k++) {
			size_t at = (unsigned char *)iov[k].iov_base - dst;
			if (ret == 0 && (off + (off_t)iov[k].iov_len > psize || memcmp(dst + at, want + off, iov[k].iov_len)))
				bad++;
			memset(seen + at, 1, iov[k].iov_len);
			checked += iov[k].iov_len;
			off += iov[k].iov_len;
		}
		p += 16 + 16 * (size_t)n;
	}
	for (i = 0; i < region; i++)
		if (!seen[i] && dst[i])
			outside++;
	printf("restore ret=%ld record=%lld offset=%lld strategy=%u workers=%u bytes=%llu checked=%zu bad_iovs=%zu "
	       "outside=%zu\n",
	       ret, (long long)a.result.record, (long long)a.result.offset, a.result.strategy, a.result.workers,
	       (unsigned long long)a.result.bytes, checked, bad, outside);
	return ret == 0 && bad == 0 && outside == 0 && a.result.bytes == checked ? 0 : 1;
}

static int cmd_features(bool trap)
{
	struct pie_restore_features f;
	long ret;

	memset(&f, 0xff, sizeof(f));
	ret = trap ? run_trap(67, &f) : ((long (*)(struct pie_restore_features *))entry(restorer_sym__export_restore_features))(&f);
	printf("features ret=%ld cachestat=%d io_uring=%d io_uring_readv=%d populate_write=%d clone3=%d clone3_set_tid=%d "
	       "cpus=%u\n",
	       ret, f.cachestat, f.io_uring, f.io_uring_readv, f.populate_write, f.clone3, f.clone3_set_tid, f.cpus);
	return ret == 0 ? 0 : 1;
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
		fprintf(stderr, "usage: blob_loader info|getpid|trap-getpid|read FILE OFF LEN|trap-read FILE OFF LEN|read-badfd|"
				"[trap-]restore PAGES RECORDS NR REGION STRATEGY WORKERS DEDUP|[trap-]features\n");
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
	if ((!strcmp(argv[1], "restore") || !strcmp(argv[1], "trap-restore")) && argc == 9)
		return cmd_restore(argv, argv[1][0] == 't');
	if (!strcmp(argv[1], "features") || !strcmp(argv[1], "trap-features"))
		return cmd_features(argv[1][0] == 't');
	if (!strcmp(argv[1], "read-badfd"))
		return cmd_read_badfd();
	fprintf(stderr, "blob_loader: unknown command %s\n", argv[1]);
	return 2;
}
