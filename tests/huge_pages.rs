//! Huge pages with the dumped VMA flags (`criu-pie install --huge-pages`):
//! `tests/harness/huge_workload.c` dumped by CRIU 4.1.1 and restored through the Rust
//! restorer installed that way into a copy of the fixture's tree, under THP `madvise` and
//! `never`. Every byte is checked, the restored VMAs and their VmFlags are the dumped
//! ones, huge where the image covers whole 2 MiB extents, 4 KiB where it does not or the
//! task said no. The default install (4 KiB pages) says so in its log.

#[path = "harness/workloads.rs"]
mod workloads;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use workloads::{compile, hex, verify_pattern, MIB, PAGE};
use zdtm::roundtrip::{self, Criu, Vma};
use zdtm::sandbox::Sandbox;

const STEP: Duration = Duration::from_secs(180);
const READY: Duration = Duration::from_secs(120);
const DENSE: u64 = 1024 * MIB;
const SMALL: u64 = 64 * MIB;
const HUGE: u64 = 2 * MIB;
const THP: &str = "/sys/kernel/mm/transparent_hugepage/enabled";

/// The tests here change the system's THP mode: one at a time.
static THP_MODE: Mutex<()> = Mutex::new(());

/// The THP mode set to `mode` for as long as it lives, the old one put back after.
struct ThpMode(String);

impl ThpMode {
    fn set(mode: &str) -> ThpMode {
        let text = fs::read_to_string(THP).unwrap();
        let old = text
            .split_whitespace()
            .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
            .unwrap()
            .to_string();
        fs::write(THP, mode).unwrap_or_else(|e| panic!("set {THP} to {mode}: {e}"));
        ThpMode(old)
    }
}

impl Drop for ThpMode {
    fn drop(&mut self) {
        let _ = fs::write(THP, &self.0);
    }
}

