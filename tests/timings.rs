//! `criu-pie timings` on committed restore logs (trimmed real `criu restore -v4` logs of
//! CRIU 4.1.1, stock and ours). A log made in a test is read in `install_default.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use criu_pie::timings::{self, Restorer, Timings};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/timings")
        .join(name)
}

fn read(name: &str) -> Timings {
    timings::of_file(&fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn names(p: &[timings::Phase]) -> Vec<&str> {
    p.iter().map(|p| p.name).collect()
}

/// The stages tile the log: each starts where the previous ended.
fn assert_tiled(t: &Timings) {
    for w in t.stages.windows(2) {
        assert_eq!(w[0].end_us, w[1].start_us, "{:?}", t.stages);
    }
    assert_eq!(
        names(&t.stages),
        ["setup", "forking", "memory premap", "files", "restorer", "after"]
    );
}

#[test]
fn ours_single_task() {
    let t = read("ours-4.1.1-restore.log");
    assert_eq!((t.version.as_deref(), t.restorer), (Some("4.1.1"), Restorer::Rust));
    assert_tiled(&t);
    let restorer = &t.stages[4];
    assert_eq!((restorer.start_us, restorer.end_us), (47_636, 144_967));
    assert_eq!(t.stages[5].end_us, 145_535, "after ends at \"Restore finished\"");
    let [task] = t.tasks.as_slice() else {
        panic!("{:?}", t.tasks)
    };
    assert_eq!(task.pid, 28077);
    assert_eq!(names(&task.phases), ["map", "pages", "finish"]);
    let pages = task.pages.as_ref().unwrap();
    // From the last VMA mapped to "Restored N bytes of pages".
    assert_eq!(
        (pages.phase.start_us, pages.phase.end_us, pages.bytes),
        (48_614, 144_838, Some(104_976_384))
    );
    assert_eq!(task.us(), 144_967 - 48_132);
}

#[test]
fn stock_single_task() {
    let t = read("stock-4.1.1-restore.log");
    assert_eq!(t.restorer, Restorer::Stock);
    assert_tiled(&t);
    let [task] = t.tasks.as_slice() else {
        panic!("{:?}", t.tasks)
    };
    let pages = task.pages.as_ref().unwrap();
    // From the first "Preadv" to the last line of the read loop; bytes from "returned".
    assert_eq!(
        (pages.phase.start_us, pages.phase.end_us, pages.bytes),
        (46_353, 110_720, Some(67_227_648))
    );
    assert_eq!(task.phases.last().unwrap().end_us, 110_872);
}

#[test]
fn threads_belong_to_their_task() {
    let t = read("ours-4.1.1-threads-restore.log");
    let [task] = t.tasks.as_slice() else {
        panic!("one task, its threads not tasks: {:?}", t.tasks)
    };
    assert_eq!(task.pid, 27762);
    assert_eq!(task.phases.last().unwrap().end_us, 97_898);
    assert_eq!(task.pages.as_ref().unwrap().bytes, Some(16_936_960));
}

#[test]
fn not_a_restore_log() {
    assert!(timings::of_log("").is_err());
    let e = timings::of_log("(00.000001) Dumping task\n").unwrap_err();
    assert!(e.contains("restore log"), "{e}");
}

#[test]
fn cli_text_and_json() {
    let exe = env!("CARGO_BIN_EXE_criu-pie");
    let out = Command::new(exe)
        .arg("timings")
        .arg(fixture("ours-4.1.1-restore.log"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("104976384 bytes") && text.contains("GB/s") && text.contains("memory premap"),
        "{text}"
    );
    let out = Command::new(exe)
        .args(["timings", "--json"])
        .arg(fixture("stock-4.1.1-restore.log"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["restorer"], "stock");
    assert_eq!(v["tasks"][0]["pages"]["bytes"], 67_227_648);
    let missing = Command::new(exe)
        .args(["timings", "/nonexistent/restore.log"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
}
