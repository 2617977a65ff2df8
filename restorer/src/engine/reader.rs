//! Reading one share of the record stream into memory: CRIU's `preadv` loop, with its
//! auto-dedup and an optional readahead window.

use core::sync::atomic::{AtomicBool, Ordering};

use super::direct::DirectMode;
use super::records::{Cursor, Record, Records};
use super::Failure;
use crate::sys::fs::{self, IoVec};
use crate::sys::Errno;
use vma_io::PAGE_SIZE;

/// Iovecs handed to one `preadv`: far below `IOV_MAX`, so a worker's stack stays small.
pub const BATCH: usize = 64;
/// EAGAIN retries before giving up (a regular file only says EAGAIN under RWF_NOWAIT or
/// a broken filesystem; never spin forever).
const EAGAIN_RETRIES: u32 = 1 << 16;

/// How a share is read.
pub struct ReadCtx<'a> {
    pub fd: i32,
    /// Auto-dedup: read at most this many bytes at once and punch them out behind the
    /// read; 0 = off.
    pub dedup_chunk: u64,
    /// Keep this many bytes read ahead of the cursor with `readahead`; 0 = off.
    pub prefetch_window: u64,
    /// Set by any share that failed: the others stop at their next read.
    pub abort: &'a AtomicBool,
    /// The fd is in O_DIRECT mode: an EINVAL read falls back to buffered reads.
    pub direct: Option<&'a DirectMode>,
    /// `FLAG_POPULATE` / `FLAG_HUGEPAGES` of the options.
    pub flags: u32,
    /// Faults the tests inject.
    pub inject: super::Inject<'a>,
}

/// Readahead state of one reader.
struct Prefetch {
    window: u64,
    start: i64,
    end: i64,
}

