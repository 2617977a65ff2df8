//! Injected faults: each ends with the documented error or fallback, every worker
//! joined, every stack unmapped, and no byte written outside the iovecs (the
//! destination sits between PROT_NONE guard pages: a stray write kills the test).

use std::io::Write;
use std::sync::atomic::Ordering;

use super::abi::{Options, Strategy};
use super::fault::Faults;
use super::huge::Policy;
use super::records::Records;
use super::restore_with_faults;
use pie_mapping::Mapping;
use pie_sys::Errno;

const PAGE: usize = vma_io::PAGE_SIZE;

/// 48 records of 4 pages, every other page of the destination skipped.
struct Setup {
    file: std::fs::File,
    data: Vec<u8>,
    /// Fresh memory with a guard page on each side.
    dst: Mapping,
    words: Vec<u64>,
    count: usize,
}

fn setup() -> Setup {
    let n = 48;
    let data: Vec<u8> = (0..n * 4 * PAGE)
        .map(|i| (i as u32).wrapping_mul(2246822519).to_le_bytes()[3])
        .collect();
    let path = std::env::temp_dir().join(format!(
        "fault-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    file.write_all(&data).unwrap();
    let dst = Mapping::guarded(n * 8 * PAGE).unwrap();
    let mut words = Vec::new();
    for r in 0..n {
        words.push(4);
        words.push((r * 4 * PAGE) as u64);
        for k in 0..4 {
            // SAFETY: inside the destination.
            words.push(unsafe { dst.as_ptr().add((r * 8 + 2 * k) * PAGE) } as u64);
            words.push(PAGE as u64);
        }
    }
    Setup {
        file,
        data,
        dst,
        words,
        count: n,
    }
}

impl Setup {
    fn records(&self) -> Records {
        // SAFETY: `words` holds `count` CRIU-layout records into `dst`.
        unsafe { Records::new(self.words.as_ptr() as *const u8, self.words.len() * 8, self.count) }
    }

    fn check(&self) {
        let b = self.dst.bytes();
        for r in 0..self.count {
            for k in 0..4 {
                let d = (r * 8 + 2 * k) * PAGE;
                let f = (r * 4 + k) * PAGE;
                assert_eq!(&b[d..d + PAGE], &self.data[f..f + PAGE], "record {r} iovec {k}");
                assert!(
                    b[d + PAGE..d + 2 * PAGE].iter().all(|&x| x == 0),
                    "gap after record {r} iovec {k} written"
                );
            }
        }
    }
}

fn opts(s: Strategy, workers: u32) -> Options {
    let mut o = Options::new(s);
    o.workers = workers;
    o
}

fn settled(f: &Faults) {
    assert_eq!(
        f.threads_live.load(Ordering::Acquire),
        0,
        "a worker outlived the restore"
    );
    assert_eq!(f.stacks_live.load(Ordering::Acquire), 0, "a worker stack stayed mapped");
}

#[test]
fn failing_read_is_reported_with_its_record() {
    for s in [
        Strategy::Serial,
        Strategy::Prefetch,
        Strategy::Parallel,
        Strategy::Direct,
        Strategy::Aio,
        Strategy::AioDirect,
    ] {
        for nth in [1, 5, 30] {
            let t = setup();
            let f = Faults::default();
            f.fail_read_at.store(nth, Ordering::Relaxed);
            f.read_errno.store(Errno::EIO.raw_os_error() as i64, Ordering::Relaxed);
            let (r, out) = restore_with_faults(&t.file, &t.records(), &opts(s, 3), &f, &Policy::all());
            let fl = r.expect_err("an injected EIO must fail the restore");
            assert_eq!(fl.errno, Errno::EIO, "{s:?} {out:?}");
            assert!(fl.record < t.count && out.record == fl.record as i64, "{s:?} {out:?}");
            assert_eq!(fl.offset % PAGE as i64, 0, "failing offset is a read's start: {out:?}");
            settled(&f);
        }
    }
}

#[test]
fn short_reads_are_advanced_over() {
    for s in [
        Strategy::Serial,
        Strategy::Prefetch,
        Strategy::Parallel,
        Strategy::Direct,
        Strategy::Aio,
        Strategy::AioDirect,
    ] {
        let t = setup();
        let f = Faults::default();
        f.short_reads.store(true, Ordering::Relaxed);
        let (r, out) = restore_with_faults(&t.file, &t.records(), &opts(s, 2), &f, &Policy::all());
        assert_eq!(r, Ok(()), "{s:?}");
        assert_eq!(out.bytes as usize, t.data.len());
        t.check();
        settled(&f);
    }
}

#[test]
fn o_direct_einval_falls_back_to_buffered_reads() {
    einval_falls_back(Strategy::Direct, Strategy::Parallel);
}

#[test]
fn aio_o_direct_einval_falls_back_to_buffered_reads() {
    einval_falls_back(Strategy::AioDirect, Strategy::Aio);
}

/// `strategy` refused O_DIRECT by an injected EINVAL: it reads every byte buffered and
/// says it ran `buffered`.
fn einval_falls_back(strategy: Strategy, buffered: Strategy) {
    let t = setup();
    let f = Faults::default();
    f.direct_einval.store(true, Ordering::Relaxed);
    let flags = pie_sys::fs::fcntl_getfl(&t.file).unwrap();
    let (r, out) = restore_with_faults(&t.file, &t.records(), &opts(strategy, 2), &f, &Policy::all());
    assert_eq!(r, Ok(()));
    assert!(
        !f.direct_einval.load(Ordering::Relaxed),
        "the injected EINVAL was consumed"
    );
    // Only if O_DIRECT was on in the first place could it be refused: then the engine
    // says it ran buffered.
    assert_eq!(out.strategy, buffered as u32, "{out:?}");
    assert_eq!(pie_sys::fs::fcntl_getfl(&t.file).unwrap(), flags, "flags restored");
    t.check();
    settled(&f);
}

/// Parallel with `fault` set: no worker starts, the caller's thread reads everything.
fn falls_back_to_serial(fault: impl Fn(&Faults)) {
    let t = setup();
    let f = Faults::default();
    fault(&f);
    let (r, out) = restore_with_faults(&t.file, &t.records(), &opts(Strategy::Parallel, 4), &f, &Policy::all());
    assert_eq!(r, Ok(()));
    assert_eq!((out.strategy, out.workers), (Strategy::Serial as u32, 1), "{out:?}");
    t.check();
    settled(&f);
}

#[test]
fn clone_failure_falls_back_to_serial() {
    falls_back_to_serial(|f| f.clone_fails.store(true, Ordering::Relaxed));
}

#[test]
fn stack_enomem_falls_back_to_serial() {
    falls_back_to_serial(|f| f.stack_enomem.store(true, Ordering::Relaxed));
}

#[test]
fn workers_are_joined_and_unmapped() {
    let t = setup();
    let f = Faults::default();
    let (r, out) = restore_with_faults(&t.file, &t.records(), &opts(Strategy::Parallel, 4), &f, &Policy::all());
    assert_eq!(r, Ok(()));
    assert_eq!(out.workers, 4, "{out:?}");
    t.check();
    settled(&f);
}

#[test]
fn aio_submits_one_request_a_record_cut_at_the_dedup_chunk() {
    // The fault points count submissions: 48 records of 4 pages are 48 requests, or 96
    // with a 2-page auto-dedup chunk (upstream's path, one PREADV a record).
    for s in [Strategy::Aio, Strategy::AioDirect] {
        for (chunk, per_record) in [(0u64, 1i64), (2 * PAGE as u64, 2)] {
            let t = setup();
            let f = Faults::default();
            let requests = t.count as i64 * per_record;
            f.fail_read_at.store(requests + 1, Ordering::Relaxed);
            f.read_errno.store(Errno::EIO.raw_os_error() as i64, Ordering::Relaxed);
            let mut o = opts(s, 1);
            o.dedup_chunk = chunk;
            let (r, out) = restore_with_faults(&t.file, &t.records(), &o, &f, &Policy::all());
            assert_eq!(r, Ok(()), "{s:?} chunk {chunk}: {out:?}");
            assert_eq!(
                f.fail_read_at.load(Ordering::Relaxed),
                1,
                "{s:?} chunk {chunk}: {requests} requests expected"
            );
            t.check();
        }
    }
}
