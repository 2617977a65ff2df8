/*
 * The page-restore engine of the criu-pie restorer, as a C function.
 *
 * Link the engine's object into CRIU's restorer and call pie_restore_vma_ios() where
 * the restorer walks args->vma_ios. The records are read, never modified.
 */
#ifndef PIE_RESTORE_H
#define PIE_RESTORE_H

#include <stdint.h>

#define PIE_RESTORE_OPTS_V1 1

enum pie_restore_strategy {
	PIE_RESTORE_AUTO = 0,     /* chosen by size, CPUs allowed and kernel features */
	PIE_RESTORE_SERIAL = 1,   /* CRIU's loop: one preadv after another */
	PIE_RESTORE_PREFETCH = 2, /* serial, with readahead a window ahead of the cursor */
	PIE_RESTORE_PARALLEL = 3, /* worker threads, each reading a share of the bytes */
	PIE_RESTORE_IO_URING = 4, /* READV requests in flight on an io_uring */
	PIE_RESTORE_DIRECT = 5,   /* the fd switched to O_DIRECT, read by the parallel workers */
	PIE_RESTORE_AIO = 6,      /* upstream CRIU's path: native AIO, one PREADV a record, 128 in flight */
	PIE_RESTORE_AIO_DIRECT = 7, /* aio with the fd switched to O_DIRECT */
};

/* flags */
#define PIE_RESTORE_POPULATE (1u << 0)  /* MADV_POPULATE_WRITE each range before reading it */
#define PIE_RESTORE_HUGEPAGES (1u << 1) /* MADV_HUGEPAGE each contiguous destination range, before the reads */
#define PIE_RESTORE_HUGE_COLLAPSE (1u << 2) /* each fully covered 2 MiB extent through a huge page, no advice (MADV_COLLAPSE) */

struct pie_restore_opts {
	uint32_t version;         /* PIE_RESTORE_OPTS_V1 */
	uint32_t size;            /* sizeof(struct pie_restore_opts) */
	uint32_t strategy;        /* enum pie_restore_strategy */
	uint32_t workers;         /* threads that read, the caller's included; 0 = auto */
	uint64_t prefetch_window; /* bytes kept read ahead (prefetch); 0 = default */
	uint64_t dedup_chunk;     /* auto-dedup: bytes per read, punched out after; 0 = off */
	int32_t max_pid;          /* highest PID of the restored tree; workers' TIDs go above; 0 = any */
	uint32_t flags;           /* PIE_RESTORE_POPULATE | PIE_RESTORE_HUGEPAGES | PIE_RESTORE_HUGE_COLLAPSE; others are -EINVAL */
};

struct pie_restore_result {
	int64_t record;    /* index of the failing record, -1 if none */
	int64_t offset;    /* pages-file offset of the failing read, -1 if none */
	uint32_t strategy; /* the strategy that ran */
	uint32_t workers;  /* threads that read */
	uint64_t bytes;    /* bytes read */
};

/* What the running kernel offers: 0 where a feature works, else -errno. */
struct pie_restore_features {
	int32_t cachestat;      /* cachestat(2), Linux 6.5 */
	int32_t io_uring;       /* io_uring_setup(2); -EPERM where kernel.io_uring_disabled forbids it */
	int32_t io_uring_readv; /* IORING_OP_READV */
	int32_t populate_write; /* MADV_POPULATE_WRITE, Linux 5.14 */
	int32_t clone3;         /* clone3(2), Linux 5.3 */
	int32_t clone3_set_tid; /* clone3 set_tid: Linux 5.5 and CAP_CHECKPOINT_RESTORE */
	uint32_t cpus;          /* CPUs this task may run on */
};

/*
 * Read the pages of the n packed struct restore_vma_io records at ios from fd.
 * Returns 0, or -errno with res->record/res->offset naming the failure (res may be NULL).
 * End of file before a record's last byte is -ENODATA. The records are checked before
 * any read: nr_iovs outside 1..IOV_MAX (1024) or a negative offset is -EINVAL naming the
 * record (the area's length is taken from the headers, as CRIU's loop walks them).
 */
long pie_restore_vma_ios(int fd, const void *ios, unsigned int n, const struct pie_restore_opts *opts,
			 struct pie_restore_result *res);

#endif /* PIE_RESTORE_H */
