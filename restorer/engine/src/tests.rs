//! Host tests of the engine against the real kernel: temp files, fresh mappings.

use std::io::Write;

use super::abi::{Options, Strategy};
use super::records::{Cursor, Records};
use super::split::split;
use super::{restore, Failure};
use pie_mapping::Mapping;
use pie_sys::fd::BorrowedFd;
use pie_sys::Errno;

/// An fd number that is never open.
fn closed_fd() -> BorrowedFd<'static> {
    // SAFETY: -1 is never an open fd; the kernel answers EBADF.
    unsafe { BorrowedFd::borrow_raw(-1) }
}

/// Records packed as CRIU packs them, in an 8-aligned buffer.
pub(super) struct Packed {
    words: Vec<u64>,
    count: usize,
}

impl Packed {
    pub(super) fn new() -> Packed {
        Packed {
            words: Vec::new(),
            count: 0,
        }
    }

    pub(super) fn push(&mut self, off: i64, iovs: &[(*mut u8, usize)]) {
        self.words.push(iovs.len() as u64); // nr_iovs (i32) + padding
        self.words.push(off as u64);
        for &(b, l) in iovs {
            self.words.push(b as u64);
            self.words.push(l as u64);
        }
        self.count += 1;
    }

    pub(super) fn records(&self) -> Records {
        // SAFETY: the buffer holds `count` records laid out as CRIU's, 8-aligned.
        unsafe { Records::new(self.words.as_ptr() as *const u8, self.words.len() * 8, self.count) }
    }
}

pub(super) fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[2] ^ seed)
        .collect()
}

pub(super) fn temp_file(data: &[u8]) -> std::fs::File {
    let mut f = tempfile();
    f.write_all(data).unwrap();
    f
}

fn tempfile() -> std::fs::File {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("engine-test-{}-{}", std::process::id(), rand_suffix()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64)
}

const PAGE: usize = vma_io::PAGE_SIZE;

/// Every strategy but `auto` (which picks one of them).
pub(super) const EVERY_STRATEGY: [Strategy; 7] = [
    Strategy::Serial,
    Strategy::Prefetch,
    Strategy::Parallel,
    Strategy::IoUring,
    Strategy::Direct,
    Strategy::Aio,
    Strategy::AioDirect,
];

/// A layout with holes in the file and scattered destinations: record k reads
/// `pages[k]` pages from file page `file_page[k]` into destination pages in order.
fn scattered(dst: &mut [u8], file_pages: usize) -> (Packed, Vec<(usize, usize)>) {
    // (file page, dest page) pairs, skipping some file pages (holes) and alternating
    // destination runs so that records have several iovecs.
    let mut p = Packed::new();
    let mut map = Vec::new();
    let mut fpage = 0;
    let mut dpage = 0;
    let mut k = 0;
    while fpage + 8 < file_pages && (dpage + 16) * PAGE <= dst.len() {
        let n_iovs = 1 + k % 5;
        let mut iovs = Vec::new();
        let start = fpage;
        for j in 0..n_iovs {
            let len = 1 + (k + j) % 3;
            iovs.push((dst[dpage * PAGE..].as_mut_ptr(), len * PAGE));
            for q in 0..len {
                map.push((fpage + q, dpage + q));
            }
            fpage += len;
            dpage += len + 1; // leave a destination page untouched between runs
        }
        p.push((start * PAGE) as i64, &iovs);
        fpage += k % 2; // a hole in the file every other record
        k += 1;
    }
    (p, map)
}

fn check(dst: &[u8], file: &[u8], map: &[(usize, usize)]) {
    let mut written = vec![false; dst.len() / PAGE];
    for &(f, d) in map {
        assert_eq!(
            &dst[d * PAGE..(d + 1) * PAGE],
            &file[f * PAGE..(f + 1) * PAGE],
            "file page {f} -> dest page {d}"
        );
        written[d] = true;
    }
    for (d, w) in written.iter().enumerate() {
        if !w {
            assert!(
                dst[d * PAGE..(d + 1) * PAGE].iter().all(|&b| b == 0),
                "untouched page {d} was written"
            );
        }
    }
}

