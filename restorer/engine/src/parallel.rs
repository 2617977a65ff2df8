//! The parallel strategy: the stream split by bytes into shares, one a thread; the
//! caller's thread reads the first share and any share whose thread could not start.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::sync::atomic::AtomicU32;

use super::reader::{read_share, ReadCtx};
use super::records::{Cursor, Records};
use super::split::split;
use super::thread::{self, TidSource};
use super::Failure;
use pie_sys::mm;

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

/// The cuts, the jobs and the TID words of one parallel read, in an anonymous mapping of
/// their own rather than on the caller's stack: for 64 workers they are ~8 KiB, a
/// quarter of the 32 KiB stack CRIU runs the restorer on (compel-gen's stack check
/// counts every frame of it).
struct Table<'r> {
    map: mm::AnonMap,
    n: usize,
    jobs_at: usize,
    tids_at: usize,
    _jobs: PhantomData<Job<'r>>,
}

impl<'r> Table<'r> {
    /// Room for `n` workers (1..=MAX_WORKERS), every entry initialised empty.
    fn map(n: usize) -> pie_sys::Result<Table<'r>> {
        let jobs_at = ((n + 1) * size_of::<Cursor>()).next_multiple_of(align_of::<Option<Job<'r>>>());
        let tids_at = (jobs_at + n * size_of::<Option<Job<'r>>>()).next_multiple_of(align_of::<AtomicU32>());
        let map = mm::AnonMap::new(tids_at + n * size_of::<AtomicU32>())?;
        let base = map.as_ptr();
        // SAFETY: the mapping is page-aligned and `len` bytes long; each array starts at
        // an offset aligned for its type and fits before the next.
        unsafe {
            for i in 0..=n {
                base.cast::<Cursor>().add(i).write(Cursor::default());
            }
            for i in 0..n {
                base.add(jobs_at).cast::<Option<Job<'r>>>().add(i).write(None);
                base.add(tids_at).cast::<AtomicU32>().add(i).write(AtomicU32::new(0));
            }
        }
        Ok(Table {
            map,
            n,
            jobs_at,
            tids_at,
            _jobs: PhantomData,
        })
    }

    /// The `n + 1` cuts, the `n` jobs and the `n` TID words.
    fn parts(&mut self) -> (&mut [Cursor], &mut [Option<Job<'r>>], &[AtomicU32]) {
        // SAFETY: three disjoint arrays of the mapping, initialised by `map`, borrowed
        // for as long as the Table is.
        unsafe {
            (
                core::slice::from_raw_parts_mut(self.map.as_ptr().cast::<Cursor>(), self.n + 1),
                core::slice::from_raw_parts_mut(self.map.as_ptr().add(self.jobs_at).cast::<Option<Job<'r>>>(), self.n),
                core::slice::from_raw_parts(self.map.as_ptr().add(self.tids_at).cast::<AtomicU32>(), self.n),
            )
        }
    }
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
    let Ok(mut table) = Table::map(n) else {
        // No memory for the table, so none for threads either: the caller's thread
        // reads it all.
        return ParallelRun {
            result: read_share(records, Cursor::default(), records.end(), ctx),
            threads: 1,
        };
    };
    let (cuts, jobs, tid_words) = table.parts();
    split(records, total, cuts);
    for (k, job) in jobs.iter_mut().enumerate() {
        *job = Some(Job {
            records,
            from: cuts[k],
            to: cuts[k + 1],
            ctx,
            result: Ok(0),
        });
    }
    // Declared after the table: dropped (and so joined) before it.
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
