//! The page-restore engine: CRIU's `vma_ios` loop (read the dumped pages from the pages
//! image into the task's memory), made fast.
//!
//! Input is exactly what CRIU's restorer gets: the pages-image fd and the packed
//! `restore_vma_io` records. Output is all or nothing: `Ok` means every byte was read;
//! an error names the record and file offset that failed. Short reads are advanced over,
//! EINTR/EAGAIN retried, end of file before the last byte is an error (`ENODATA`).
//!
//! `#![no_std]`, no libc, position independent: it runs inside CRIU's restorer (linked
//! into CRIU's C restorer or called by `criu-restorer`) on `pie_sys`. The `standalone`
//! feature adds [`export`]: a blob of its own (parasite head, service commands,
//! `__export_*` entry points).
#![cfg_attr(not(test), no_std)]

// The `std` feature (host tools such as the benches) lends std's fds to the wrappers.
#[cfg(all(feature = "std", not(test)))]
extern crate std;

#[cfg(feature = "standalone")]
pub mod export;

pub mod abi;
pub mod advice;
pub mod aio;
pub mod capi;
pub mod dedup;
pub mod direct;
#[cfg(test)]
pub mod fault;
pub mod hooks;
pub mod huge;
pub mod parallel;
pub mod pieces;
pub mod probe;
pub mod read_all;
pub mod reader;
pub mod records;
pub mod split;
pub mod thread;
pub mod uring;

use core::sync::atomic::AtomicBool;

use abi::{Options, Outcome, Strategy, OPTIONS_V1};
use dedup::Dedup;
use direct::DirectMode;
use hooks::Hooks;
use pie_sys::fd::{AsFd, BorrowedFd};
use pie_sys::Errno;
use probe::cached_percent;
use reader::{read_share, Prepare, ReadCtx};
use records::{Cursor, Records};
use thread::TidSource;

/// Default readahead window of the prefetch strategy.
pub const DEFAULT_PREFETCH_WINDOW: u64 = 64 << 20;
/// Below this many bytes a thread costs more than it saves.
pub const PARALLEL_MIN_BYTES: u64 = 64 << 20;
/// Bytes that make one more thread worth starting (`auto`).
pub const BYTES_PER_WORKER: u64 = 32 << 20;

/// Why a restore failed: the error, the record and the pages-file offset.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Failure {
    pub errno: Errno,
    pub record: usize,
    pub offset: i64,
}

impl Failure {
    pub const fn new(errno: Errno, record: usize, offset: i64) -> Failure {
        Failure { errno, record, offset }
    }

    /// A share that stopped because another one failed.
    pub fn is_cancel(&self) -> bool {
        self.errno == Errno::ECANCELED
    }

    /// Of the failures of one restore, keep in `kept` the one to report: a real failure
    /// before a cancellation (which only echoes another share's failure), then the
    /// earliest in the stream, by record and offset (shares and completions end in any
    /// order).
    pub fn keep(kept: &mut Option<Failure>, f: Failure) {
        let better = match *kept {
            None => true,
            Some(cur) => match (cur.is_cancel(), f.is_cancel()) {
                (true, false) => true,
                (false, true) => false,
                _ => (f.record, f.offset) < (cur.record, cur.offset),
            },
        };
        if better {
            *kept = Some(f);
        }
    }
}

/// Read every record's bytes from `fd` into the memory its iovecs name.
///
/// Returns what ran in `Outcome` either way; `Err` carries the first failure.
pub fn restore(fd: impl AsFd, records: &Records, opts: &Options) -> (Result<(), Failure>, Outcome) {
    restore_in(fd.as_fd(), records, opts, &huge::Policy::all(), Hooks::none())
}

/// [`restore`], with `FLAG_HUGE_COLLAPSE`'s extents limited by `policy` (which also
/// counts what became of them).
pub fn restore_with(
    fd: impl AsFd,
    records: &Records,
    opts: &Options,
    policy: &huge::Policy<'_>,
) -> (Result<(), Failure>, Outcome) {
    restore_in(fd.as_fd(), records, opts, policy, Hooks::none())
}

/// [`restore`] with faults injected (test builds).
#[cfg(test)]
pub fn restore_with_faults(
    fd: impl AsFd,
    records: &Records,
    opts: &Options,
    faults: &fault::Faults,
    policy: &huge::Policy<'_>,
) -> (Result<(), Failure>, Outcome) {
    restore_in(fd.as_fd(), records, opts, policy, Hooks::with(faults))
}

fn restore_in(
    fd: BorrowedFd<'_>,
    records: &Records,
    opts: &Options,
    policy: &huge::Policy<'_>,
    hooks: Hooks<'_>,
) -> (Result<(), Failure>, Outcome) {
    let mut out = Outcome::empty();
    let (result, bytes) = match run(fd, records, opts, policy, &mut out, hooks) {
        Ok(bytes) => (Ok(()), bytes),
        Err(f) => {
            out.record = f.record as i64;
            out.offset = f.offset;
            (Err(f), 0)
        }
    };
    out.bytes = bytes;
    (result, out)
}

