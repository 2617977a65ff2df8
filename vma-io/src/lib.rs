//! CRIU's packed `struct restore_vma_io` records on x86_64: their layout, the limits
//! on them and the checked walk over them, defined once for the restorer's engine (this
//! crate is compiled into the restorer blob: `no_std`, on `pie-sys` alone), the image
//! builder and the benchmarks.
//!
//! A record is a 16-byte header (`i32 nr_iovs`, 4 bytes of padding, `i64 off`, the
//! offset in the pages file) followed by `nr_iovs` iovecs of 16 bytes (`u64 base`,
//! `u64 len`); records are packed back to back, so a record of `n` iovecs takes
//! [`rio_size`]`(n) = 16 + 16 n` bytes and every record of an 8-aligned area starts
//! 8-aligned.

#![no_std]

use core::mem::size_of;

/// Page size of the images and of the restored task (x86_64): the syscall layer's.
pub use pie_sys::mm::PAGE_SIZE;

/// The kernel's limit on iovecs per `preadv` (`UIO_MAXIOV`), and so on iovecs per
/// record: CRIU's restorer hands a record's iovecs to one `preadv`.
pub const IOV_MAX: usize = 1024;

/// Header of one packed record, as `criu/include/restorer.h` lays it out on x86_64:
/// `int nr_iovs; loff_t off; struct iovec iovs[];`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestoreVmaIo {
    pub nr_iovs: i32,
    pub off: i64,
}

/// One iovec of a record, as the kernel's `struct iovec` on x86_64.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawIovec {
    pub base: u64,
    pub len: u64,
}

/// Bytes of a record's header.
pub const HEADER_SIZE: usize = size_of::<RestoreVmaIo>();
/// Bytes of one iovec.
pub const IOVEC_SIZE: usize = size_of::<RawIovec>();
/// Alignment of a record area (that of `loff_t` and of the iovecs' pointers).
pub const RECORD_ALIGN: usize = 8;

const _: () = assert!(HEADER_SIZE == 16 && IOVEC_SIZE == 16);
const _: () = assert!(core::mem::align_of::<RestoreVmaIo>() == RECORD_ALIGN);

/// Size of a record with `n` iovecs (CRIU's `RIO_SIZE`).
pub const fn rio_size(n: usize) -> usize {
    HEADER_SIZE + n * IOVEC_SIZE
}

/// The header at byte `at` of `bytes`, if all of it is there.
pub fn read_header(bytes: &[u8], at: usize) -> Option<RestoreVmaIo> {
    let h = bytes.get(at..at.checked_add(HEADER_SIZE)?)?;
    Some(RestoreVmaIo {
        nr_iovs: i32::from_le_bytes([h[0], h[1], h[2], h[3]]),
        off: i64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
    })
}

/// The iovecs of a record, as `nr_iovs` from its header, if the count is one CRIU's
/// restorer can hand to one `preadv`: 1 to [`IOV_MAX`].
pub fn iov_count(nr_iovs: i32) -> Option<usize> {
    usize::try_from(nr_iovs).ok().filter(|n| (1..=IOV_MAX).contains(n))
}

/// One record of an area: where it is and what its header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordBytes<'a> {
    /// Its index in the area.
    pub index: usize,
    /// Byte offset of its header from the start of the area.
    pub at: usize,
    /// Offset in the pages file.
    pub off: i64,
    /// Its iovecs: `iovs.len() / IOVEC_SIZE` of them, 1 to [`IOV_MAX`].
    pub iovs: &'a [u8],
}

impl<'a> RecordBytes<'a> {
    /// Number of iovecs.
    pub fn iov_count(&self) -> usize {
        self.iovs.len() / IOVEC_SIZE
    }

    /// Byte offset of the next record.
    pub fn next_at(&self) -> usize {
        self.at + HEADER_SIZE + self.iovs.len()
    }

    /// Iovec `k`, read from the bytes.
    pub fn iov(&self, k: usize) -> RawIovec {
        let v = &self.iovs[k * IOVEC_SIZE..(k + 1) * IOVEC_SIZE];
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&v[i..i + 8]);
            u64::from_le_bytes(w)
        };
        RawIovec {
            base: word(0),
            len: word(8),
        }
    }
}

