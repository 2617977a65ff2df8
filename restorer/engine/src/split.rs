//! Splitting the record stream into shares of about equal bytes, one a thread.

use super::records::{Cursor, Records};

/// Shares start on page boundaries of the stream so that no page is read by two threads
/// and O_DIRECT reads stay aligned.
pub const SPLIT_ALIGN: u64 = vma_io::PAGE_SIZE as u64;

/// Fill `cuts` with `cuts.len() - 1` shares of the `total` bytes the records read:
/// share `k` runs from `cuts[k]` to `cuts[k + 1]`; `cuts[0]` is the start and the last is
/// the end. Shares may be empty when there are fewer pages than shares.
pub fn split(records: &Records, total: u64, cuts: &mut [Cursor]) {
    let n = cuts.len().saturating_sub(1) as u64;
    if n == 0 {
        return;
    }
    let end = records.end();
    // The byte at which each inner cut falls, rounded down to a page of the stream.
    let target = |k: u64| -> u64 {
        if k >= n {
            return total;
        }
        // total*k/n without a 128-bit product (which would call __udivti3, absent in a
        // blob): n and k are at most a few dozen, so the remainder term cannot overflow.
        let t = total / n * k + total % n * k / n;
        t - t % SPLIT_ALIGN
    };
    cuts[0] = Cursor::default();
    let mut k = 1u64;
    let mut done = 0u64; // bytes before the current record
    for rec in records.iter_from(Cursor::default()) {
        let len = rec.len();
        // Every cut that falls inside this record (or at its start).
        while k < n && target(k) < done + len {
            let t = target(k).max(done);
            cuts[k as usize] = Cursor {
                index: rec.index,
                at: rec.at,
                skip: t - done,
            };
            k += 1;
        }
        done += len;
    }
    while k <= n {
        cuts[k as usize] = end;
        k += 1;
    }
}
