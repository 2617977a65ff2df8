//! Huge-page advice (`FLAG_HUGEPAGES`) for the whole destination, once, before any read.
//!
//! Advice changes a VMA's flags, so advising part of a VMA splits it. Advising each
//! worker's batches (their 2 MiB-aligned parts) left a dense VMA cut into pieces with
//! unadvised gaps between them (a 17.9 GB CUDA VMA came back as 16 VMAs). Here each run
//! of destination memory that the iovecs cover without a gap is advised as a whole, from
//! its first page to its last: a VMA the records fill stays one VMA.

use super::records::{Cursor, Records};
use pie_sys::mm::{self, MadviseAdvice, PAGE_SIZE};

/// Advise MADV_HUGEPAGE on each contiguous destination range of `records`. Best effort:
/// a kernel without THP leaves the read as it was.
pub fn advise_hugepages(records: &Records) {
    let mut run: Option<(usize, usize)> = None;
    for rec in records.iter_from(Cursor::default()) {
        for v in rec.iovs.iter().filter(|v| v.len > 0) {
            let (start, end) = (v.base as usize, (v.base as usize).saturating_add(v.len));
            run = match run {
                Some((s, e)) if start == e => Some((s, end)),
                Some(r) => {
                    advise(r);
                    Some((start, end))
                }
                None => Some((start, end)),
            };
        }
    }
    if let Some(r) = run {
        advise(r);
    }
}

fn advise((start, end): (usize, usize)) {
    let (s, e) = (start / PAGE_SIZE * PAGE_SIZE, end.next_multiple_of(PAGE_SIZE));
    if s < e {
        // SAFETY: advice on destination memory the caller handed over for writing; huge
        // page advice changes no byte of it.
        let _ = unsafe { mm::madvise(s as *mut u8, e - s, MadviseAdvice::HUGEPAGE) };
    }
}