/// Why a record area is not well formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Record `index` at byte `at`: only `got` bytes are left for its header.
    ShortHeader { index: usize, at: usize, got: usize },
    /// Record `index` at byte `at` (pages-file offset `off`) says `nr_iovs`, outside
    /// 1 to [`IOV_MAX`].
    IovCount {
        index: usize,
        at: usize,
        off: i64,
        nr_iovs: i32,
    },
    /// Record `index` at byte `at` (pages-file offset `off`) needs `needed` bytes for
    /// its header and iovecs; only `got` are left.
    ShortIovecs {
        index: usize,
        at: usize,
        off: i64,
        needed: usize,
        got: usize,
    },
}

impl Malformed {
    /// The record that is malformed.
    pub fn index(&self) -> usize {
        match *self {
            Malformed::ShortHeader { index, .. }
            | Malformed::IovCount { index, .. }
            | Malformed::ShortIovecs { index, .. } => index,
        }
    }

    /// The record's pages-file offset, where its header could be read.
    pub fn off(&self) -> Option<i64> {
        match *self {
            Malformed::ShortHeader { .. } => None,
            Malformed::IovCount { off, .. } | Malformed::ShortIovecs { off, .. } => Some(off),
        }
    }
}

/// The checked walk over the first `count` records packed in `bytes`: each header is
/// read once, its iovec count checked and its iovecs found inside `bytes`. The walk
/// ends after the last record or at the first malformed one.
#[derive(Clone, Debug)]
pub struct Walk<'a> {
    bytes: &'a [u8],
    count: usize,
    index: usize,
    at: usize,
}

/// Walk `count` records from the start of `bytes`.
pub fn walk(bytes: &[u8], count: usize) -> Walk<'_> {
    Walk::resume(bytes, count, 0, 0)
}

impl<'a> Walk<'a> {
    /// Walk on from record `index`, whose header is at byte `at` (as a previous walk
    /// found them).
    pub fn resume(bytes: &'a [u8], count: usize, index: usize, at: usize) -> Walk<'a> {
        Walk {
            bytes,
            count,
            index,
            at,
        }
    }

    /// Byte offset of the next record (after the last one: the bytes the records take).
    pub fn at(&self) -> usize {
        self.at
    }
}

impl<'a> Iterator for Walk<'a> {
    type Item = Result<RecordBytes<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.index >= self.count {
            return None;
        }
        let (index, at) = (self.index, self.at);
        // Whatever comes of this record, the walk ends here unless it is well formed.
        self.index = self.count;
        let left = self.bytes.len().saturating_sub(at);
        let Some(h) = read_header(self.bytes, at) else {
            return Some(Err(Malformed::ShortHeader { index, at, got: left }));
        };
        let Some(n) = iov_count(h.nr_iovs) else {
            return Some(Err(Malformed::IovCount {
                index,
                at,
                off: h.off,
                nr_iovs: h.nr_iovs,
            }));
        };
        let needed = rio_size(n);
        if left < needed {
            return Some(Err(Malformed::ShortIovecs {
                index,
                at,
                off: h.off,
                needed,
                got: left,
            }));
        }
        self.index = index + 1;
        self.at = at + needed;
        Some(Ok(RecordBytes {
            index,
            at,
            off: h.off,
            iovs: &self.bytes[at + HEADER_SIZE..at + needed],
        }))
    }
}