fn work(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("huge-pages-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The workload's four regions.
struct Regions {
    dense: u64,
    nohuge: u64,
    third: u64,
    holed: u64,
}

/// What the restore gave: the VMAs before and after, and the restored PID.
struct Restored {
    before: Vec<Vma>,
    after: Vec<Vma>,
    pid: i32,
    regions: Regions,
    log: String,
}

/// Start the workload, dump it with `criu` and restore it with the same binary.
fn round_trip(sb: &Sandbox, criu: &Path, tag: &str) -> Restored {
    let dir = work(tag);
    let exe = compile("huge_workload", &dir);
    let mut w = roundtrip::start(sb, &dir, &exe, &[], READY).unwrap();
    let regions = Regions {
        dense: hex(&w.ready[0]),
        nohuge: hex(&w.ready[1]),
        third: hex(&w.ready[2]),
        holed: hex(&w.ready[3]),
    };
    let before = roundtrip::vmas(w.pid).unwrap();
    let c = Criu::new(criu, &dir, STEP);
    c.dump(sb, &mut w).unwrap_or_else(|e| panic!("{e}"));
    let pid = c.restore(sb, w.pid).unwrap_or_else(|e| panic!("{e}"));
    let after = roundtrip::vmas(pid).unwrap();
    let log = fs::read_to_string(dir.join("img/restore.log")).unwrap();
    Restored {
        before,
        after,
        pid,
        regions,
        log,
    }
}

fn vma(v: &[Vma], start: u64) -> &Vma {
    v.iter()
        .find(|v| v.start == start)
        .unwrap_or_else(|| panic!("no VMA at {start:#x}"))
}

/// Every VMA the same range, permissions, name and VmFlags as dumped (CRIU itself adds
/// `ac` to a binary's text: that flag is not compared).
fn assert_same_vmas(r: &Restored) {
    let key = |v: &Vma| {
        let flags: Vec<&str> = v.flags.iter().map(String::as_str).filter(|f| *f != "ac").collect();
        format!("{:x}-{:x} {} {} [{}]", v.start, v.end, v.perms, v.name, flags.join(" "))
    };
    let (b, a): (Vec<String>, Vec<String>) = (r.before.iter().map(key).collect(), r.after.iter().map(key).collect());
    assert_eq!(a, b, "restored VMAs (left) differ from the dumped ones (right)");
}

/// The pattern on each page of `[start, start + len)` for which `written(page)`, zeros
/// on the others.
fn verify_pages(pid: i32, start: u64, len: u64, written: impl Fn(u64) -> bool, what: &str) {
    let b = roundtrip::read_mem(pid, start, len as usize).unwrap();
    for p in 0..len / PAGE {
        let addr = start + p * PAGE;
        let page = &b[(p * PAGE) as usize..((p + 1) * PAGE) as usize];
        if written(p) {
            let bad = criu_image::synth::check_pattern_parallel(workloads::SEED, addr, page);
            assert!(bad.is_none(), "{what}: page {addr:#x} differs at byte {bad:?}");
        } else {
            assert!(page.iter().all(|&x| x == 0), "{what}: page {addr:#x} not zero");
        }
    }
}

#[test]
fn restored_memory_is_huge_where_the_image_covers_whole_extents() {
    let _one = THP_MODE.lock().unwrap_or_else(|e| e.into_inner());
    let _mode = ThpMode::set("madvise");
    let ours = criu_pie::testbed::huge_collapse().unwrap_or_else(|e| panic!("{e}"));
    let mut sb = Sandbox::new().unwrap();
    let r = round_trip(&sb, &ours, "madvise");
    let g = &r.regions;
    assert_same_vmas(&r);

    // RSS and huge pages first: reading memory may fault pages in.
    let dense = vma(&r.after, g.dense);
    assert!(
        dense.anon_huge_kb * 1024 >= DENSE / 10 * 9,
        "dense 1 GiB: {} kB in huge pages\n{}",
        dense.anon_huge_kb,
        r.log
            .lines()
            .filter(|l| l.contains("Huge pages"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let nohuge = vma(&r.after, g.nohuge);
    assert_eq!(nohuge.anon_huge_kb, 0, "MADV_NOHUGEPAGE region");
    assert!(nohuge.flags.iter().any(|f| f == "nh"), "nh lost: {:?}", nohuge.flags);
    let third = vma(&r.after, g.third);
    let restored_kb = SMALL.div_ceil(3 * PAGE) * PAGE / 1024;
    assert!(
        third.rss_kb.abs_diff(restored_kb) * 50 <= restored_kb,
        "every third page: RSS {} kB, {restored_kb} kB restored",
        third.rss_kb
    );
    assert_eq!(third.anon_huge_kb, 0);
    let holed = vma(&r.after, g.holed);
    assert_eq!(holed.anon_huge_kb, 0, "a page missing in each 2 MiB");
    assert!(r.log.contains("Huge pages: "), "no huge-page line in the restore log");

    verify_pattern(r.pid, g.dense, DENSE, "dense region");
    verify_pattern(r.pid, g.nohuge, SMALL, "MADV_NOHUGEPAGE region");
    verify_pages(r.pid, g.third, SMALL, |p| p % 3 == 0, "every third page");
    verify_pages(r.pid, g.holed, SMALL, |p| p % (HUGE / PAGE) != 5, "holed region");
    assert!(sb.kill_all(&[r.pid], Duration::from_secs(10)).is_empty());
}

#[test]
fn under_thp_never_every_restored_page_is_small() {
    let _one = THP_MODE.lock().unwrap_or_else(|e| e.into_inner());
    let ours = criu_pie::testbed::huge_collapse().unwrap_or_else(|e| panic!("{e}"));
    let _mode = ThpMode::set("never");
    let mut sb = Sandbox::new().unwrap();
    let r = round_trip(&sb, &ours, "never");
    assert_same_vmas(&r);
    let huge: u64 = r.after.iter().map(|v| v.anon_huge_kb).sum();
    assert_eq!(huge, 0, "AnonHugePages under THP never");
    assert!(
        r.log.contains("Huge pages: off"),
        "the log does not say huge pages were off"
    );
    verify_pattern(r.pid, r.regions.dense, DENSE, "dense region");
    assert!(sb.kill_all(&[r.pid], Duration::from_secs(10)).is_empty());
}

/// The default install keeps every restored page 4 KiB and says why in the log.
#[test]
fn the_default_install_restores_small_pages() {
    let _one = THP_MODE.lock().unwrap_or_else(|e| e.into_inner());
    let _mode = ThpMode::set("madvise");
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let mut sb = Sandbox::new().unwrap();
    let r = round_trip(&sb, &t.ours(), "default");
    assert_same_vmas(&r);
    assert_eq!(vma(&r.after, r.regions.dense).anon_huge_kb, 0);
    assert!(
        r.log.contains("Huge pages: off (installed without --huge-pages)"),
        "no huge-page line in the restore log"
    );
    verify_pattern(r.pid, r.regions.dense, DENSE, "dense region");
    assert!(sb.kill_all(&[r.pid], Duration::from_secs(10)).is_empty());
}
