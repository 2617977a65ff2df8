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

#[path = "../../tests/harness/workloads.rs"]
mod workloads;
use workloads::{compile, verify_pattern_workload as verify};

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

#[test]
fn a_patterned_process_survives_dump_and_restore() {
    let t = tree();
    let dir = work("pattern");
    let exe = compile("pattern_workload", &dir);
    let mut sb = Sandbox::new().unwrap();
    let backing = dir.join("backing");
    let mut w = roundtrip::start(&sb, &dir, &exe, &[backing.as_os_str()], Duration::from_secs(60)).unwrap();
    let base = u64::from_str_radix(w.ready[1].trim_start_matches("0x"), 16).unwrap();
    verify(w.pid, base);

    let stock = t.criu();
    let criu = Criu::new(&stock, &dir, STEP);
    criu.dump(&sb, &mut w).unwrap_or_else(|e| panic!("{e}"));
    let rpid = criu.restore(&sb, w.pid).unwrap_or_else(|e| panic!("{e}"));
    verify(rpid, base);
    assert!(sb.kill_all(&[rpid], Duration::from_secs(10)).is_empty());
}
