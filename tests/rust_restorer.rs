//! The Rust restorer inside CRIU 4.1.1: processes dumped by CRIU and restored through
//! our `restorer.built-in.o` (installed into a copy of the fixture's tree), with every
//! byte of their memory checked afterwards, their threads alive and counting, and a
//! MADV_HUGEPAGE VMA back in huge pages (stock CRIU's figure beside ours).

#[path = "harness/workloads.rs"]
mod workloads;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use workloads::{compile, hex, verify_pattern, verify_pattern_workload, MIB};
use zdtm::roundtrip::{self, Criu, Workload};
use zdtm::sandbox::Sandbox;

const STEP: Duration = Duration::from_secs(120);
const READY: Duration = Duration::from_secs(60);

fn work(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rust-restorer-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Dump `w` with `criu` and restore it with the same binary; the restored PID.
fn round_trip(sb: &Sandbox, criu: &Path, dir: &Path, w: &mut Workload) -> i32 {
    let c = Criu::new(criu, dir, STEP);
    c.dump(sb, w).unwrap_or_else(|e| panic!("{e}"));
    c.restore(sb, w.pid).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_patterned_process_comes_back_byte_for_byte() {
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let dir = work("pattern");
    let exe = compile("pattern_workload", &dir);
    let mut sb = Sandbox::new().unwrap();
    let backing = dir.join("backing");
    let mut w = roundtrip::start(&sb, &dir, &exe, &[backing.as_os_str()], READY).unwrap();
    let base = hex(&w.ready[1]);
    verify_pattern_workload(w.pid, base);
    let pid = round_trip(&sb, &t.ours(), &dir, &mut w);
    verify_pattern_workload(pid, base);
    assert!(sb.kill_all(&[pid], Duration::from_secs(10)).is_empty());
}

/// A panic inside the restorer (CRIU_FAULT=126: the leader panics right after the SIGCHLD
/// stage, where CRIU no longer watches its exit, only the stage futex) takes CRIU's abort
/// path: `criu restore` fails long before its deadline, and the task is gone.
#[test]
fn a_panic_in_the_restorer_fails_the_restore_through_the_abort_path() {
    const DEADLINE: Duration = Duration::from_secs(90);
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let dir = work("panic");
    let exe = compile("pattern_workload", &dir);
    let mut sb = Sandbox::new().unwrap();
    let backing = dir.join("backing");
    let mut w = roundtrip::start(&sb, &dir, &exe, &[backing.as_os_str()], READY).unwrap();
    let ours = t.ours();
    let mut c = Criu::new(&ours, &dir, DEADLINE);
    c.restore_env = vec![("CRIU_FAULT".into(), "126".into())];
    c.dump(&sb, &mut w).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let err = c
        .restore(&sb, w.pid)
        .expect_err("the restore succeeded despite the panic");
    let took = started.elapsed();
    assert!(err.contains("Exited("), "criu restore did not exit by itself: {err}");
    assert!(took < DEADLINE / 2, "criu restore took {took:?}");
    let log = fs::read_to_string(dir.join("img/restore.log")).unwrap();
    assert!(
        log.contains("the Rust restorer panicked"),
        "no panic line in the log:\n{err}"
    );
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        !zdtm::sandbox::alive(w.pid)
    });
    assert!(gone, "the task {} outlived the failed restore", w.pid);
    assert!(sb.kill_all(&[], Duration::from_secs(10)).is_empty());
}

/// Each thread's counter, read from the counters page.
fn counters(pid: i32, at: u64, n: usize) -> Vec<u64> {
    let b = roundtrip::read_mem(pid, at, n * 8).unwrap();
    b.chunks(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap())).collect()
}

