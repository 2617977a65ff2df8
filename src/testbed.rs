//! The two CRIU 4.1.1 binaries the Rust-restorer tests and benchmarks compare: the
//! criu-src fixture's own (stock), and a copy of the fixture's tree with the Rust
//! restorer installed by [`crate::install`] and rebuilt by the tree's own `make criu`
//! (ours). The copy lives under the target directory and is made once.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::install::{self, Options, Restorer, RESTORER, RESTORER_HUGE_COLLAPSE};
use criu_src::CriuTree;

pub struct Trees {
    pub fixture: CriuTree,
    /// The copy with ours installed.
    pub ours_root: PathBuf,
}

impl Trees {
    pub fn stock(&self) -> PathBuf {
        self.fixture.criu()
    }

    pub fn ours(&self) -> PathBuf {
        self.ours_root.join("criu/criu")
    }
}

/// The workspace's target directory (`CARGO_TARGET_DIR` if set).
pub fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| install::workspace_root().join("target"))
}

/// Both trees, the copy made, installed and built once a process.
pub fn trees() -> Result<&'static Trees, String> {
    static TREES: OnceLock<Result<Trees, String>> = OnceLock::new();
    TREES.get_or_init(make).as_ref().map_err(Clone::clone)
}

fn make() -> Result<Trees, String> {
    let fixture = CriuTree::fixture().map_err(|e| e.to_string())?;
    let copy = installed_copy(&fixture, "criu-4.1.1", RESTORER)?;
    Ok(Trees {
        fixture,
        ours_root: copy,
    })
}

/// The `criu` of a third copy of the fixture's tree, with the Rust restorer installed
/// with huge pages without advice (`install --huge-pages`), made once a process.
pub fn huge_collapse() -> Result<PathBuf, String> {
    static TREE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TREE.get_or_init(|| {
        let fixture = CriuTree::fixture().map_err(|e| e.to_string())?;
        installed_copy(&fixture, "criu-4.1.1-huge-collapse", RESTORER_HUGE_COLLAPSE).map(|r| r.join("criu/criu"))
    })
    .clone()
}

/// A copy of `fixture`'s tree under target/rust-restorer/`name`, with `restorer`
/// installed and `criu` rebuilt by the tree's own make.
fn installed_copy(fixture: &CriuTree, name: &str, restorer: Restorer) -> Result<PathBuf, String> {
    let copy = target().join("rust-restorer").join(name);
    let stamp = copy.join(".copied");
    if !stamp.is_file() {
        let _ = fs::remove_dir_all(&copy);
        fs::create_dir_all(copy.parent().unwrap()).map_err(|e| format!("mkdir {}: {e}", copy.display()))?;
        // -a: the copy keeps the build's mtimes, so make rebuilds only what install changes.
        let st = Command::new("cp").arg("-a").arg(fixture.root()).arg(&copy).status();
        if !matches!(&st, Ok(s) if s.success()) {
            return Err(format!("cp -a {} {}: {st:?}", fixture.root().display(), copy.display()));
        }
        fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))?;
    }
    install::install(&Options {
        tree: &copy,
        restorer,
        link_also: &[],
    })
    .map_err(|e| format!("install into {}: {e}", copy.display()))?;
    let out = Command::new("make")
        .arg("-C")
        .arg(&copy)
        .args(["-j2", "criu"])
        .output()
        .map_err(|e| format!("make: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "make criu with the Rust restorer:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(copy)
}
