//! `criu-pie compact` on a real CRIU 4.1.1 dump of a process tree (tests/harness/
//! zero_workload.c): the 512 MiB zero region goes, the zeroed copy-on-write page of a
//! private file mapping stays, and so does the forked child's zero page over its
//! parent's data. Killed after each of its steps, the directory restores the same tree
//! (stock CRIU and the Rust restorer in turn); compacted, both restore it, every byte of
//! both processes checked.

#[path = "harness/workloads.rs"]
mod workloads;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criu_image::pagemap::read_pagemap;
use workloads::{check_pattern_range, compile, hex, MIB, PAGE};
use zdtm::roundtrip::{self, Criu};
use zdtm::sandbox::Sandbox;

const STEP: Duration = Duration::from_secs(180);

/// The regions' addresses and the child's PID, from the ready line.
struct Layout {
    p: u64,
    z: u64,
    f: u64,
    x: u64,
    child: i32,
}

fn zero_range(pid: i32, start: u64, len: u64) -> Result<(), String> {
    let mem = fs::File::open(format!("/proc/{pid}/mem")).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; (4 * MIB) as usize];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(buf.len() as u64) as usize;
        std::os::unix::fs::FileExt::read_exact_at(&mem, &mut buf[..n], start + at).map_err(|e| e.to_string())?;
        if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
            return Err(format!("byte at {:#x} is not zero", start + at + i as u64));
        }
        at += n as u64;
    }
    Ok(())
}

/// Every page of a region: the pattern, or zeros on the pages `zero` names.
fn region(pid: i32, start: u64, pages: u64, zero: &dyn Fn(u64) -> bool, what: &str) {
    for i in 0..pages {
        let a = start + i * PAGE;
        let r = if zero(i) {
            zero_range(pid, a, PAGE)
        } else {
            check_pattern_range(pid, a, PAGE)
        };
        if let Err(e) = r {
            panic!("{what} of {pid}, page {i}: {e}");
        }
    }
}

/// Every byte of the four regions of both processes.
fn verify(l: &Layout, parent: i32) {
    for (pid, child) in [(parent, false), (l.child, true)] {
        let hole = |i: u64| i == 5 || (100..110).contains(&i);
        region(pid, l.p, 16 * MIB / PAGE, &hole, "P");
        zero_range(pid, l.z, 512 * MIB).unwrap_or_else(|e| panic!("Z of {pid}: {e}"));
        region(pid, l.f, MIB / PAGE, &|i| i == 3, "F");
        region(pid, l.x, MIB / PAGE, &|i| child && i == 7, "X");
    }
}

/// Whether `pid`'s pagemap holds the page at `addr`.
fn holds(img: &Path, pid: i32, addr: u64) -> bool {
    read_pagemap(img, pid as u32)
        .unwrap()
        .entries
        .iter()
        .any(|e| e.is_present() && (e.vaddr..e.vaddr + e.nr_pages * PAGE).contains(&addr))
}

/// The bytes of every pages file of `img`.
fn pages_bytes(img: &Path) -> u64 {
    fs::read_dir(img)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("pages-"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// `dir/img` made of hard links to `from`'s files: compact never writes a file it did
/// not create, so the original stays as it was.
fn link_copy(from: &Path, dir: &Path) {
    let img = dir.join("img");
    let _ = fs::remove_dir_all(&img);
    fs::create_dir_all(&img).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::hard_link(e.path(), img.join(e.file_name())).unwrap();
        }
    }
}

fn compact(img: &Path, fault: Option<String>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_criu-pie"));
    c.arg("compact").arg(img);
    match fault {
        Some(f) => c.env("CRIU_PIE_COMPACT_FAULT", f),
        None => c.env_remove("CRIU_PIE_COMPACT_FAULT"),
    };
    c.output().unwrap()
}

/// Restore in a sandbox of its own (killing its members ends it), check every byte, and
/// leave the tree's PIDs free for the next restore.
fn restore_and_verify(criu: &Path, dir: &Path, l: &Layout, parent: i32, what: &str) {
    let mut sb = Sandbox::new().unwrap();
    let _ = fs::remove_file(dir.join("img/restore.pid"));
    let c = Criu::new(criu, dir, STEP);
    let pid = c.restore(&sb, parent).unwrap_or_else(|e| panic!("{what}: {e}"));
    verify(l, pid);
    assert!(sb.kill_all(&[pid, l.child], Duration::from_secs(10)).is_empty());
    assert!(
        zdtm::sandbox::wait_free(&[pid, l.child], Duration::from_secs(10)),
        "{what}: the tree's PIDs stay taken"
    );
}

#[test]
fn a_real_dump_compacts_and_restores_byte_for_byte() {
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let base: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("compact-criu");
    let _ = fs::remove_dir_all(&base);
    let dump_dir = base.join("dump");
    fs::create_dir_all(&dump_dir).unwrap();
    let exe = compile("zero_workload", &dump_dir);
    let mut sb = Sandbox::new().unwrap();
    let backing = dump_dir.join("backing");
    let mut w = roundtrip::start(&sb, &dump_dir, &exe, &[backing.as_os_str()], Duration::from_secs(60)).unwrap();
    let l = Layout {
        p: hex(&w.ready[0]),
        z: hex(&w.ready[1]),
        f: hex(&w.ready[2]),
        x: hex(&w.ready[3]),
        child: w.ready[4].parse().unwrap(),
    };
    let parent = w.pid;
    verify(&l, parent);
    let stock = t.stock();
    let ours = t.ours();
    Criu::new(&stock, &dump_dir, STEP)
        .dump(&sb, &mut w)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sb.kill_all(&[parent, l.child], Duration::from_secs(10)).is_empty());
    assert!(zdtm::sandbox::wait_free(&[parent, l.child], Duration::from_secs(10)));
    let orig = dump_dir.join("img");
    let before = pages_bytes(&orig);

    // Killed after each step: the directory restores the same tree.
    let work = base.join("work");
    let mut n = 1;
    loop {
        link_copy(&orig, &work);
        let out = compact(&work.join("img"), Some(format!("stop:{n}")));
        if out.status.success() {
            break;
        }
        let criu = if n % 2 == 0 { &stock } else { &ours };
        restore_and_verify(criu, &work, &l, parent, &format!("killed after step {n}"));
        n += 1;
        assert!(n < 100, "no end to the steps");
    }
    eprintln!(
        "killed after each of {} steps: every directory restored the tree",
        n - 1
    );

    // The whole run.
    link_copy(&orig, &work);
    let img = work.join("img");
    let out = compact(&img, None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    let after = pages_bytes(&img);
    assert!(
        before - after >= 2 * 512 * MIB + 22 * PAGE,
        "pages {before} -> {after}: the zero region (in both tasks) and P's zero pages should go"
    );
    for pid in [parent, l.child] {
        assert!(
            !holds(&img, pid, l.z) && !holds(&img, pid, l.z + 511 * MIB),
            "Z kept in {pid}"
        );
        assert!(!holds(&img, pid, l.p + 5 * PAGE), "P's zero page kept in {pid}");
        assert!(holds(&img, pid, l.f + 3 * PAGE), "F's zeroed CoW page dropped in {pid}");
    }
    assert!(
        holds(&img, l.child, l.x + 7 * PAGE),
        "the child's zero page over its parent's data was dropped"
    );
    for criu in [&stock, &ours] {
        restore_and_verify(criu, &work, &l, parent, &format!("compacted, {}", criu.display()));
    }
}
