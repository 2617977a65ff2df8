//! io_uring hygiene: after a restore returns, the task has exactly the threads it had
//! before, also after cold restores whose reads the kernel punts to its io-wq workers
//! (`iou-wrk-*`, threads of the restoring task, which outlive the ring). One test in its
//! own process, so that /proc/self/task is not disturbed by other tests.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use page_engine::abi::{Options, Strategy};
use page_engine::records::Records;
use page_engine::restore;
use pie_mapping::Mapping;

const PAGE: usize = vma_io::PAGE_SIZE;

/// The names of this process's threads.
fn threads() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path().join("comm");
            std::fs::read_to_string(p).unwrap_or_default().trim().to_owned()
        })
        .collect();
    v.sort();
    v
}

/// Drop the page cache (root only): the next reads go to the disk.
fn drop_caches() -> bool {
    std::fs::write("/proc/sys/vm/drop_caches", "1\n").is_ok()
}

#[test]
fn io_uring_restores_leave_no_thread_behind() {
    let pages = 16384; // 64 MiB
    let data: Vec<u8> = (0..pages * PAGE)
        .map(|i| (i as u32).wrapping_mul(0x9e37_79b9).to_le_bytes()[2])
        .collect();
    let dir = std::env::var_os("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, Into::into);
    let path = dir.join(format!("uring-threads-{}", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&data).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let before = threads();
    let cold = drop_caches();
    // Buffered, then O_DIRECT (reads the kernel more readily punts), each cold if root.
    for direct in [false, true] {
        let mut o = std::fs::OpenOptions::new();
        o.read(true);
        if direct {
            o.custom_flags(pie_sys::fs::OFlags::DIRECT.bits() as i32);
        }
        let f = o.open(&path).unwrap();
        for round in 0..3 {
            if cold {
                drop_caches();
            }
            let dst = Mapping::anon(pages * PAGE).unwrap();
            let words = [1u64, 0, dst.as_ptr() as u64, (pages * PAGE) as u64];
            // SAFETY: one CRIU-layout record into `dst`.
            let records = unsafe { Records::new(words.as_ptr() as *const u8, words.len() * 8, 1) };
            let ((r, out), _) = watching(|| restore(&f, &records, &Options::new(Strategy::IoUring)));
            assert!(r.is_ok(), "direct {direct} round {round}: {out:?}");
            assert_eq!(out.strategy, Strategy::IoUring as u32, "{out:?}");
            assert!(dst.bytes() == &data[..], "direct {direct} round {round}: wrong bytes");
            assert_eq!(
                threads(),
                before,
                "direct {direct} round {round} (cold {cold}): threads after the restore"
            );
        }
    }
    let _ = std::fs::remove_file(&path);

    // /dev/full has no FMODE_NOWAIT: io_uring punts every read of it to io-wq, whose
    // workers would stay (reads return zeros, which fresh memory holds too).
    let f = std::fs::File::open("/dev/full").unwrap();
    let mut punted = false;
    for round in 0..20 {
        let dst = Mapping::anon(pages * PAGE).unwrap();
        let words = [1u64, 0, dst.as_ptr() as u64, (pages * PAGE) as u64];
        // SAFETY: one CRIU-layout record into `dst`.
        let records = unsafe { Records::new(words.as_ptr() as *const u8, words.len() * 8, 1) };
        let ((r, out), seen) = watching(|| restore(&f, &records, &Options::new(Strategy::IoUring)));
        assert!(r.is_ok(), "/dev/full round {round}: {out:?}");
        assert_eq!(out.strategy, Strategy::IoUring as u32, "{out:?}");
        assert_eq!(out.bytes as usize, pages * PAGE);
        punted |= seen.iter().any(|t| t.starts_with("iou-wrk"));
        assert_eq!(threads(), before, "/dev/full round {round}: threads after the restore");
    }
    // The case is only worth its name if the kernel did punt (seen while it ran).
    assert!(punted, "no iou-wrk thread was ever seen: the reads were not punted");

    // Back to back, nothing between the return and the listing: the reader thread's TID
    // is cleared (and its join woken) before its exit is done, and it stays listed until
    // it is reaped; the join must wait for that too.
    let pages = 2048; // 8 MiB
    for round in 0..200 {
        let dst = Mapping::anon(pages * PAGE).unwrap();
        let words = [1u64, 0, dst.as_ptr() as u64, (pages * PAGE) as u64];
        // SAFETY: one CRIU-layout record into `dst`.
        let records = unsafe { Records::new(words.as_ptr() as *const u8, words.len() * 8, 1) };
        let (r, out) = restore(&f, &records, &Options::new(Strategy::IoUring));
        let now = threads();
        assert!(r.is_ok(), "/dev/full back-to-back round {round}: {out:?}");
        assert_eq!(
            now, before,
            "/dev/full back-to-back round {round}: threads after the restore"
        );
    }
}

/// Run `f` while another thread samples this process's thread names; returns what `f`
/// returned and every name seen while it ran, once the sampler has left /proc/self/task.
fn watching<T>(f: impl FnOnce() -> T) -> (T, std::collections::BTreeSet<String>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = AtomicBool::new(false);
    let (r, (seen, sampler)) = std::thread::scope(|sc| {
        let h = sc.spawn(|| {
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                seen.extend(threads());
            }
            (seen, thread_id())
        });
        let r = f();
        stop.store(true, Ordering::Relaxed);
        (r, h.join().unwrap())
    });
    // The join returns on the sampler's clear-tid wake, before its exit is done: until it
    // is reaped it is still listed, under the test thread's name (it inherited it).
    let listed = std::path::Path::new("/proc/self/task").join(sampler.to_string());
    let since = std::time::Instant::now();
    while listed.exists() {
        assert!(
            since.elapsed() < std::time::Duration::from_secs(10),
            "the sampler thread {sampler} is still listed 10 s after its join"
        );
        std::thread::yield_now();
    }
    (r, seen)
}

/// The calling thread's TID.
fn thread_id() -> u32 {
    let me = std::fs::read_link("/proc/thread-self").unwrap();
    me.file_name().unwrap().to_str().unwrap().parse().unwrap()
}