fn run(strategy: Strategy, workers: u32) -> super::abi::Outcome {
    let file_pages = 3000;
    let data = pattern(file_pages * PAGE, 7);
    let f = temp_file(&data);
    let mut dst = vec![0u8; 6000 * PAGE];
    let (p, map) = scattered(&mut dst, file_pages);
    let mut opts = Options::new(strategy);
    opts.workers = workers;
    let (res, out) = restore(&f, &p.records(), &opts);
    assert_eq!(res, Ok(()), "{strategy:?}: {out:?}");
    assert_eq!(out.bytes as usize, map.len() * PAGE);
    check(&dst, &data, &map);
    out
}

#[test]
fn serial_restores_every_byte() {
    run(Strategy::Serial, 0);
}

#[test]
fn prefetch_restores_every_byte() {
    run(Strategy::Prefetch, 0);
}

#[test]
fn parallel_restores_every_byte() {
    for w in [1, 2, 3, 7, 64] {
        run(Strategy::Parallel, w);
    }
}

#[test]
fn auto_restores_every_byte() {
    run(Strategy::Auto, 0);
}

#[test]
fn io_uring_restores_every_byte() {
    let out = run(Strategy::IoUring, 0);
    // This host kernel (6.x) has io_uring; a fallback here would hide a broken ring.
    assert_eq!(out.strategy, Strategy::IoUring as u32, "{out:?}");
}

#[test]
fn aio_restores_every_byte() {
    let out = run(Strategy::Aio, 0);
    // This host kernel has native AIO: a fallback here would hide a broken context.
    assert_eq!((out.strategy, out.workers), (Strategy::Aio as u32, 1), "{out:?}");
}

#[test]
fn aio_direct_restores_every_byte() {
    // As `direct_restores_every_byte`: whichever path the alignment check picks.
    let out = run(Strategy::AioDirect, 0);
    assert!(
        out.strategy == Strategy::AioDirect as u32 || out.strategy == Strategy::Aio as u32,
        "{out:?}"
    );
}

#[test]
fn direct_restores_every_byte() {
    // The destination of `scattered` comes from a Vec: page-aligned only by luck, so
    // this checks whichever path the alignment check picks, byte for byte.
    let out = run(Strategy::Direct, 2);
    assert!(
        out.strategy == Strategy::Direct as u32 || out.strategy == Strategy::Parallel as u32,
        "{out:?}"
    );
}

#[test]
fn direct_reads_around_the_page_cache() {
    direct_around_the_page_cache(Strategy::Direct, Strategy::Parallel);
}

#[test]
fn aio_direct_reads_around_the_page_cache() {
    direct_around_the_page_cache(Strategy::AioDirect, Strategy::Aio);
}

/// `strategy` reads every byte of page-aligned records, restores the fd's flags and
/// says whether it went around the page cache or fell back to `buffered`.
fn direct_around_the_page_cache(strategy: Strategy, buffered: Strategy) {
    let pages = 1024;
    let data = pattern(pages * PAGE, 9);
    let f = temp_file(&data);
    let dst = fresh(pages * PAGE);
    let mut p = Packed::new();
    p.push(0, &[(dst.as_ptr(), pages * PAGE)]);
    let mut o = Options::new(strategy);
    o.workers = 2;
    let before = pie_sys::fs::fcntl_getfl(&f).unwrap();
    let (res, out) = restore(&f, &p.records(), &o);
    assert_eq!(res, Ok(()));
    assert_eq!(dst.bytes(), &data[..]);
    assert_eq!(pie_sys::fs::fcntl_getfl(&f).unwrap(), before, "file flags restored");
    // On a filesystem without O_DIRECT the engine says it fell back.
    assert!(
        out.strategy == strategy as u32 || out.strategy == buffered as u32,
        "{out:?}"
    );
}

/// Fresh anonymous memory, page-aligned, unmapped on drop.
fn fresh(len: usize) -> Mapping {
    Mapping::anon(len).unwrap()
}

