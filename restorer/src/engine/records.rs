//! A checked view of CRIU's packed `restore_vma_io` records, and positions inside them.

use super::abi::{rio_size, RestoreVmaIo};
use super::Failure;
use crate::sys::fs::IoVec;
use crate::sys::Errno;

/// `count` records packed back to back from `base`.
#[derive(Clone, Copy)]
pub struct Records {
    base: *const u8,
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
    /// Every offset, length and address is a multiple of 4 KiB (O_DIRECT can read them).
    pub aligned: bool,
}

impl Records {
    /// View `count` records at `base`.
    ///
    /// # Safety
    /// `base` must point to `count` well-formed records (each header followed by its
    /// `nr_iovs` iovecs, 8-byte aligned), readable for the lifetime of the view, and not
    /// written while it is used.
    pub unsafe fn new(base: *const u8, count: usize) -> Records {
        Records { base, count }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// The record at byte `at` of the area, which is record `index`.
    fn record_at(&self, index: usize, at: usize) -> Record<'_> {
        // SAFETY: `at` is the start of record `index` (walked from the base), and the
        // constructor's contract makes the header and its iovecs readable.
        unsafe {
            let hdr = (self.base.add(at) as *const RestoreVmaIo).read();
            let n = hdr.nr_iovs.max(0) as usize;
            let iovs = core::slice::from_raw_parts(self.base.add(at + rio_size(0)) as *const IoVec, n);
            Record {
                index,
                at,
                off: hdr.off,
                iovs,
            }
        }
    }

    /// Walk every record once: reject negative counts or offsets, misalignment and
    /// totals that overflow, and sum what they read.
    pub fn validate(&self) -> Result<Totals, Failure> {
        if self.count > 0 && (self.base.is_null() || !(self.base as usize).is_multiple_of(8)) {
            return Err(Failure::new(Errno::EINVAL, 0, -1));
        }
        let mut t = Totals {
            bytes: 0,
            iovs: 0,
            aligned: true,
        };
        let mut at = 0usize;
        for index in 0..self.count {
            // SAFETY: as in record_at; only the header is read before the count is checked.
            let hdr = unsafe { (self.base.add(at) as *const RestoreVmaIo).read() };
            if hdr.nr_iovs < 0 || hdr.off < 0 {
                return Err(Failure::new(Errno::EINVAL, index, hdr.off));
            }
            let rec = self.record_at(index, at);
            let mut len: u64 = 0;
            t.aligned &= (rec.off as u64).is_multiple_of(4096);
            for v in rec.iovs {
                t.aligned &= (v.base as usize | v.len).is_multiple_of(4096);
                len = match len.checked_add(v.len as u64) {
                    Some(l) if l <= i64::MAX as u64 => l,
                    _ => return Err(Failure::new(Errno::EOVERFLOW, index, rec.off)),
                };
            }
            if (rec.off as u64).checked_add(len).is_none_or(|e| e > i64::MAX as u64) {
                return Err(Failure::new(Errno::EOVERFLOW, index, rec.off));
            }
            t.bytes = t
                .bytes
                .checked_add(len)
                .ok_or(Failure::new(Errno::EOVERFLOW, index, rec.off))?;
            t.iovs += rec.iovs.len() as u64;
            at += rio_size(rec.iovs.len());
        }
        Ok(t)
    }

    /// Iterate the records from `from` (a cursor's index and byte position).
    pub fn iter_from(&self, from: Cursor) -> RecordIter<'_> {
        RecordIter {
            records: self,
            index: from.index,
            at: from.at,
        }
    }

    /// The end cursor.
    pub fn end(&self) -> Cursor {
        let mut at = 0;
        for r in self.iter_from(Cursor::default()) {
            at = r.at + rio_size(r.iovs.len());
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
    index: usize,
    at: usize,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.index >= self.records.count {
            return None;
        }
        let rec = self.records.record_at(self.index, self.at);
        self.index += 1;
        self.at += rio_size(rec.iovs.len());
        Some(rec)
    }
}
