#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "criu-image-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small deterministic generator for mutation tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        criu_image::synth::splitmix64(self.0)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The pagemap entries as Debian's `crit` decodes them, one `(vaddr, nr_pages, flags,
/// in_parent)` per entry after the head, and the head's pages_id. Panics with a clear
/// message when crit is missing.
pub struct CritPagemap {
    pub magic: String,
    pub pages_id: u64,
    pub entries: Vec<(u64, u64, String, bool)>,
}

/// Run `crit` with `args`, returning its stdout.
pub fn crit(args: &[&str]) -> String {
    let out = match Command::new("crit").args(args).output() {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run `crit` ({e}): these cross-checks need CRIU's crit tool \
             (Debian/Ubuntu: apt-get install criu)"
        ),
    };
    assert!(
        out.status.success(),
        "crit {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("crit prints UTF-8")
}

/// Flatten crit's JSON with python3 (which crit itself runs on).
fn flatten(json: &str, script: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 (which crit needs) runs");
    child.stdin.take().unwrap().write_all(json.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "python3 failed on crit's output");
    String::from_utf8(out.stdout).unwrap()
}

/// `crit decode -i path --pretty`, parsed: vaddr is printed in hex and flags by name in
/// this form.
pub fn crit_pagemap(path: &Path) -> CritPagemap {
    let json = crit(&["decode", "-i", path.to_str().unwrap(), "--pretty"]);
    let script = r#"
import json, sys
d = json.load(sys.stdin)
print(d["magic"])
es = d["entries"]
print(es[0]["pages_id"])
for e in es[1:]:
    v = e["vaddr"]
    v = int(v, 16) if isinstance(v, str) else v
    print(v, e["nr_pages"], e.get("flags", "-") or "-", 1 if e.get("in_parent") else 0)
"#;
    let flat = flatten(&json, script);
    let mut lines = flat.lines();
    let magic = lines.next().unwrap().to_string();
    let pages_id = lines.next().unwrap().parse().unwrap();
    let entries = lines
        .map(|l| {
            let mut f = l.rsplitn(2, ' ');
            let parent = f.next().unwrap() == "1";
            let rest = f.next().unwrap();
            let mut g = rest.splitn(3, ' ');
            let vaddr = g.next().unwrap().parse().unwrap();
            let nr = g.next().unwrap().parse().unwrap();
            let flags = g.next().unwrap().to_string();
            (vaddr, nr, flags, parent)
        })
        .collect();
    CritPagemap {
        magic,
        pages_id,
        entries,
    }
}

/// crit's spelling of pagemap flags ("PE_LAZY | PE_PRESENT"), "-" for none.
pub fn crit_flags(flags: u32) -> String {
    let names: Vec<&str> = [(1, "PE_PARENT"), (2, "PE_LAZY"), (4, "PE_PRESENT")]
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(" | ")
    }
}