#[test]
fn features_on_this_kernel() {
    let f = super::probe::features();
    // The host runs a 6.x kernel as root: everything the engine can use is there.
    assert_eq!(f.cachestat, 0, "{f:?}");
    assert_eq!(f.io_uring, 0, "{f:?}");
    assert_eq!(f.io_uring_readv, 0, "{f:?}");
    assert_eq!(f.populate_write, 0, "{f:?}");
    assert_eq!(f.clone3, 0, "{f:?}");
    assert!(f.cpus >= 1);
    if pie_sys::creds::getresuid().unwrap().1 == 0 {
        assert_eq!(f.clone3_set_tid, 0, "root may choose TIDs: {f:?}");
    } else {
        assert_eq!(f.clone3_set_tid, Errno::EPERM.neg(), "{f:?}");
    }
}

#[test]
fn workers_take_tids_above_max_pid() {
    // With max_pid set, the workers ask for TIDs above it; as root that works, and the
    // restore still reads every byte (and reports its workers).
    let pages = 64 << 8; // 64 MiB: enough for auto to want threads
    let data = pattern(pages * PAGE, 5);
    let f = temp_file(&data);
    let dst = fresh(pages * PAGE);
    let mut p = Packed::new();
    p.push(0, &[(dst.as_ptr(), pages * PAGE)]);
    let mut o = Options::new(Strategy::Parallel);
    o.workers = 2;
    // Above the last PID handed out, below pid_max (set_tid cannot go past it).
    let read = |p: &str| std::fs::read_to_string(p).unwrap().trim().parse::<i32>().unwrap();
    let (last, max) = (read("/proc/sys/kernel/ns_last_pid"), read("/proc/sys/kernel/pid_max"));
    o.max_pid = (last + 100).min(max - 400);
    let (res, out) = restore(&f, &p.records(), &o);
    assert_eq!(res, Ok(()));
    assert_eq!(dst.bytes(), &data[..]);
    if pie_sys::creds::getresuid().unwrap().1 == 0 {
        assert_eq!(out.workers, 2, "{out:?}");
    }
}

#[test]
fn split_covers_the_stream_once() {
    let mut dst = vec![0u8; 6000 * PAGE];
    let (p, _) = scattered(&mut dst, 3000);
    let recs = p.records();
    let total = recs.validate().unwrap().bytes;
    for n in 1..=17usize {
        let mut cuts = vec![Cursor::default(); n + 1];
        split(&recs, total, &mut cuts);
        assert_eq!(cuts[0], Cursor::default());
        assert_eq!(cuts[n], recs.end());
        // Cuts are ordered and each lands on a page of the stream.
        let pos = |c: &Cursor| -> u64 {
            recs.iter_from(Cursor::default())
                .take(c.index)
                .map(|r| r.len())
                .sum::<u64>()
                + c.skip
        };
        for w in cuts.windows(2) {
            assert!(pos(&w[0]) <= pos(&w[1]));
        }
        for c in &cuts {
            assert_eq!(pos(c) % PAGE as u64, 0);
        }
    }
}

#[test]
fn end_of_file_is_an_error_naming_the_record() {
    let data = pattern(10 * PAGE, 1);
    let f = temp_file(&data);
    let mut dst = vec![0u8; 20 * PAGE];
    let mut p = Packed::new();
    p.push(0, &[(dst.as_mut_ptr(), 4 * PAGE)]);
    // Reads past the end: 8 pages from page 6 of a 10-page file.
    p.push((6 * PAGE) as i64, &[(dst[8 * PAGE..].as_mut_ptr(), 8 * PAGE)]);
    for s in EVERY_STRATEGY {
        let mut opts = Options::new(s);
        opts.workers = 2;
        let (res, out) = restore(&f, &p.records(), &opts);
        let Err(fl) = res else { panic!("{s:?} succeeded") };
        assert_eq!(fl.errno, Errno::ENODATA, "{s:?}");
        assert_eq!(fl.record, 1, "{s:?}");
        assert_eq!(out.record, 1);
        assert_eq!(
            fl.offset,
            (10 * PAGE) as i64,
            "{s:?}: failing offset is where the file ends"
        );
    }
}

#[test]
fn closed_fd_is_ebadf() {
    let mut dst = vec![0u8; 4 * PAGE];
    let mut p = Packed::new();
    p.push(0, &[(dst.as_mut_ptr(), 4 * PAGE)]);
    let (res, _) = restore(closed_fd(), &p.records(), &Options::new(Strategy::Serial));
    assert_eq!(res, Err(Failure::new(Errno::EBADF, 0, 0)));
}

