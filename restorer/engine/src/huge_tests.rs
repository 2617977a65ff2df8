//! Huge pages without advice (`FLAG_HUGE_COLLAPSE`) against the real kernel: which
//! extents are planned, that covered ones come back huge in every strategy with the
//! VMA's flags untouched, that sparse ones keep their RSS, and that every refusal falls
//! back to 4 KiB pages with every byte right.

use std::sync::atomic::Ordering;

use super::abi::{Options, Strategy, FLAG_HUGE_COLLAPSE};
use super::fault::Faults;
use super::hooks::Hooks;
use super::huge::{self, Plan, Policy, HUGE};
use super::tests::{pattern, temp_file, vmas_over, Packed, EVERY_STRATEGY};
use super::{restore_with, restore_with_faults};
use pie_sys::Errno;

const PAGE: usize = vma_io::PAGE_SIZE;

/// Fresh memory of `extents` huge extents, 2 MiB-aligned (the mapping is one extent
/// larger; the aligned part is returned).
struct Aligned {
    _map: pie_mapping::Mapping,
    base: *mut u8,
}

impl Aligned {
    fn new(extents: usize) -> Aligned {
        // Between guard pages: no neighbour merges into it while the test looks.
        let map = pie_mapping::Mapping::guarded((extents + 1) * HUGE).unwrap();
        let base = (map.as_ptr() as usize).next_multiple_of(HUGE) as *mut u8;
        Aligned { _map: map, base }
    }

    fn at(&self, off: usize) -> *mut u8 {
        // SAFETY: callers stay inside the aligned extents of the mapping.
        unsafe { self.base.add(off) }
    }

    fn bytes(&self, off: usize, len: usize) -> &[u8] {
        // SAFETY: inside the mapping, which lives as long as self.
        unsafe { std::slice::from_raw_parts(self.at(off), len) }
    }
}

/// The smaps fields of the VMAs overlapping `[start, start + len)`: AnonHugePages (kB,
/// summed) and each VMA's VmFlags.
fn smaps_over(start: usize, len: usize) -> (u64, Vec<String>) {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let (mut huge_kb, mut flags, mut inside) = (0, Vec::new(), false);
    for l in smaps.lines() {
        if let Some((range, _)) = l.split_once(' ') {
            if let Some((a, b)) = range.split_once('-') {
                if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                    inside = a < start + len && b > start;
                    continue;
                }
            }
        }
        if !inside {
            continue;
        }
        if let Some(v) = l.strip_prefix("AnonHugePages:") {
            huge_kb += v.trim().trim_end_matches(" kB").trim().parse::<u64>().unwrap();
        } else if let Some(v) = l.strip_prefix("VmFlags:") {
            flags.push(v.trim().to_string());
        }
    }
    (huge_kb, flags)
}

