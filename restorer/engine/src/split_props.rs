//! Property tests of the split: for random record layouts and 1..64 shares, walking the
//! shares as the workers do covers exactly what the serial walk covers, byte for byte:
//! nothing twice, nothing missing, every byte at the same file offset and address.

use proptest::prelude::*;

use super::parallel::MAX_WORKERS;
use super::pieces::{walk_share, Pieces};
use super::records::{Cursor, Records};
use super::split::split;
use crate::abi::IOV_MAX;
use pie_sys::fs::IoVec;
use vma_io::PAGE_SIZE;

/// A layout: per record, its file offset gap and iovec lengths; addresses are laid out
/// with gaps so that every byte's address is distinct.
fn layout() -> impl Strategy<Value = Vec<(u64, Vec<usize>)>> {
    let iovs = prop_oneof![
        4 => prop::collection::vec(1usize..20_000, 1..8),
        1 => prop::collection::vec(prop_oneof![Just(PAGE_SIZE), 1usize..9000], 1..IOV_MAX),
        1 => prop::collection::vec(0usize..3, 1..4), // empty and tiny iovecs, records that read nothing
    ];
    prop::collection::vec((0u64..3 * PAGE_SIZE as u64, iovs), 1..24)
}

/// Pack the layout as CRIU's records; returns the words and the record count.
fn pack(layout: &[(u64, Vec<usize>)]) -> Vec<u64> {
    let mut words = Vec::new();
    let (mut off, mut addr) = (0u64, 0x1000_0000u64);
    for (gap, iovs) in layout {
        off += gap; // a hole in the pages file between records
        words.push(iovs.len() as u64);
        words.push(off);
        for &len in iovs {
            words.push(addr);
            words.push(len as u64);
            addr += len as u64 + 13; // a hole in memory between iovecs
            off += len as u64;
        }
    }
    words
}

/// The (file offset, address, length) runs a walk of `[from, to)` visits, in order,
/// appended to `out` with runs that continue each other (in the file and in memory)
/// merged, so that equal byte sequences give equal lists however they were cut.
fn runs_of(records: &Records, from: Cursor, to: Cursor, limit: u64, out: &mut Vec<(i64, usize, usize)>) {
    walk_share(records, from, to, limit, |_, batch, off| {
        let mut o = off;
        for v in batch.iter() {
            merge(out, o, *v);
            o += v.len as i64;
        }
        Ok(())
    })
    .unwrap();
}

/// Append the run of `v` at file offset `off` to `out`, merged with the last run if it
/// continues it in the file and in memory.
fn merge(out: &mut Vec<(i64, usize, usize)>, off: i64, v: IoVec) {
    assert!(v.len > 0, "empty iovec handed to a read");
    match out.last_mut() {
        Some((lo, la, ll)) if *lo + *ll as i64 == off && *la + *ll == v.base as usize => *ll += v.len,
        _ => out.push((off, v.base as usize, v.len)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn shares_cover_the_serial_walk_exactly(
        layout in layout(),
        workers in 1usize..=MAX_WORKERS,
        limit in prop_oneof![Just(u64::MAX), 1u64..50_000],
    ) {
        let words = pack(&layout);
        // SAFETY: `words` holds the records just packed; their addresses are never used.
        let records = unsafe { Records::new(words.as_ptr() as *const u8, words.len() * 8, layout.len()) };
        let total = records.validate().unwrap().bytes;
        let mut serial = Vec::new();
        runs_of(&records, Cursor::default(), records.end(), limit, &mut serial);
        prop_assert_eq!(serial.iter().map(|r| r.2 as u64).sum::<u64>(), total);

        let mut cuts = vec![Cursor::default(); workers + 1];
        split(&records, total, &mut cuts);
        let mut union = Vec::with_capacity(serial.len());
        for w in cuts.windows(2) {
            runs_of(&records, w[0], w[1], limit, &mut union);
        }
        // Same bytes, same order: no byte twice, none missing, offsets and addresses
        // paired as in the serial walk.
        prop_assert_eq!(union, serial.clone());

        // Cut one iovec a piece, as io_uring's requests are: the same runs again.
        let mut one = Vec::with_capacity(serial.len());
        let mut pieces = Pieces::new(&records, Cursor::default(), records.end(), limit);
        let mut iov = [IoVec { base: core::ptr::null_mut(), len: 0 }];
        while let Some(p) = pieces.next_into(&mut iov) {
            let p = p.unwrap();
            prop_assert!(p.iovs == 1 && p.bytes == iov[0].len as u64 && p.bytes <= limit);
            merge(&mut one, p.off, iov[0]);
        }
        prop_assert_eq!(one, serial);
    }
}