#[test]
fn bad_options_and_records_are_einval() {
    let mut dst = vec![0u8; PAGE];
    let mut p = Packed::new();
    p.push(0, &[(dst.as_mut_ptr(), PAGE)]);
    let mut o = Options::new(Strategy::Serial);
    o.version = 99;
    assert_eq!(
        restore(std::io::stdin(), &p.records(), &o).0.unwrap_err().errno,
        Errno::EINVAL
    );
    let mut o = Options::new(Strategy::Serial);
    o.strategy = 1000;
    assert_eq!(
        restore(std::io::stdin(), &p.records(), &o).0.unwrap_err().errno,
        Errno::EINVAL
    );
    let mut neg = Packed::new();
    neg.push(0, &[]);
    neg.words[0] = (-3i32) as u32 as u64;
    assert_eq!(
        restore(std::io::stdin(), &neg.records(), &Options::new(Strategy::Serial))
            .0
            .unwrap_err()
            .errno,
        Errno::EINVAL
    );
}

#[test]
fn auto_dedup_punches_what_it_read() {
    use std::os::unix::fs::MetadataExt;
    let pages = 2048;
    let data = pattern(pages * PAGE, 3);
    let f = temp_file(&data);
    f.sync_all().unwrap();
    let before = f.metadata().unwrap().blocks();
    let mut dst = vec![0u8; pages * PAGE];
    let mut p = Packed::new();
    p.push(0, &[(dst.as_mut_ptr(), pages * PAGE)]);
    let mut o = Options::new(Strategy::Parallel);
    o.workers = 2;
    o.dedup_chunk = 1 << 20;
    let (res, _) = restore(&f, &p.records(), &o);
    assert_eq!(res, Ok(()));
    assert_eq!(dst, data);
    let after = f.metadata().unwrap().blocks();
    assert!(
        after < before / 8,
        "blocks before {before}, after {after}: holes not punched"
    );
    assert_eq!(f.metadata().unwrap().len() as usize, pages * PAGE, "KEEP_SIZE");
}

#[test]
fn auto_dedup_in_every_strategy() {
    use std::os::unix::fs::MetadataExt;
    for s in EVERY_STRATEGY {
        let pages = 1024;
        let data = pattern(pages * PAGE, 4);
        let f = temp_file(&data);
        f.sync_all().unwrap();
        let dst = fresh(pages * PAGE);
        let mut p = Packed::new();
        p.push(0, &[(dst.as_ptr(), pages * PAGE)]);
        let mut o = Options::new(s);
        o.workers = 2;
        o.dedup_chunk = 256 << 10;
        let (res, out) = restore(&f, &p.records(), &o);
        assert_eq!(res, Ok(()), "{s:?}");
        assert_eq!(dst.bytes(), &data[..], "{s:?} {out:?}");
        assert!(f.metadata().unwrap().blocks() < 64, "{s:?}: holes not punched");
    }
}

#[test]
fn populate_and_hugepage_advice_keep_every_byte() {
    use super::abi::{FLAG_HUGEPAGES, FLAG_POPULATE};
    let pages = 2048; // 8 MiB: several 2 MiB-aligned runs
    let data = pattern(pages * PAGE, 8);
    let f = temp_file(&data);
    for s in [
        Strategy::Serial,
        Strategy::Parallel,
        Strategy::IoUring,
        Strategy::Direct,
        Strategy::Aio,
        Strategy::AioDirect,
    ] {
        for flags in [FLAG_POPULATE, FLAG_HUGEPAGES, FLAG_POPULATE | FLAG_HUGEPAGES] {
            let dst = fresh(pages * PAGE);
            let mut p = Packed::new();
            // Two iovecs, the first starting off a 2 MiB boundary.
            p.push(
                0,
                &[
                    (dst.as_ptr(), 3 * PAGE),
                    // SAFETY: 3 pages into the mapping of `pages` pages.
                    (unsafe { dst.as_ptr().add(3 * PAGE) }, (pages - 3) * PAGE),
                ],
            );
            let mut o = Options::new(s);
            o.workers = 2;
            o.flags = flags;
            let (res, out) = restore(&f, &p.records(), &o);
            assert_eq!(res, Ok(()), "{s:?} {flags}");
            assert_eq!(dst.bytes(), &data[..], "{s:?} {flags} {out:?}");
        }
    }
}