fn run(
    fd: BorrowedFd<'_>,
    records: &Records,
    opts: &Options,
    policy: &huge::Policy<'_>,
    out: &mut Outcome,
    hooks: Hooks<'_>,
) -> Result<u64, Failure> {
    if opts.version != OPTIONS_V1 || (opts.size as usize) < core::mem::size_of::<Options>() {
        return Err(Failure::new(Errno::EINVAL, 0, -1));
    }
    let strategy = Strategy::from_raw(opts.strategy).ok_or(Failure::new(Errno::EINVAL, 0, -1))?;
    if opts.flags & !abi::FLAGS_KNOWN != 0 {
        return Err(Failure::new(Errno::EINVAL, 0, -1));
    }
    let totals = records.validate()?;
    let abort = AtomicBool::new(false);
    // Which extents go through a huge page: planned once, before any read. Without the
    // plan (no mapping for it, THP `never`, an old kernel) every page is 4 KiB.
    let plan = if opts.flags & abi::FLAG_HUGE_COLLAPSE != 0 && huge::available() {
        huge::Plan::new(records, totals.iovs, policy, hooks).ok()
    } else {
        None
    };
    let mut ctx = ReadCtx {
        fd,
        dedup: Dedup::new(opts.dedup_chunk),
        prefetch_window: 0,
        abort: &abort,
        direct: None,
        prep: Prepare {
            populate: opts.flags & abi::FLAG_POPULATE != 0,
            huge: plan.as_ref(),
        },
        hooks,
    };
    let workers = if opts.workers == 0 {
        auto_workers(totals.bytes)
    } else {
        opts.workers as usize
    };
    let auto = strategy == Strategy::Auto;
    let cached = if auto {
        cached_percent(fd, records, totals.bytes)
    } else {
        100
    };
    // Pre-faulting (FLAG_POPULATE) stays the caller's choice: it helped on 2 CPUs
    // (restore-bench: 1.2-1.8x on 2-4 GiB) and cost 4x on 16 (8 GiB, H100 host).
    if opts.flags & abi::FLAG_HUGEPAGES != 0 {
        // Before any read and for the whole destination: advice per batch split VMAs.
        advice::advise_hugepages(records);
    }
    let fallback = choose_threads(totals.bytes, workers, cached, totals.aligned);
    let mut strategy = match strategy {
        Strategy::Auto => choose(totals.bytes, workers, cached, totals.aligned, probe::threads_refused),
        s => s,
    };

    // The strategy that runs after fallbacks; each falls back to the next one down.
    let mut ran;
    let result = loop {
        ran = strategy;
        break match strategy {
            Strategy::IoUring => match uring::read_uring_on_thread(
                records,
                fd,
                opts.dedup_chunk,
                ctx.prep,
                &mut TidSource::above(opts.max_pid),
                hooks,
            ) {
                Ok(r) => {
                    out.workers = 1;
                    r
                }
                // No io_uring here (ENOSYS, or EPERM from kernel.io_uring_disabled).
                Err(_) => {
                    ran = Strategy::Prefetch;
                    serial(records, &mut ctx, opts, out)
                }
            },
            Strategy::Direct => {
                // Only whole pages can go around the page cache.
                let direct = if totals.aligned {
                    DirectMode::enable(fd).ok()
                } else {
                    None
                };
                if direct.is_none() {
                    ran = Strategy::Parallel;
                }
                let dctx = ReadCtx {
                    direct: direct.as_ref(),
                    ..ctx
                };
                let r = parallel(records, totals.bytes, workers, &dctx, opts, out, &mut ran);
                if direct.as_ref().is_some_and(|d| !d.is_on()) {
                    // O_DIRECT was refused mid-way: the rest went through the page cache.
                    ran = Strategy::Parallel;
                }
                r
            }
            Strategy::Aio | Strategy::AioDirect => match read_aio(strategy, records, &ctx, totals.aligned, &mut ran) {
                Some(r) => {
                    out.workers = 1;
                    r
                }
                // No AIO context (ENOSYS without CONFIG_AIO, EAGAIN past fs.aio-max-nr):
                // what `auto` would have chosen without aio, or else CRIU's loop.
                None if auto && fallback != strategy => {
                    strategy = fallback;
                    continue;
                }
                None => {
                    ran = Strategy::Serial;
                    out.workers = 1;
                    read_share(records, Cursor::default(), records.end(), &ctx)
                }
            },
            Strategy::Parallel => parallel(records, totals.bytes, workers, &ctx, opts, out, &mut ran),
            Strategy::Prefetch | Strategy::Serial | Strategy::Auto => serial(records, &mut ctx, opts, out),
        };
    };
    if ran == Strategy::Auto {
        ran = Strategy::Prefetch;
    }
    out.strategy = ran as u32;
    result
}

