//! `criu-pie install` with no `--criu`, as a new user runs it: into a clean work
//! directory (the fixture's cache is shared), with `--prefix` into a temporary
//! directory. The binary exists and reports its version, its restorer is ours (the
//! self-check's restore log carries our page line), the self-check passed, and
//! `criu-pie timings` reads the log the check made.

use std::fs;
use std::path::Path;
use std::process::Command;

use criu_pie::timings::{self, Restorer};

#[test]
fn install_with_no_tree_builds_checks_and_installs_criu() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("install-default");
    let _ = fs::remove_dir_all(&tmp);
    let (work, prefix) = (tmp.join("work"), tmp.join("prefix"));
    let exe = env!("CARGO_BIN_EXE_criu-pie");
    let out = Command::new(exe)
        .arg("install")
        .arg("--work")
        .arg(&work)
        .arg("--prefix")
        .arg(&prefix)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    // One line as each step starts and one as it ends.
    for s in ["fetch", "copy", "install", "build", "prefix", "check"] {
        assert!(
            text.lines().any(|l| l.starts_with(s) && l.ends_with("...")),
            "no start of {s}:\n{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with(s) && l.contains(" done (")),
            "no end of {s}:\n{text}"
        );
    }
    assert!(text.contains("every byte of the restored process equal"), "{text}");

    let criu = work.join("criu-4.2.1/criu/criu");
    let installed = prefix.join("sbin/criu");
    assert_eq!(fs::read(&criu).unwrap(), fs::read(&installed).unwrap());
    let v = Command::new(&installed).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).contains("Version: 4.2.1"), "{v:?}");
    // CRIU's own object kept beside ours.
    assert!(work.join("criu-4.2.1/criu/pie/restorer.built-in.o.orig").is_file());

    let ours = timings::of_file(&work.join("check/ours/img/restore.log")).unwrap();
    assert_eq!(
        (ours.version.as_deref(), ours.restorer),
        (Some("4.2.1"), Restorer::Rust)
    );
    let stock = timings::of_file(&work.join("check/stock/img/restore.log")).unwrap();
    assert_eq!(stock.restorer, Restorer::Stock);
    for t in [&ours, &stock] {
        let [task] = t.tasks.as_slice() else {
            panic!("{:?}", t.tasks)
        };
        // The workload's written pages (about 100 MiB) and then some: libc, stack.
        let bytes = task.pages.as_ref().and_then(|p| p.bytes).unwrap();
        assert!(bytes > 95 << 20, "{bytes}");
        let stages: Vec<&str> = t.stages.iter().map(|s| s.name).collect();
        assert_eq!(
            stages,
            ["setup", "forking", "memory premap", "files", "restorer", "after"]
        );
    }
}