#[test]
fn unknown_flags_are_einval() {
    let mut dst = vec![0u8; PAGE];
    let mut p = Packed::new();
    p.push(0, &[(dst.as_mut_ptr(), PAGE)]);
    let mut o = Options::new(Strategy::Serial);
    o.flags = 1 << 7;
    assert_eq!(
        restore(std::io::stdin(), &p.records(), &o).0.unwrap_err().errno,
        Errno::EINVAL
    );
}

#[test]
fn iov_counts_outside_one_to_iov_max_are_einval_naming_the_record() {
    use super::abi::{Outcome, IOV_MAX};
    let mut dst = vec![0u8; 2 * PAGE];
    for nr in [0i32, IOV_MAX as i32 + 1, i32::MAX] {
        let mut p = Packed::new();
        p.push(0, &[(dst.as_mut_ptr(), PAGE)]);
        p.push((3 * PAGE) as i64, &[(dst[PAGE..].as_mut_ptr(), PAGE)]);
        p.words[4] = nr as u32 as u64;
        let (res, out) = restore(closed_fd(), &p.records(), &Options::new(Strategy::Serial));
        assert_eq!(res, Err(Failure::new(Errno::EINVAL, 1, (3 * PAGE) as i64)), "{nr}");
        assert_eq!(out.record, 1);
        // The C API, which has no byte length, finds the same record.
        let mut res = Outcome::empty();
        let opts = Options::new(Strategy::Serial);
        // SAFETY: the records are readable; their iovecs name `dst`.
        let r = unsafe { super::capi::pie_restore_vma_ios(0, p.words.as_ptr() as *const u8, 2, &opts, &mut res) };
        assert_eq!(
            (r, res.record, res.offset),
            (Errno::EINVAL.neg() as i64, 1, (3 * PAGE) as i64)
        );
    }
}

#[test]
fn records_past_the_area_are_einval() {
    let mut dst = vec![0u8; 2 * PAGE];
    let mut p = Packed::new();
    p.push(0, &[(dst.as_mut_ptr(), PAGE)]);
    p.push(PAGE as i64, &[(dst[PAGE..].as_mut_ptr(), PAGE)]);
    for cut in [8, 40, 48, 56] {
        // SAFETY: the first `cut` bytes of the packed records are readable.
        let r = unsafe { Records::new(p.words.as_ptr() as *const u8, cut, p.count) };
        let fl = r.validate().unwrap_err();
        assert_eq!(fl.errno, Errno::EINVAL, "{cut}");
        assert_eq!(fl.record, usize::from(cut >= 32), "{cut}");
    }
}

#[test]
fn the_failure_reported_is_real_then_earliest() {
    let keep_all = |fs: &[Failure]| {
        let mut kept = None;
        for &f in fs {
            Failure::keep(&mut kept, f);
        }
        kept
    };
    let eio = |r, o| Failure::new(Errno::EIO, r, o);
    let cancel = |r, o| Failure::new(Errno::ECANCELED, r, o);
    assert_eq!(keep_all(&[]), None);
    // Earliest by record, then by offset, whatever the order they came in.
    assert_eq!(keep_all(&[eio(5, 0), eio(2, 9), eio(7, 1)]), Some(eio(2, 9)));
    assert_eq!(keep_all(&[eio(2, 9 << 12), eio(2, 3 << 12)]), Some(eio(2, 3 << 12)));
    // A cancellation only echoes a real failure, even one later in the stream.
    assert_eq!(keep_all(&[cancel(0, 0), eio(9, 0), cancel(1, 0)]), Some(eio(9, 0)));
    assert_eq!(keep_all(&[cancel(4, 0), cancel(3, 0)]), Some(cancel(3, 0)));
}

