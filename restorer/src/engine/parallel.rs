//! The parallel strategy: the stream split by bytes into shares, one a thread; the
//! caller's thread reads the first share and any share whose thread could not start.

use core::sync::atomic::AtomicU32;

use super::reader::{read_share, ReadCtx};
use super::records::{Cursor, Records};
use super::split::split;
use super::thread::{self, TidSource};
use super::Failure;

/// The most threads one restore uses, the caller's included.
pub const MAX_WORKERS: usize = 64;

/// A share and, once read, what came of it.
struct Job<'a> {
    records: &'a Records,
    from: Cursor,
    to: Cursor,
    ctx: &'a ReadCtx<'a>,
    result: Result<u64, Failure>,
}

impl Job<'_> {
    fn run(&mut self) {
        self.result = read_share(self.records, self.from, self.to, self.ctx);
        if self.result.is_err() {
            self.ctx.abort.store(true, core::sync::atomic::Ordering::Relaxed);
        }
    }
}

extern "C" fn worker_entry(arg: *mut u8) -> i32 {
    // SAFETY: `arg` is the Job this worker was given; nobody else touches it until join.
    let job = unsafe { &mut *(arg as *mut Job<'_>) };
    job.run();
    0
}

/// What a parallel read did.
pub struct ParallelRun {
    pub result: Result<u64, Failure>,
    /// Threads that read, the caller's included.
    pub threads: u32,
}

/// Read `records` (`total` bytes) with up to `want` threads.
pub fn read_parallel(
    records: &Records,
    total: u64,
    want: usize,
    ctx: &ReadCtx<'_>,
    tids: &mut TidSource,
) -> ParallelRun {
    let n = want.clamp(1, MAX_WORKERS);
    let mut cuts = [Cursor::default(); MAX_WORKERS + 1];
    split(records, total, &mut cuts[..=n]);

    let mut jobs: [Option<Job<'_>>; MAX_WORKERS] = [const { None }; MAX_WORKERS];
    for (k, job) in jobs.iter_mut().enumerate().take(n) {
        *job = Some(Job {
            records,
            from: cuts[k],
            to: cuts[k + 1],
            ctx,
            result: Ok(0),
        });
    }
    let tid_words: [AtomicU32; MAX_WORKERS] = [const { AtomicU32::new(0) }; MAX_WORKERS];
    let mut threads: [Option<thread::Thread<'_>>; MAX_WORKERS] = [const { None }; MAX_WORKERS];

    let mut spawn_ok = true;
    for k in 1..n {
        if !spawn_ok {
            break;
        }
        let job = jobs[k].as_mut().map(|j| j as *mut Job<'_> as *mut u8);
        let Some(arg) = job else { continue };
        // SAFETY: the job and its borrows live until the joins below; the reader uses
        // no thread-local storage and does not unwind (panic=abort in the blob).
        match unsafe { thread::spawn(worker_entry, arg, &tid_words[k], tids, ctx.hooks) } {
            Ok(t) => threads[k] = Some(t),
            // No thread (no memory for a stack, no TID): this share is read below.
            Err(_) => spawn_ok = false,
        }
    }
    let mut started = 1u32;
    for k in 0..n {
        if k == 0 || threads[k].is_none() {
            if let Some(job) = jobs[k].as_mut() {
                job.run();
            }
        } else {
            started += 1;
        }
    }
    let mut lingering = None;
    for t in threads.iter_mut().take(n) {
        if let Some(t) = t.take() {
            if let Err(e) = t.join() {
                lingering.get_or_insert(Failure::new(e, 0, -1));
            }
        }
    }

    let mut bytes = 0u64;
    let mut failure: Option<Failure> = None;
    for job in jobs.iter().take(n).flatten() {
        match job.result {
            Ok(b) => bytes += b,
            Err(f) => Failure::keep(&mut failure, f),
        }
    }
    // A read's failure first; else a worker still in the thread group fails the call.
    let failure = failure.or(lingering);
    ParallelRun {
        result: failure.map_or(Ok(bytes), Err),
        threads: started,
    }
}
