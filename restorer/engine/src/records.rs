//! A checked view of CRIU's packed `restore_vma_io` records, and positions inside them.
//!
//! The layout and the walk are [`vma_io`]'s; this view adds what the engine reads the
//! records as: iovecs that name the task's memory.

use vma_io::{RecordBytes, Walk, RECORD_ALIGN};

use super::direct::DIRECT_ALIGN;
use super::Failure;
use pie_sys::fs::IoVec;
use pie_sys::Errno;

// The engine reads a record's iovecs in place, as the kernel's iovecs.
const _: () = assert!(core::mem::size_of::<IoVec>() == vma_io::IOVEC_SIZE);
const _: () = assert!(core::mem::align_of::<IoVec>() <= RECORD_ALIGN);

/// `count` records packed back to back in the `len` bytes at `base`.
#[derive(Clone, Copy)]
pub struct Records {
    base: *const u8,
    len: usize,
    count: usize,
}

/// One record: its index, its pages-file offset and its iovecs.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    pub index: usize,
    /// Byte offset of the record from the start of the area.
    pub at: usize,
    pub off: i64,
    pub iovs: &'a [IoVec],
}

impl Record<'_> {
    /// Bytes the record reads (checked by [`Records::validate`] not to overflow).
    pub fn len(&self) -> u64 {
        self.iovs.iter().map(|v| v.len as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A position in the record stream: record `index` (at byte `at` of the area), `skip`
/// bytes into what it reads. `index == count` is the end.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Cursor {
    pub index: usize,
    pub at: usize,
    pub skip: u64,
}

/// What a validated record area holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Totals {
    pub bytes: u64,
    pub iovs: u64,
    /// Every offset, length and address is a multiple of [`DIRECT_ALIGN`] (O_DIRECT can
    /// read them).
    pub aligned: bool,
}

impl Records {
    /// View `count` records in the `len` bytes at `base`.
    ///
    /// Nothing is read here: [`validate`](Self::validate) walks the area, reading each
    /// header once inside the `len` bytes, and rejects what is not well formed.
    ///
    /// # Safety
    /// `base` must be readable for `len` bytes for the lifetime of the view, and not
    /// written while it is used; the iovecs of the records must name memory the restore
    /// may write.
    pub unsafe fn new(base: *const u8, len: usize, count: usize) -> Records {
        Records { base, len, count }
    }

    /// View `count` records at `base` whose byte length the caller was not given (CRIU
    /// hands its restorer `vma_ios` and `vma_ios_n` only): the length comes from the
    /// headers, as [`vma_io::derived_len`] sums them.
    ///
    /// # Safety
    /// As [`new`](Self::new), and `base` must point to `count` headers each followed by
    /// its iovecs, as CRIU's restorer trusts them to.
    pub unsafe fn from_count(base: *const u8, count: usize) -> Records {
        let len = if count == 0 || Self::misplaced(base) {
            // Nothing to read, or nothing `validate` would read: it fails first.
            0
        } else {
            // SAFETY: the caller's contract.
            unsafe { vma_io::derived_len(base, count) }
        };
        Records { base, len, count }
    }

    fn misplaced(base: *const u8) -> bool {
        base.is_null() || !(base as usize).is_multiple_of(RECORD_ALIGN)
    }

    pub fn count(&self) -> usize {
        self.count
    }

    fn bytes(&self) -> &[u8] {
        if self.base.is_null() {
            return &[];
        }
        // SAFETY: the constructor's contract makes `len` bytes at `base` readable and
        // unchanging while the view lives.
        unsafe { core::slice::from_raw_parts(self.base, self.len) }
    }

    /// The engine's view of a record the walk found well formed.
    fn record<'a>(&self, r: RecordBytes<'a>) -> Record<'a> {
        // SAFETY: the walk found `r.iovs` inside the area, a whole number of 16-byte
        // iovecs; the area is 8-aligned (checked before any walk that yields records,
        // below) and so is every record in it; any bytes are a valid IoVec.
        let iovs = unsafe { core::slice::from_raw_parts(r.iovs.as_ptr() as *const IoVec, r.iov_count()) };
        Record {
            index: r.index,
            at: r.at,
            off: r.off,
            iovs,
        }
    }

    /// Walk every record once: reject a misplaced area, headers outside it, counts of
    /// iovecs outside 1 to `IOV_MAX`, negative offsets and totals that overflow, and sum
    /// what they read.
    pub fn validate(&self) -> Result<Totals, Failure> {
        if self.count > 0 && Self::misplaced(self.base) {
            return Err(Failure::new(Errno::EINVAL, 0, -1));
        }
        let mut t = Totals {
            bytes: 0,
            iovs: 0,
            aligned: true,
        };
        for r in vma_io::walk(self.bytes(), self.count) {
            let r = r.map_err(|m| Failure::new(Errno::EINVAL, m.index(), m.off().unwrap_or(-1)))?;
            let (index, off) = (r.index, r.off);
            if off < 0 {
                return Err(Failure::new(Errno::EINVAL, index, off));
            }
            let rec = self.record(r);
            let mut len: u64 = 0;
            t.aligned &= (off as u64).is_multiple_of(DIRECT_ALIGN);
            for v in rec.iovs {
                t.aligned &= ((v.base as usize | v.len) as u64).is_multiple_of(DIRECT_ALIGN);
                len = match len.checked_add(v.len as u64) {
                    Some(l) if l <= i64::MAX as u64 => l,
                    _ => return Err(Failure::new(Errno::EOVERFLOW, index, off)),
                };
            }
            if (off as u64).checked_add(len).is_none_or(|e| e > i64::MAX as u64) {
                return Err(Failure::new(Errno::EOVERFLOW, index, off));
            }
            t.bytes = t
                .bytes
                .checked_add(len)
                .ok_or(Failure::new(Errno::EOVERFLOW, index, off))?;
            t.iovs += rec.iovs.len() as u64;
        }
        Ok(t)
    }

    /// Iterate the records from `from` (a cursor's index and byte position). The
    /// iteration stops at the first record that is not well formed: only a validated
    /// area is read whole.
    pub fn iter_from(&self, from: Cursor) -> RecordIter<'_> {
        let walk = if Self::misplaced(self.base) {
            Walk::resume(&[], 0, 0, 0)
        } else {
            Walk::resume(self.bytes(), self.count, from.index, from.at)
        };
        RecordIter { records: self, walk }
    }

    /// The end cursor.
    pub fn end(&self) -> Cursor {
        let mut at = 0;
        for r in self.iter_from(Cursor::default()) {
            at = r.at + vma_io::rio_size(r.iovs.len());
        }
        Cursor {
            index: self.count,
            at,
            skip: 0,
        }
    }
}

/// Iterator over records, in order.
pub struct RecordIter<'a> {
    records: &'a Records,
    walk: Walk<'a>,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let r = self.walk.next()?.ok()?;
        Some(self.records.record(r))
    }
}
