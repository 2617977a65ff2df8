//! Cutting a share of the record stream into pieces, each read at one file offset: the
//! reader's batches of iovecs and io_uring's requests alike.

use super::records::{Cursor, Record, RecordIter, Records};
use super::Failure;
use pie_sys::fs::IoVec;
use pie_sys::Errno;

/// One piece: where it is read from and what of the batch it filled.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Piece {
    /// Index of the record it belongs to.
    pub record: usize,
    /// Byte position of that record in the area (a [`Cursor`]'s `at`).
    pub at: usize,
    /// Bytes into the record where it starts (a [`Cursor`]'s `skip`).
    pub skip: u64,
    /// Pages-file offset it is read at.
    pub off: i64,
    /// Iovecs of the batch it filled.
    pub iovs: usize,
    /// Bytes it reads.
    pub bytes: u64,
}

/// The share `[from, to)` of a record stream, cut into pieces of at most `limit` bytes
/// and at most a batch's length of iovecs; a piece never spans two records (their file
/// offsets need not continue each other) and holds no empty iovec.
pub struct Pieces<'a> {
    records: RecordIter<'a>,
    from: Cursor,
    to: Cursor,
    limit: u64,
    /// The record being cut, the iovec and the byte in it where the next piece starts,
    /// that piece's file offset and the bytes of the record left to cut.
    rec: Option<Record<'a>>,
    iov: usize,
    into: u64,
    off: i64,
    left: u64,
}

impl<'a> Pieces<'a> {
    pub fn new(records: &'a Records, from: Cursor, to: Cursor, limit: u64) -> Pieces<'a> {
        Pieces {
            records: records.iter_from(from),
            from,
            to,
            limit,
            rec: None,
            iov: 0,
            into: 0,
            off: 0,
            left: 0,
        }
    }

    /// The next record with bytes in the share, set up to be cut; `None` at the end.
    fn next_record(&mut self) -> Option<Record<'a>> {
        loop {
            let rec = self.records.next()?;
            let to = self.to;
            if rec.index > to.index || (rec.index == to.index && to.skip == 0) {
                return None;
            }
            let first = if rec.index == self.from.index {
                self.from.skip
            } else {
                0
            };
            let last = if rec.index == to.index { to.skip } else { rec.len() };
            if first >= last {
                continue;
            }
            // Locate `first` among the iovecs.
            let (mut i, mut into) = (0, first);
            while i < rec.iovs.len() && into >= rec.iovs[i].len as u64 {
                into -= rec.iovs[i].len as u64;
                i += 1;
            }
            (self.iov, self.into) = (i, into);
            self.off = rec.off + first as i64;
            self.left = last - first;
            self.rec = Some(rec);
            return Some(rec);
        }
    }

    /// Fill `batch` with the next piece (`batch` must not be empty); `None` at the end of
    /// the share. A record whose iovecs hold fewer bytes than it reads is an error.
    pub fn next_into(&mut self, batch: &mut [IoVec]) -> Option<Result<Piece, Failure>> {
        let rec = match self.rec {
            Some(r) if self.left > 0 => r,
            _ => self.next_record()?,
        };
        let mut n = 0;
        let mut want = self.left.min(self.limit);
        let (mut j, mut jinto) = (self.iov, self.into);
        while n < batch.len() && want > 0 && j < rec.iovs.len() {
            let v = rec.iovs[j];
            if v.len == 0 {
                j += 1;
                continue;
            }
            let take = (v.len as u64 - jinto).min(want);
            batch[n] = IoVec {
                // SAFETY: jinto < v.len, so the pointer stays inside the caller's iovec.
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
            // The iovecs ran out before the record's end: it contradicts its own length.
            let f = Failure::new(Errno::EINVAL, rec.index, self.off);
            (self.rec, self.to) = (None, Cursor::default());
            return Some(Err(f));
        }
        let bytes: u64 = batch[..n].iter().map(|v| v.len as u64).sum();
        let piece = Piece {
            record: rec.index,
            at: rec.at,
            skip: (self.off - rec.off) as u64,
            off: self.off,
            iovs: n,
            bytes,
        };
        self.off += bytes as i64;
        self.left -= bytes;
        (self.iov, self.into) = (j, jinto);
        Some(Ok(piece))
    }
}

/// Iovecs handed to one `preadv`: far below `IOV_MAX`, so a worker's stack stays small.
pub const BATCH: usize = 64;

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
    let mut batch = [IoVec {
        base: core::ptr::null_mut(),
        len: 0,
    }; BATCH];
    let mut pieces = Pieces::new(records, from, to, limit);
    let mut bytes = 0u64;
    while let Some(p) = pieces.next_into(&mut batch) {
        let p = p?;
        each(p.record, &mut batch[..p.iovs], p.off)?;
        bytes += p.bytes;
    }
    Ok(bytes)
}
