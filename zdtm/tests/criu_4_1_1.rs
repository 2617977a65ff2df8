//! CRIU 4.1.1, built from Debian's source package by the fixture, on this machine's
//! kernel: `criu check`, and a patterned process dumped and restored with every byte of
//! its memory compared with the pattern afterwards.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criu_src::CriuTree;
use zdtm::roundtrip::{self, Criu};
use zdtm::sandbox::Sandbox;

/// tests/harness/pattern_workload.c's seed and layout.
const SEED: u64 = 0x5eed;
const PAGE: u64 = 4096;
const MIB: u64 = 1 << 20;
const STEP: Duration = Duration::from_secs(120);

fn tree() -> CriuTree {
    CriuTree::fixture().unwrap_or_else(|e| panic!("{e}"))
}

fn work(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("criu-4.1.1-{tag}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn criu_check_looks_good() {
    let t = tree();
    let out = Command::new(t.criu()).arg("check").output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("Looks good."),
        "criu check:\n{text}"
    );
    for h in t.generated_headers() {
        assert!(h.is_file(), "{} missing", h.display());
    }
    assert!(t.pie_dir().join("restorer.built-in.o").is_file());
    assert!(t.criu_include().join("restorer.h").is_file());
}

fn workload(dir: &Path) -> PathBuf {
    let exe = dir.join("pattern_workload");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/pattern_workload.c");
    let cc = cc::Build::new()
        .opt_level(2)
        .target("x86_64-unknown-linux-gnu")
        .host("x86_64-unknown-linux-gnu")
        .get_compiler();
    let st = cc.to_command().arg("-o").arg(&exe).arg(&src).status().unwrap();
    assert!(st.success(), "compile {}", src.display());
    exe
}

/// Every page of the workload's three VMAs: the pattern where it wrote, zeros elsewhere.
fn verify(pid: i32, base: u64) {
    let mem = fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let read = |addr: u64, len: u64| {
        let mut buf = vec![0u8; len as usize];
        std::os::unix::fs::FileExt::read_exact_at(&mem, &mut buf, addr).unwrap();
        buf
    };
    let zero = vec![0u8; PAGE as usize];
    let check = |start: u64, pages: u64, written: &dyn Fn(u64) -> bool, what: &str| {
        let buf = read(start, pages * PAGE);
        for i in 0..pages {
            let page = &buf[(i * PAGE) as usize..((i + 1) * PAGE) as usize];
            let addr = start + i * PAGE;
            if written(i) {
                let bad = criu_image::synth::check_pattern(SEED, addr, page);
                assert!(bad.is_none(), "{what}: page {i} ({addr:#x}) differs at byte {bad:?}");
            } else {
                assert!(page == zero.as_slice(), "{what}: hole page {i} ({addr:#x}) is not zero");
            }
        }
    };
    check(base, 96 * MIB / PAGE, &|i| i % 16 != 15, "VMA A");
    check(base + 96 * MIB, 16 * MIB / PAGE, &|i| i % 2 == 0, "VMA B");
    check(
        base + 112 * MIB,
        4 * MIB / PAGE,
        &|i| i < 2 * MIB / PAGE,
        "VMA C (file)",
    );
}

#[test]
fn a_patterned_process_survives_dump_and_restore() {
    let t = tree();
    let dir = work("pattern");
    let exe = workload(&dir);
    let mut sb = Sandbox::new().unwrap();
    let backing = dir.join("backing");
    let mut w = roundtrip::start(&sb, &dir, &exe, &[backing.as_os_str()], Duration::from_secs(60)).unwrap();
    let base = u64::from_str_radix(w.ready[1].trim_start_matches("0x"), 16).unwrap();
    verify(w.pid, base);

    let criu = Criu {
        criu: &t.criu(),
        dir: dir.clone(),
        timeout: STEP,
    };
    criu.dump(&sb, &mut w).unwrap_or_else(|e| panic!("{e}"));
    let rpid = criu.restore(&sb, w.pid).unwrap_or_else(|e| panic!("{e}"));
    verify(rpid, base);
    assert!(sb.kill_all(&[rpid], Duration::from_secs(10)).is_empty());
}