/// Bytes that `count` records at `base` take, from their headers alone, for callers
/// that were handed a pointer and a count but no length (CRIU's `vma_ios` and
/// `vma_ios_n`). The sum stops after the first header whose count is out of range, so
/// that a checked [`walk`] of the result reports that record.
///
/// # Safety
/// `base` must point to `count` records as the caller of CRIU's restorer vouches for
/// them: each header readable, followed by its iovecs.
pub unsafe fn derived_len(base: *const u8, count: usize) -> usize {
    let mut at = 0usize;
    for _ in 0..count {
        // SAFETY: the caller's contract makes the header at `at` readable.
        let h = unsafe { core::slice::from_raw_parts(base.add(at), HEADER_SIZE) };
        match read_header(h, 0).and_then(|h| iov_count(h.nr_iovs)) {
            Some(n) => at += rio_size(n),
            None => return at + HEADER_SIZE,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record to pack: `nr_iovs`, offset, iovecs.
    type Rec<'a> = (i32, i64, &'a [(u64, u64)]);

    fn area(records: &[Rec<'_>]) -> ([u64; 32], usize) {
        let mut w = [0u64; 32];
        let mut k = 0;
        for &(nr, off, iovs) in records {
            w[k] = nr as u32 as u64;
            w[k + 1] = off as u64;
            k += 2;
            for &(b, l) in iovs {
                w[k] = b;
                w[k + 1] = l;
                k += 2;
            }
        }
        (w, k * 8)
    }

    fn bytes(w: &[u64; 32]) -> &[u8] {
        // SAFETY: u64 storage read as bytes: any value is a valid byte, u8 aligns to 1.
        unsafe { core::slice::from_raw_parts(w.as_ptr() as *const u8, 32 * 8) }
    }

    #[test]
    fn layout_is_criu_s() {
        assert_eq!(rio_size(0), 16);
        assert_eq!(rio_size(3), 64);
        assert_eq!(core::mem::offset_of!(RestoreVmaIo, off), 8);
        assert_eq!(core::mem::offset_of!(RawIovec, len), 8);
    }

    #[test]
    fn walks_well_formed_records() {
        let (w, len) = area(&[
            (2, PAGE_SIZE as i64, &[(0x1000, 1), (0x3000, 2)]),
            (1, 0, &[(0x9000, 3)]),
        ]);
        let b = &bytes(&w)[..len];
        let mut it = walk(b, 2);
        let r0 = it.next().unwrap().unwrap();
        assert_eq!((r0.index, r0.at, r0.off, r0.iov_count()), (0, 0, PAGE_SIZE as i64, 2));
        assert_eq!(r0.iov(1), RawIovec { base: 0x3000, len: 2 });
        let r1 = it.next().unwrap().unwrap();
        assert_eq!((r1.index, r1.at, r1.next_at()), (1, 48, 80));
        assert!(it.next().is_none());
        assert_eq!(it.at(), len);
        // SAFETY: the area holds the two records.
        assert_eq!(unsafe { derived_len(b.as_ptr(), 2) }, len);
    }

    #[test]
    fn rejects_counts_outside_one_to_iov_max() {
        for nr in [0, -1, IOV_MAX as i32 + 1, i32::MAX] {
            let (w, _) = area(&[(1, 0, &[(0x1000, 1)]), (nr, 77, &[])]);
            let mut it = walk(bytes(&w), 2);
            assert!(it.next().unwrap().is_ok());
            let e = it.next().unwrap().unwrap_err();
            assert_eq!(
                e,
                Malformed::IovCount {
                    index: 1,
                    at: 32,
                    off: 77,
                    nr_iovs: nr
                }
            );
            assert_eq!((e.index(), e.off()), (1, Some(77)));
            assert!(it.next().is_none(), "the walk ends at a malformed record");
            // SAFETY: both headers are readable.
            assert_eq!(unsafe { derived_len(bytes(&w).as_ptr(), 2) }, 48);
        }
    }

    #[test]
    fn rejects_short_areas() {
        let (w, len) = area(&[(2, 5, &[(0x1000, 1), (0x3000, 2)])]);
        let b = bytes(&w);
        for cut in 0..len {
            let e = walk(&b[..cut], 1).next().unwrap().unwrap_err();
            if cut < HEADER_SIZE {
                assert_eq!(
                    e,
                    Malformed::ShortHeader {
                        index: 0,
                        at: 0,
                        got: cut
                    }
                );
            } else {
                assert_eq!(
                    e,
                    Malformed::ShortIovecs {
                        index: 0,
                        at: 0,
                        off: 5,
                        needed: len,
                        got: cut
                    }
                );
            }
        }
        assert!(walk(&b[..len], 1).next().unwrap().is_ok());
        assert!(walk(&[], 0).next().is_none());
    }
}