/// `aio` or `aio-direct`, O_DIRECT with `direct`'s alignment rule and EINVAL fall-back;
/// `None` if no AIO context could be had. Sets `ran` to `aio` where it read buffered.
fn read_aio(
    strategy: Strategy,
    records: &Records,
    ctx: &ReadCtx<'_>,
    aligned: bool,
    ran: &mut Strategy,
) -> Option<Result<u64, Failure>> {
    let direct = if strategy == Strategy::AioDirect && aligned {
        DirectMode::enable(ctx.fd).ok()
    } else {
        None
    };
    let actx = aio::AioCtx {
        fd: ctx.fd,
        dedup: ctx.dedup,
        direct: direct.as_ref(),
        prep: ctx.prep,
        hooks: ctx.hooks,
    };
    let r = aio::read_aio(records, &actx).ok()?;
    if direct.as_ref().is_none_or(|d| !d.is_on()) {
        // Buffered from the start, or O_DIRECT refused mid-way.
        *ran = Strategy::Aio;
    }
    Some(r)
}

fn serial(records: &Records, ctx: &mut ReadCtx<'_>, opts: &Options, out: &mut Outcome) -> Result<u64, Failure> {
    if Strategy::from_raw(opts.strategy) != Some(Strategy::Serial) {
        ctx.prefetch_window = if opts.prefetch_window == 0 {
            DEFAULT_PREFETCH_WINDOW
        } else {
            opts.prefetch_window
        };
    }
    out.workers = 1;
    read_share(records, Cursor::default(), records.end(), ctx)
}

fn parallel(
    records: &Records,
    bytes: u64,
    workers: usize,
    ctx: &ReadCtx<'_>,
    opts: &Options,
    out: &mut Outcome,
    ran: &mut Strategy,
) -> Result<u64, Failure> {
    let mut tids = TidSource::above(opts.max_pid);
    let run = parallel::read_parallel(records, bytes, workers, ctx, &mut tids);
    out.workers = run.threads;
    if run.threads == 1 && workers > 1 {
        // No worker could start (no TID, no stack): what ran was the serial loop.
        *ran = Strategy::Serial;
    }
    run.result
}

/// `auto`: the strategy for `bytes` with `workers` threads, `cached` percent of the image
/// in the page cache and offsets aligned for O_DIRECT or not; `threads_refused` says
/// whether worker threads cannot be had at all (asked only where it matters).
///
/// Mostly on disk and aligned, with few threads to share the reads (or none to be had,
/// as under container seccomp profiles that refuse clone3), upstream's O_DIRECT AIO
/// window beat the threads here (restore-bench, 1 GiB cold, 2 CPUs: 0.54-0.80 s against
/// `direct`'s 0.65-0.85 s; see the README). Elsewhere as [`choose_threads`].
pub fn choose(
    bytes: u64,
    workers: usize,
    cached: u32,
    aligned: bool,
    threads_refused: impl FnOnce() -> bool,
) -> Strategy {
    let cold = cached < COLD_PERCENT && aligned;
    if cold && bytes >= PARALLEL_MIN_BYTES && (workers <= AIO_MAX_WORKERS || threads_refused()) {
        Strategy::AioDirect
    } else {
        choose_threads(bytes, workers, cached, aligned)
    }
}

/// Up to this many threads, `auto` reads a cold aligned image with `aio-direct`.
pub const AIO_MAX_WORKERS: usize = 2;

/// `auto` without aio: what it chooses where aio does not win, and where no AIO context
/// can be had.
pub fn choose_threads(bytes: u64, workers: usize, cached: u32, aligned: bool) -> Strategy {
    if bytes < PARALLEL_MIN_BYTES || workers < 2 {
        // One thread: readahead keeps the disk busy while it copies.
        Strategy::Prefetch
    } else if cached < COLD_PERCENT && aligned {
        // Mostly on disk: straight into memory, no page-cache copy, no doubled memory.
        Strategy::Direct
    } else {
        Strategy::Parallel
    }
}

/// Below this share of the image in the page cache, `auto` reads around the cache.
pub const COLD_PERCENT: u32 = 50;

/// One thread a CPU this task may run on, but no more than the bytes make worthwhile.
pub fn auto_workers(bytes: u64) -> usize {
    let cpus = pie_sys::sched::cpus_allowed().unwrap_or(1).max(1);
    let by_size = (bytes / BYTES_PER_WORKER).max(1) as usize;
    cpus.min(by_size).min(parallel::MAX_WORKERS)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod huge_tests;

#[cfg(test)]
mod split_props;
