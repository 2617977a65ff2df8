//! Restores that fail or succeed leave nothing behind: no fd (io_uring rings, O_DIRECT
//! flags), no thread, no mapping. One test in its own process, so /proc/self counts are
//! not disturbed by other tests.

use std::io::Write;

use page_engine::abi::{Options, Strategy};
use page_engine::records::Records;
use page_engine::restore;
use pie_mapping::Mapping;
use pie_sys::fs;

const PAGE: usize = vma_io::PAGE_SIZE;

fn count(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

fn maps() -> usize {
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().count()
}

#[test]
fn restores_leave_no_fd_thread_or_mapping() {
    let pages = 4096; // 16 MiB, cut to half below for the failing runs
    let data: Vec<u8> = (0..pages * PAGE)
        .map(|i| (i as u32).wrapping_mul(0x9e37_79b9).to_le_bytes()[1])
        .collect();
    let path = std::env::temp_dir().join(format!("no-leaks-{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f.write_all(&data).unwrap();
    let dst = Mapping::anon(pages * PAGE).unwrap();
    let words = [1u64, 0, dst.as_ptr() as u64, (pages * PAGE) as u64];
    // SAFETY: one CRIU-layout record into `dst`.
    let records = unsafe { Records::new(words.as_ptr() as *const u8, words.len() * 8, 1) };
    let flags = fs::fcntl_getfl(&f).unwrap();

    // The first restore may make the allocator set up arenas for the test's own reads of
    // /proc: count after it.
    let _ = restore(&f, &records, &Options::new(Strategy::Parallel));
    let (fds, tasks, nmaps) = (count("/proc/self/fd"), count("/proc/self/task"), maps());

    let strategies = [
        Strategy::Serial,
        Strategy::Parallel,
        Strategy::IoUring,
        Strategy::Direct,
        Strategy::Aio,
        Strategy::AioDirect,
        Strategy::Auto,
    ];
    for s in strategies {
        let mut o = Options::new(s);
        o.workers = 4;
        let (r, out) = restore(&f, &records, &o);
        assert!(r.is_ok(), "{s:?}: {out:?}");
    }
    f.set_len((pages / 2) as u64 * PAGE as u64).unwrap();
    for s in strategies {
        let mut o = Options::new(s);
        o.workers = 4;
        let (r, out) = restore(&f, &records, &o);
        assert_eq!(r.unwrap_err().errno, pie_sys::Errno::ENODATA, "{s:?}: {out:?}");
    }
    assert_eq!(count("/proc/self/fd"), fds, "an fd leaked");
    assert_eq!(count("/proc/self/task"), tasks, "a thread outlived its restore");
    assert_eq!(maps(), nmaps, "a mapping (worker stack, ring) stayed");
    assert_eq!(fs::fcntl_getfl(&f).unwrap(), flags, "the fd's flags changed");
    drop(dst);
}