impl Prefetch {
    /// Make sure `[off, off + window/2)` has been asked for; ask for a whole window.
    fn ensure(&mut self, fd: i32, off: i64) {
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
    let mut limit = u64::MAX;
    if ctx.dedup_chunk != 0 {
        limit = ctx.dedup_chunk;
    }
    if pf.window != 0 {
        limit = limit.min((pf.window / 4).max(PAGE_SIZE as u64));
    }
    walk_share(records, from, to, limit, |index, batch, off| {
        if ctx.abort.load(Ordering::Relaxed) {
            return Err(Failure::new(Errno::ECANCELED, index, off));
        }
        pf.ensure(ctx.fd, off);
        prepare(batch, ctx.flags);
        let got = read_fully(ctx, batch, off).map_err(|(e, at)| Failure::new(e, index, at))?;
        if ctx.dedup_chunk != 0 {
            // Failing to punch costs only disk space, as in CRIU.
            let _ = fs::fallocate(
                ctx.fd,
                fs::FALLOC_FL_KEEP_SIZE | fs::FALLOC_FL_PUNCH_HOLE,
                off,
                got as i64,
            );
        }
        Ok(())
    })
}

/// Walk the share `[from, to)` of `records` as batches of at most [`BATCH`] iovecs and
/// `limit` bytes, each read at one file offset: `each(record index, batch, offset)` gets
/// them in stream order and must consume the whole batch. Returns the bytes walked.
pub fn walk_share(
    records: &Records,
    from: Cursor,
    to: Cursor,
    limit: u64,
    mut each: impl FnMut(usize, &mut [IoVec], i64) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    let mut bytes = 0u64;
    for rec in records.iter_from(from) {
        if rec.index > to.index || (rec.index == to.index && to.skip == 0) {
            break;
        }
        let first = if rec.index == from.index { from.skip } else { 0 };
        let last = if rec.index == to.index { to.skip } else { rec.len() };
        if first < last {
            bytes += walk_record(&rec, first, last, limit, &mut each)?;
        }
    }
    Ok(bytes)
}

/// Walk bytes `[first, last)` of what `rec` reads.
fn walk_record(
    rec: &Record<'_>,
    first: u64,
    last: u64,
    limit: u64,
    each: &mut impl FnMut(usize, &mut [IoVec], i64) -> Result<(), Failure>,
) -> Result<u64, Failure> {
    // Locate `first` among the iovecs.
    let mut i = 0;
    let mut into = first;
    while i < rec.iovs.len() && into >= rec.iovs[i].len as u64 {
        into -= rec.iovs[i].len as u64;
        i += 1;
    }
    let mut off = rec.off + first as i64;
    let mut left = last - first;
    let mut batch = [IoVec {
        base: core::ptr::null_mut(),
        len: 0,
    }; BATCH];
    while left > 0 {
        // Fill a batch from iovec i, `into` bytes in, up to `limit` bytes.
        let mut n = 0;
        let mut want = left.min(limit);
        let (mut j, mut jinto) = (i, into);
        while n < BATCH && want > 0 && j < rec.iovs.len() {
            let v = rec.iovs[j];
            if v.len == 0 {
                j += 1;
                continue;
            }
            let take = (v.len as u64 - jinto).min(want);
            // SAFETY: jinto < v.len, so the pointer stays inside the caller's iovec.
            batch[n] = IoVec {
                base: unsafe { v.base.add(jinto as usize) },
                len: take as usize,
            };
            n += 1;
            want -= take;
            if jinto + take == v.len as u64 {
                j += 1;
                jinto = 0;
            } else {
                jinto += take;
            }
        }
        if n == 0 {
            // The iovecs ran out before `last`: the record contradicts its own length.
            return Err(Failure::new(Errno::EINVAL, rec.index, off));
        }
        let got: u64 = batch[..n].iter().map(|v| v.len as u64).sum();
        each(rec.index, &mut batch[..n], off)?;
        off += got as i64;
        left -= got;
        (i, into) = (j, jinto);
    }
    Ok(last - first)
}

/// `preadv` until every byte of `iov` is read, advancing over short reads and retrying
/// EINTR and EAGAIN. End of file before the last byte is `ENODATA`. An error comes with
/// the file offset of the read that failed.
fn read_fully(ctx: &ReadCtx<'_>, iov: &mut [IoVec], mut off: i64) -> Result<u64, (Errno, i64)> {
    let direct = ctx.direct;
    let mut first = 0;
    let mut total = 0u64;
    let mut again = 0;
    while first < iov.len() {
        // SAFETY: the iovecs lie inside the caller's records, which the engine's caller
        // vouches are writable destinations.
        match unsafe { preadv(ctx, &iov[first..], off) } {
            Ok(0) => return Err((Errno::ENODATA, off)),
            Ok(mut n) => {
                total += n as u64;
                off += n as i64;
                while n > 0 {
                    let v = &mut iov[first];
                    if n >= v.len {
                        n -= v.len;
                        first += 1;
                    } else {
                        // SAFETY: n < v.len, still inside the iovec.
                        v.base = unsafe { v.base.add(n) };
                        v.len -= n;
                        n = 0;
                    }
                }
                while first < iov.len() && iov[first].len == 0 {
                    first += 1;
                }
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) if again < EAGAIN_RETRIES => again += 1,
            // O_DIRECT refused this read: the same read again, buffered.
            Err(e) if direct.is_some_and(|d| d.is_on() && d.fall_back(e)) => {}
            Err(e) => return Err((e, off)),
        }
    }
    Ok(total)
}

/// `preadv`, or in test builds what the injected faults make of it.
///
/// # Safety
/// As [`fs::preadv`].
#[inline(always)]
unsafe fn preadv(ctx: &ReadCtx<'_>, iov: &[IoVec], off: i64) -> crate::sys::Result<usize> {
    #[cfg(test)]
    if let Some(f) = ctx.inject.faults {
        if let Some(e) = f.read() {
            return Err(e);
        }
        if ctx.direct.is_some_and(|d| d.is_on()) && f.direct() {
            return Err(Errno::EINVAL);
        }
        if f.short() {
            let half = [IoVec {
                base: iov[0].base,
                len: (iov[0].len / 2).max(1),
            }];
            // SAFETY: a prefix of the caller's first iovec.
            return unsafe { fs::preadv(ctx.fd, &half, off) };
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { fs::preadv(ctx.fd, iov, off) }
}

/// Advise the destination of a batch before it is read into: huge pages for the
/// 2 MiB-aligned parts, then pre-faulting. Advice is best effort: a kernel that lacks it
/// leaves the read as it was.
pub(super) fn prepare(batch: &[IoVec], flags: u32) {
    use super::abi::{FLAG_HUGEPAGES, FLAG_POPULATE};
    use crate::sys::mm;
    const HUGE: usize = 2 << 20;
    if flags == 0 {
        return;
    }
    for v in batch {
        let (start, end) = (v.base as usize, v.base as usize + v.len);
        if flags & FLAG_HUGEPAGES != 0 {
            let (hs, he) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
            if hs < he {
                // SAFETY: advice on destination memory the caller handed over for writing.
                let _ = unsafe { mm::madvise(hs as *mut u8, he - hs, mm::MADV_HUGEPAGE) };
            }
        }
        if flags & FLAG_POPULATE != 0 {
            let (ps, pe) = (start / PAGE_SIZE * PAGE_SIZE, end.next_multiple_of(PAGE_SIZE));
            // SAFETY: as above; populating writes nothing the read will not overwrite
            // (whole pages of the destination, zero-filled if fresh).
            let _ = unsafe { mm::madvise(ps as *mut u8, pe - ps, mm::MADV_POPULATE_WRITE) };
        }
    }
}
