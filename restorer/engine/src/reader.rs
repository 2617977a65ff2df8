//! Reading one share of the record stream into memory: CRIU's `preadv` loop, with its
//! auto-dedup and an optional readahead window.

use core::sync::atomic::{AtomicBool, Ordering};

use super::dedup::Dedup;
use super::direct::DirectMode;
use super::hooks::Hooks;
use super::huge::Plan;
use super::pieces::walk_share;
use super::read_all::{read_all, Stop};
use super::records::{Cursor, Records};
use super::Failure;
use pie_sys::fd::BorrowedFd;
use pie_sys::fs::{self, IoVec};
use pie_sys::Errno;
use vma_io::PAGE_SIZE;

/// EAGAIN retries before giving up (a regular file only says EAGAIN under RWF_NOWAIT or
/// a broken filesystem; never spin forever).
const EAGAIN_RETRIES: u32 = 1 << 16;

/// How a share is read.
pub struct ReadCtx<'a> {
    pub fd: BorrowedFd<'a>,
    /// Auto-dedup of the restore.
    pub dedup: Dedup,
    /// Keep this many bytes read ahead of the cursor with `readahead`; 0 = off.
    pub prefetch_window: u64,
    /// Set by any share that failed: the others stop at their next read.
    pub abort: &'a AtomicBool,
    /// The fd is in O_DIRECT mode: an EINVAL read falls back to buffered reads.
    pub direct: Option<&'a DirectMode<'a>>,
    /// What is done to a batch's destination before it is read into.
    pub prep: Prepare<'a>,
    /// The fault points (nothing outside test builds).
    pub hooks: Hooks<'a>,
}

/// Readahead state of one reader.
struct Prefetch {
    window: u64,
    start: i64,
    end: i64,
}

impl Prefetch {
    /// Make sure `[off, off + window/2)` has been asked for; ask for a whole window.
    fn ensure(&mut self, fd: BorrowedFd<'_>, off: i64) {
        if self.window == 0 {
            return;
        }
        let half = (self.window / 2) as i64;
        if off >= self.start && off + half <= self.end {
            return;
        }
        let from = if off >= self.start && off < self.end {
            self.end
        } else {
            off
        };
        let to = off + self.window as i64;
        if fs::readahead(fd, from, (to - from) as usize).is_err() {
            // Not a regular file, or no readahead: the reads work all the same.
            self.window = 0;
            return;
        }
        self.start = off;
        self.end = to;
    }
}

/// Read the share `[from, to)` of `records`. Returns the bytes read.
pub fn read_share(records: &Records, from: Cursor, to: Cursor, ctx: &ReadCtx<'_>) -> Result<u64, Failure> {
    let mut pf = Prefetch {
        window: ctx.prefetch_window,
        start: 0,
        end: 0,
    };
    // Bytes per read: auto-dedup bounds them; so does prefetch, to stay behind the window.
    let mut limit = ctx.dedup.limit(u64::MAX);
    if pf.window != 0 {
        limit = limit.min((pf.window / 4).max(PAGE_SIZE as u64));
    }
    walk_share(records, from, to, limit, |index, batch, off| {
        if ctx.abort.load(Ordering::Relaxed) {
            return Err(Failure::new(Errno::ECANCELED, index, off));
        }
        pf.ensure(ctx.fd, off);
        ctx.prep.before_read(batch);
        let got = read_fully(ctx, batch, off).map_err(|(e, at)| Failure::new(e, index, at))?;
        ctx.dedup.punch(ctx.fd, off, got as i64);
        Ok(())
    })
}

/// `preadv` until every byte of `iov` is read, advancing over short reads and retrying
/// EINTR and EAGAIN. End of file before the last byte is `ENODATA`. An error comes with
/// the file offset of the read that failed.
fn read_fully(ctx: &ReadCtx<'_>, iov: &mut [IoVec], off: i64) -> Result<u64, (Errno, i64)> {
    let direct = ctx.direct;
    let mut again = 0;
    let mut buffered_again = false;
    let read = |iov: &[IoVec], off: i64| {
        ctx.hooks.read(iov, direct, |iov| {
            // SAFETY: the iovecs lie inside the caller's records, which the engine's
            // caller vouches are writable destinations.
            unsafe { fs::preadv_raw(ctx.fd, iov, off) }
        })
    };
    let retry = |e: Errno| match e {
        Errno::EAGAIN if again < EAGAIN_RETRIES => {
            again += 1;
            true
        }
        // O_DIRECT refused this read: the same read again, buffered, once. Another
        // worker may have switched the fd back while this read was in the kernel, so
        // O_DIRECT being off already is no reason to give up.
        e if !buffered_again && direct.is_some_and(|d| d.fall_back(e)) => {
            buffered_again = true;
            true
        }
        _ => false,
    };
    read_all(iov, off, read, retry).map_err(|s| match s.why {
        Stop::Eof => (Errno::ENODATA, s.off),
        Stop::Failed(e) => (e, s.off),
    })
}

/// What is done to a batch's destination just before it is read into: pre-faulting
/// (`FLAG_POPULATE`) and huge pages without advice (`FLAG_HUGE_COLLAPSE`,
/// [`super::huge`]). Huge-page advice (`FLAG_HUGEPAGES`) is given once, for the whole
/// destination, before any read ([`super::advice`]).
#[derive(Clone, Copy, Default)]
pub struct Prepare<'a> {
    /// Pre-fault each batch with MADV_POPULATE_WRITE.
    pub populate: bool,
    /// The huge-page plan of the restore, if it collapses extents.
    pub huge: Option<&'a Plan<'a>>,
}

impl Prepare<'_> {
    /// Best effort: a kernel without MADV_POPULATE_WRITE or MADV_COLLAPSE leaves the
    /// read as it was.
    pub fn before_read(&self, batch: &[IoVec]) {
        if let Some(plan) = self.huge {
            plan.before_read(batch);
        }
        if self.populate {
            populate(batch);
        }
    }
}

fn populate(batch: &[IoVec]) {
    use pie_sys::mm;
    for v in batch {
        let (start, end) = (v.base as usize, v.base as usize + v.len);
        let (ps, pe) = (start / PAGE_SIZE * PAGE_SIZE, end.next_multiple_of(PAGE_SIZE));
        // SAFETY: destination memory the caller handed over for writing; populating
        // writes nothing the read will not overwrite (whole pages, zero-filled if fresh).
        let _ = unsafe { mm::madvise(ps as *mut u8, pe - ps, mm::MadviseAdvice::POPULATE_WRITE) };
    }
}
