//! The stack check as the build runs it: a blob whose entry reaches a deliberately deep
//! function fails the audit gate, and the error names the path; the same blob with a
//! small frame passes; recursion fails too.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{scratch, workspace};

/// A restorer-like blob: `__export_restore_task` (CRIU runs it on a 32 KiB zone stack)
/// calls `deep`, whose frame holds `FRAME` bytes; the parasite head the linker script
/// wants is a trap.
const BLOB: &str = r#"
__attribute__((section(".head.text"))) void __export_parasite_head_start(void) { __builtin_trap(); }

__attribute__((noinline)) long deep(volatile char *p, int n)
{
    volatile char buf[FRAME];
    buf[n % FRAME] = p[0];
    return buf[(n / 2) % FRAME];
}

__attribute__((noinline)) long middle(int n)
{
    char c = (char)n;
    return deep(&c, n) + 1;
}

long __export_restore_task(void *args) { return middle((int)(long)args); }
"#;

const RECURSIVE: &str = r#"
__attribute__((section(".head.text"))) void __export_parasite_head_start(void) { __builtin_trap(); }

__attribute__((noinline)) long walk(volatile long *n)
{
    volatile long next = *n - 1;
    return next > 0 ? walk(&next) + 1 : 0;
}

long __export_restore_task(void *args) { volatile long n = (long)args; return walk(&n); }
"#;

/// Compile `source` with `-DFRAME=frame` and link it as the blob is linked.
fn blob(dir: &Path, name: &str, source: &str, frame: u32) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    fs::write(&c, source).unwrap();
    let o = dir.join(format!("{name}.o"));
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-O2",
            "-fpie",
            "-fno-stack-protector",
            "-fno-asynchronous-unwind-tables",
            "-c",
        ])
        .arg(format!("-DFRAME={frame}"))
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .unwrap();
    assert!(out.status.success(), "cc: {}", String::from_utf8_lossy(&out.stderr));
    let linked = dir.join(format!("{name}.built-in.o"));
    blob_build::link(&[&o], &workspace().join("linker/restorer.lds"), &linked).unwrap();
    linked
}

#[test]
fn a_deep_function_fails_the_gate_naming_its_path() {
    let dir = scratch("stack-deep");
    let deep = blob(&dir, "deep", BLOB, 40000);
    let (audit, header) = (dir.join("deep-audit.txt"), dir.join("deep.h"));
    let e = blob_build::audit_and_header(&deep, "the deep blob", "restorer", &audit, &header).unwrap_err();
    assert!(e.contains("not a clean PIE object"), "{e}");
    let line = e
        .lines()
        .find(|l| l.contains("needs") && l.contains("bytes of stack"))
        .unwrap_or_else(|| panic!("no stack finding in:\n{e}"));
    assert!(line.starts_with("error: `__export_restore_task' needs "), "{line}");
    assert!(line.contains("deepest path: __export_restore_task (frame "), "{line}");
    assert!(line.contains("-> middle (at "), "{line}");
    assert!(line.contains("-> deep (at "), "{line}");
    assert!(line.contains("red zone 128, signal frame 4096"), "{line}");
    // The report was written for the failed build to read, and no header.
    assert!(fs::read_to_string(&audit).unwrap().contains("needs"));
    assert!(!header.exists());

    // The same blob with a small frame passes, and its report shows the path.
    let small = blob(&dir, "small", BLOB, 512);
    let r = blob_build::audit_and_header(&small, "the small blob", "restorer", &audit, &header).unwrap();
    let u = r.stacks.iter().find(|u| u.root == "__export_restore_task").unwrap();
    // A leaf keeps up to 128 bytes in its red zone, which the margin holds.
    assert!(u.fits() && u.depth + 128 >= 512 && u.depth < 2048, "{u:?}");
    let names: Vec<&str> = u.path.iter().map(|h| h.function.as_str()).collect();
    assert_eq!(names, ["__export_restore_task", "middle", "deep"]);
    assert_eq!(u.budget(), 32752 - u.margin);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn recursion_fails_the_gate() {
    let dir = scratch("stack-recursion");
    let obj = blob(&dir, "rec", RECURSIVE, 0);
    let e = blob_build::audit_clean(&obj, "the recursive blob").unwrap_err();
    assert!(e.contains("recursion: walk -> walk"), "{e}");
    fs::remove_dir_all(&dir).unwrap();
}