#[test]
fn auto_reads_cold_aligned_images_with_aio_direct_on_few_threads() {
    use super::{choose, COLD_PERCENT, PARALLEL_MIN_BYTES};
    let gib = 1u64 << 30;
    let cold = COLD_PERCENT - 1;
    let refused = || true;
    let ok = || false;
    // Cold and aligned, up to two threads (or none to be had): upstream's O_DIRECT window.
    assert_eq!(choose(gib, 2, cold, true, ok), Strategy::AioDirect);
    assert_eq!(choose(gib, 1, 0, true, ok), Strategy::AioDirect);
    assert_eq!(choose(gib, 16, cold, true, refused), Strategy::AioDirect);
    // Many threads: as before, the parallel workers around the page cache.
    assert_eq!(choose(gib, 16, cold, true, ok), Strategy::Direct);
    // Warm, unaligned or small: as before.
    assert_eq!(choose(gib, 2, COLD_PERCENT, true, ok), Strategy::Parallel);
    assert_eq!(choose(gib, 2, cold, false, ok), Strategy::Parallel);
    assert_eq!(choose(gib, 1, 100, true, refused), Strategy::Prefetch);
    assert_eq!(choose(PARALLEL_MIN_BYTES - 1, 2, 0, true, refused), Strategy::Prefetch);
}

/// The /proc/self/maps entries that overlap `[start, start + len)`: (start, end, perms).
pub(super) fn vmas_over(start: usize, len: usize) -> Vec<(usize, usize, String)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (a, b) = f.next()?.split_once('-')?;
            let (a, b) = (usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?);
            let perms = f.next()?.to_owned();
            (a < start + len && b > start).then_some((a, b, perms))
        })
        .collect()
}

#[test]
fn hugepage_advice_splits_no_vma() {
    use super::abi::FLAG_HUGEPAGES;
    // 8 MiB and 3 pages, read by records of 600 pages (2.3 MiB): records, shares and
    // batches end off 2 MiB boundaries, where advice per batch (its 2 MiB-aligned part)
    // used to cut the VMA.
    let pages = 2048 + 3;
    let data = pattern(pages * PAGE, 9);
    let f = temp_file(&data);
    for s in [Strategy::Serial, Strategy::Parallel, Strategy::Aio, Strategy::IoUring] {
        let dst = fresh(pages * PAGE);
        let before = vmas_over(dst.as_ptr() as usize, pages * PAGE);
        let mut p = Packed::new();
        for k in (0..pages).step_by(600) {
            let n = 600.min(pages - k);
            // SAFETY: k + n pages lie inside the mapping of `pages` pages.
            p.push((k * PAGE) as i64, &[(unsafe { dst.as_ptr().add(k * PAGE) }, n * PAGE)]);
        }
        let mut o = Options::new(s);
        o.workers = 3;
        o.flags = FLAG_HUGEPAGES;
        let (res, out) = restore(&f, &p.records(), &o);
        assert_eq!(res, Ok(()), "{s:?}: {out:?}");
        assert_eq!(dst.bytes(), &data[..], "{s:?}");
        let after = vmas_over(dst.as_ptr() as usize, pages * PAGE);
        let perms = |v: &[(usize, usize, String)]| v.iter().map(|x| x.2.clone()).collect::<Vec<_>>();
        assert_eq!(
            after.len(),
            before.len(),
            "{s:?}: VMAs before {before:x?}, after {after:x?}"
        );
        assert_eq!(perms(&after), perms(&before), "{s:?}");
    }
}

extern "C" fn return_at_once(_arg: *mut u8) -> i32 {
    0
}

#[test]
fn a_joined_worker_has_left_the_thread_group() {
    use super::hooks::Hooks;
    use super::thread::{self, TidSource};
    use core::sync::atomic::AtomicU32;
    // The kernel wakes the join before the exit is done; the join must wait it out.
    for _ in 0..200 {
        let word = AtomicU32::new(0);
        // SAFETY: the entry touches nothing and returns.
        let t = unsafe {
            thread::spawn(
                return_at_once,
                core::ptr::null_mut(),
                &word,
                &mut TidSource::above(0),
                Hooks::none(),
            )
        }
        .unwrap();
        let id = t.id();
        assert_eq!(t.join(), Ok(()));
        let listed = std::path::Path::new("/proc/self/task").join(id.to_string());
        assert!(!listed.exists(), "thread {id} is still listed after its join");
    }
}