/// Start the threads workload, take it through ours with `env` on the restore; check
/// the threads, their memory and that each keeps counting. Returns the restore log.
fn threads_round_trip(tag: &str, env: &[(&str, &str)]) -> String {
    const THREADS: usize = 4;
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let dir = work(tag);
    let exe = compile("threads_workload", &dir);
    let mut sb = Sandbox::new().unwrap();
    let n = THREADS.to_string();
    let mut w = roundtrip::start(&sb, &dir, &exe, &[OsStr::new(&n)], READY).unwrap();
    let (base, ctr) = (hex(&w.ready[1]), hex(&w.ready[2]));
    assert_eq!(roundtrip::threads(w.pid).unwrap(), THREADS + 1);
    let ours = t.ours();
    let mut c = Criu::new(&ours, &dir, STEP);
    c.restore_env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    c.dump(&sb, &mut w).unwrap_or_else(|e| panic!("{e}"));
    let pid = c.restore(&sb, w.pid).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(
        roundtrip::threads(pid).unwrap(),
        THREADS + 1,
        "threads after the restore"
    );
    for i in 0..THREADS as u64 {
        verify_pattern(pid, base + i * 4 * MIB, 4 * MIB, &format!("thread {i}'s slice"));
    }
    // Every thread runs on: its thread-local counter (fs base restored, vDSO working)
    // keeps growing.
    let before = counters(pid, ctr, THREADS);
    std::thread::sleep(Duration::from_millis(300));
    let after = counters(pid, ctr, THREADS);
    for i in 0..THREADS {
        assert!(
            after[i] > before[i],
            "thread {i} stopped counting: {} -> {}",
            before[i],
            after[i]
        );
    }
    assert!(sb.kill_all(&[pid], Duration::from_secs(10)).is_empty());
    fs::read_to_string(dir.join("img/restore.log")).unwrap()
}

#[test]
fn a_multi_threaded_process_comes_back_with_every_thread_running() {
    threads_round_trip("threads", &[]);
}

/// CRIU's fault injection FI_VDSO_TRAMPOLINES (127): the restorer proxies the dumped vDSO
/// through jump trampolines instead of moving the runtime one in place.
#[test]
fn forced_vdso_trampolines_keep_the_process_running() {
    let log = threads_round_trip("threads-trampolines", &[("CRIU_FAULT", "127")]);
    assert!(
        log.contains("vdso: Runtime vdso mismatches dumpee, generate proxy"),
        "no proxy in the restore log"
    );
}

/// Restore the THP workload with `criu`; its VMA's AnonHugePages before and after (kB).
fn huge_pages_with(criu: &Path, tag: &str) -> (u64, u64) {
    let dir = work(tag);
    let exe = compile("thp_workload", &dir);
    let mut sb = Sandbox::new().unwrap();
    let mut w = roundtrip::start(&sb, &dir, &exe, &[], READY).unwrap();
    let (base, len) = (hex(&w.ready[0]), w.ready[1].parse::<u64>().unwrap());
    let before = roundtrip::anon_huge_kb(w.pid, base).unwrap();
    let pid = round_trip(&sb, criu, &dir, &mut w);
    verify_pattern(pid, base, len, "the MADV_HUGEPAGE VMA");
    let after = roundtrip::anon_huge_kb(pid, base).unwrap();
    assert!(sb.kill_all(&[pid], Duration::from_secs(10)).is_empty());
    (before, after)
}

#[test]
fn a_madv_hugepage_vma_comes_back_in_huge_pages() {
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let (orig, ours) = huge_pages_with(&t.ours(), "thp-ours");
    let (stock_orig, stock) = huge_pages_with(&t.stock(), "thp-stock");
    eprintln!(
        "AnonHugePages of a 64 MiB MADV_HUGEPAGE VMA: dumped {orig} kB, restored by ours {ours} kB; \
         stock CRIU 4.1.1: dumped {stock_orig} kB, restored {stock} kB"
    );
    assert!(
        orig >= 32 * 1024,
        "the workload got only {orig} kB of huge pages: THP unavailable here?"
    );
    assert!(
        ours * 10 >= orig * 9,
        "ours restored {ours} kB of huge pages, the original had {orig} kB"
    );
}
