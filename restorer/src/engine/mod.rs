//! The page-restore engine: CRIU's `vma_ios` loop (read the dumped pages from the pages
//! image into the task's memory), made fast.
//!
//! Input is exactly what CRIU's restorer gets: the pages-image fd and the packed
//! `restore_vma_io` records. Output is all or nothing: `Ok` means every byte was read;
//! an error names the record and file offset that failed. Short reads are advanced over,
//! EINTR/EAGAIN retried, end of file before the last byte is an error (`ENODATA`).

pub mod abi;
pub mod capi;
pub mod parallel;
pub mod reader;
pub mod records;
pub mod split;
pub mod thread;

use core::sync::atomic::AtomicBool;

use crate::sys::{process, Errno};
use abi::{Options, Outcome, Strategy, OPTIONS_V1};
use reader::{read_share, ReadCtx};
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
}

/// Read every record's bytes from `fd` into the memory its iovecs name.
///
/// Returns what ran in `Outcome` either way; `Err` carries the first failure.
pub fn restore(fd: i32, records: &Records, opts: &Options) -> (Result<(), Failure>, Outcome) {
    let mut out = Outcome::empty();
    let fail = |f: Failure, mut out: Outcome| {
        out.record = f.record as i64;
        out.offset = f.offset;
        (Err(f), out)
    };
    if opts.version != OPTIONS_V1 || (opts.size as usize) < core::mem::size_of::<Options>() {
        return fail(Failure::new(Errno::EINVAL, 0, -1), out);
    }
    let Some(strategy) = Strategy::from_raw(opts.strategy) else {
        return fail(Failure::new(Errno::EINVAL, 0, -1), out);
    };
    let totals = match records.validate() {
        Ok(t) => t,
        Err(f) => return fail(f, out),
    };
    let abort = AtomicBool::new(false);
    let mut ctx = ReadCtx { fd, dedup_chunk: opts.dedup_chunk, prefetch_window: 0, abort: &abort };

    let (strategy, workers) = match strategy {
        Strategy::Auto => choose(totals.bytes, opts.workers),
        s => (s, opts.workers),
    };
    out.strategy = strategy as u32;
    let result = match strategy {
        Strategy::Parallel => {
            let want = if workers == 0 { auto_workers(totals.bytes) } else { workers as usize };
            let mut tids = TidSource::above(opts.max_pid);
            let run = parallel::read_parallel(records, totals.bytes, want, &ctx, &mut tids);
            out.workers = run.threads;
            if run.threads == 1 && want > 1 {
                // No worker could start: what ran was the serial loop.
                out.strategy = Strategy::Serial as u32;
            }
            run.result
        }
        s => {
            if s == Strategy::Prefetch {
                ctx.prefetch_window =
                    if opts.prefetch_window == 0 { DEFAULT_PREFETCH_WINDOW } else { opts.prefetch_window };
            }
            out.workers = 1;
            read_share(records, Cursor::default(), records.end(), &ctx)
        }
    };
    match result {
        Ok(bytes) => {
            out.bytes = bytes;
            (Ok(()), out)
        }
        Err(f) => fail(f, out),
    }
}

/// `auto`: the strategy and thread count for `bytes` on the CPUs this task may use.
pub fn choose(bytes: u64, workers: u32) -> (Strategy, u32) {
    let threads = if workers == 0 { auto_workers(bytes) } else { workers as usize };
    if threads > 1 && bytes >= PARALLEL_MIN_BYTES {
        (Strategy::Parallel, threads as u32)
    } else {
        (Strategy::Prefetch, 1)
    }
}

/// One thread a CPU this task may run on, but no more than the bytes make worthwhile.
pub fn auto_workers(bytes: u64) -> usize {
    let cpus = process::cpus_allowed().unwrap_or(1).max(1);
    let by_size = (bytes / BYTES_PER_WORKER).max(1) as usize;
    cpus.min(by_size).min(parallel::MAX_WORKERS)
}

#[cfg(test)]
mod tests;