/// Resident pages of `[start, start + len)` (mincore).
fn resident(start: *mut u8, len: usize) -> usize {
    let mut vec = vec![0u8; len / PAGE];
    pie_sys::mm::mincore(start, len, &mut vec).unwrap();
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

fn thp_on() -> bool {
    huge::available()
}

fn collapse_opts(s: Strategy) -> Options {
    let mut o = Options::new(s);
    o.workers = 3;
    o.flags = FLAG_HUGE_COLLAPSE;
    o
}

/// Plans over records of `iovs` (offsets into an aligned area), with no policy limit.
fn covered(iovs: &[&[(usize, usize)]], probe: &[(usize, usize)]) -> Vec<bool> {
    let a = Aligned::new(8);
    let mut p = Packed::new();
    let mut off = 0;
    for rec in iovs {
        let v: Vec<(*mut u8, usize)> = rec.iter().map(|&(o, l)| (a.at(o), l)).collect();
        p.push(off, &v);
        off += rec.iter().map(|r| r.1 as i64).sum::<i64>();
    }
    let records = p.records();
    let totals = records.validate().unwrap();
    let policy = Policy::all();
    let plan = Plan::new(&records, totals.iovs, &policy, Hooks::none()).unwrap();
    probe
        .iter()
        .map(|&(o, l)| plan.covers(a.at(o) as usize, a.at(o) as usize + l))
        .collect()
}

#[test]
fn an_extent_is_planned_only_when_the_records_cover_all_of_it() {
    const H: usize = HUGE;
    // One iovec over two whole extents.
    assert_eq!(
        covered(&[&[(0, 2 * H)]], &[(0, H), (H, H), (0, 2 * H)]),
        [true, true, true]
    );
    // Starting one page into the first extent, ending one page short of the third.
    assert_eq!(
        covered(&[&[(PAGE, 3 * H - 2 * PAGE)]], &[(0, H), (H, H), (2 * H, H)]),
        [false, true, false]
    );
    // An extent cut over two records (and their iovecs) is covered all the same.
    assert_eq!(
        covered(&[&[(0, H / 2)], &[(H / 2, H / 4), (3 * H / 4, H / 4)]], &[(0, H)]),
        [true]
    );
    // Records out of address order, or overlapping: nothing is planned.
    assert_eq!(covered(&[&[(H, H)], &[(0, H)]], &[(0, H), (H, H)]), [false, false]);
    assert_eq!(covered(&[&[(0, H / 2 + PAGE)], &[(H / 2, H)]], &[(0, H)]), [false]);
    // One page missing in the middle of an extent: not covered; its neighbours are.
    assert_eq!(
        covered(
            &[&[(0, H + 5 * PAGE)], &[(H + 6 * PAGE, 2 * H - 6 * PAGE)]],
            &[(0, H), (H, H), (2 * H, H)]
        ),
        [true, false, true]
    );
    // Nothing at all.
    assert_eq!(covered(&[], &[(0, H)]), [false]);
}

/// 3 covered extents, one with a page missing, one half covered: in every strategy the
/// covered ones come back as huge pages, the VMA's flags and extent unchanged.
#[test]
fn covered_extents_come_back_huge_with_the_vma_untouched() {
    let data = pattern(5 * HUGE, 21);
    let f = temp_file(&data);
    for s in EVERY_STRATEGY {
        let a = Aligned::new(5);
        let (start, len) = (a.base as usize, 5 * HUGE);
        let before = smaps_over(start, len).1;
        let vmas = vmas_over(start, len);
        let missing = 3 * HUGE + 7 * PAGE;
        let mut p = Packed::new();
        // Extents 0-2 whole, 3 without one page, 4 half: file offset = memory offset.
        p.push(0, &[(a.at(0), missing)]);
        p.push(
            (missing + PAGE) as i64,
            &[(a.at(missing + PAGE), 4 * HUGE + HUGE / 2 - missing - PAGE)],
        );
        let policy = Policy::all();
        let (res, out) = restore_with(&f, &p.records(), &collapse_opts(s), &policy);
        assert_eq!(res, Ok(()), "{s:?}: {out:?}");
        assert_eq!(a.bytes(0, missing), &data[..missing], "{s:?}");
        let rest = missing + PAGE..4 * HUGE + HUGE / 2;
        assert_eq!(a.bytes(rest.start, rest.len()), &data[rest.clone()], "{s:?}");
        let (huge_kb, after) = smaps_over(start, len);
        assert_eq!(after, before, "{s:?}: VmFlags changed");
        assert_eq!(vmas_over(start, len), vmas, "{s:?}: VMAs changed");
        // The sparse extents keep their RSS: the missing page and the uncovered half.
        assert_eq!(resident(a.at(3 * HUGE), HUGE), HUGE / PAGE - 1, "{s:?}");
        assert_eq!(resident(a.at(4 * HUGE), HUGE), HUGE / PAGE / 2, "{s:?}");
        // Read last: reading faults the page in.
        assert_eq!(a.bytes(missing, PAGE), &[0u8; PAGE][..], "{s:?}: the missing page");
        let r = policy.report();
        if thp_on() {
            // An extent cut by a share boundary may be refused (EAGAIN, a worker writing
            // its other part): then it is 4 KiB, and counted.
            assert_eq!(r.collapsed + r.refused, 3, "{s:?}: {r:?}");
            assert!(
                r.collapsed >= 1 && (r.refused == 0 || r.first_refusal == Some(Errno::EAGAIN)),
                "{s:?}: {r:?}"
            );
            assert_eq!(huge_kb, r.collapsed * HUGE as u64 / 1024, "{s:?}");
        } else {
            assert_eq!(policy.report().collapsed, 0, "{s:?}");
        }
    }
}

/// Without the flag nothing is collapsed; with a policy that refuses an extent, that one
/// stays 4 KiB.
#[test]
fn the_flag_and_the_policy_decide() {
    let data = pattern(2 * HUGE, 22);
    let f = temp_file(&data);
    let a = Aligned::new(2);
    let mut p = Packed::new();
    p.push(0, &[(a.at(0), 2 * HUGE)]);
    // Only the first extent lies in an eligible range (which ends a page short of the
    // second).
    let ranges = [(a.at(0) as usize - PAGE, a.at(2 * HUGE - PAGE) as usize)];
    let policy = Policy::only(&ranges);
    let (res, _) = restore_with(&f, &p.records(), &collapse_opts(Strategy::Serial), &policy);
    assert_eq!(res, Ok(()));
    assert_eq!(a.bytes(0, 2 * HUGE), &data[..]);
    let expect = u64::from(thp_on());
    assert_eq!(policy.report().collapsed, expect);
    assert_eq!(smaps_over(a.base as usize, 2 * HUGE).0, expect * HUGE as u64 / 1024);

    let b = Aligned::new(2);
    let mut p = Packed::new();
    p.push(0, &[(b.at(0), 2 * HUGE)]);
    let policy = Policy::all();
    let mut o = collapse_opts(Strategy::Serial);
    o.flags = 0;
    assert_eq!(restore_with(&f, &p.records(), &o, &policy).0, Ok(()));
    assert_eq!(policy.report().collapsed, 0);
    assert_eq!(smaps_over(b.base as usize, 2 * HUGE).0, 0);
}

/// Every refusal of MADV_COLLAPSE leaves its extent in 4 KiB pages, counted, and the
/// restore succeeds with every byte right.
#[test]
fn refused_collapses_fall_back_to_small_pages() {
    if !thp_on() {
        return;
    }
    let data = pattern(3 * HUGE, 23);
    let f = temp_file(&data);
    for e in [Errno::EINVAL, Errno::ENOMEM, Errno::EAGAIN] {
        for s in [Strategy::Serial, Strategy::Parallel, Strategy::Aio, Strategy::IoUring] {
            let a = Aligned::new(3);
            let mut p = Packed::new();
            p.push(0, &[(a.at(0), 3 * HUGE)]);
            let faults = Faults::default();
            faults.collapse_errno.store(e.raw_os_error() as i64, Ordering::Relaxed);
            let policy = Policy::all();
            let (res, out) = restore_with_faults(&f, &p.records(), &collapse_opts(s), &faults, &policy);
            assert_eq!(res, Ok(()), "{e:?} {s:?}: {out:?}");
            assert_eq!(a.bytes(0, 3 * HUGE), &data[..], "{e:?} {s:?}");
            let r = policy.report();
            assert_eq!((r.collapsed, r.refused, r.first_refusal), (0, 3, Some(e)), "{s:?}");
            assert_eq!(smaps_over(a.base as usize, 3 * HUGE).0, 0, "{e:?} {s:?}");
        }
    }
}
