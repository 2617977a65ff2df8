//! The two CRIU 4.1.1 binaries the Rust-restorer tests compare: the fixture's own
//! (stock), and a copy of the fixture's tree with the Rust restorer installed by
//! `criu_pie::install` and rebuilt by the tree's own `make criu` (ours).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use criu_pie::install::{self, Options, RESTORER};
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

fn target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Both trees, the copy made, installed and built once a test process.
pub fn trees() -> &'static Trees {
    static TREES: OnceLock<Trees> = OnceLock::new();
    TREES.get_or_init(|| {
        let fixture = CriuTree::fixture().unwrap_or_else(|e| panic!("{e}"));
        let copy = target().join("rust-restorer/criu-4.1.1");
        let stamp = copy.join(".copied");
        if !stamp.is_file() {
            let _ = fs::remove_dir_all(&copy);
            fs::create_dir_all(copy.parent().unwrap()).unwrap();
            // -a: the copy keeps the build's mtimes, so make rebuilds only what install changes.
            let st = Command::new("cp")
                .arg("-a")
                .arg(fixture.root())
                .arg(&copy)
                .status()
                .unwrap();
            assert!(st.success(), "cp -a {} {}", fixture.root().display(), copy.display());
            fs::write(&stamp, b"").unwrap();
        }
        let done = install::install(&Options {
            tree: &copy,
            restorer: RESTORER,
            link_also: &[],
        })
        .unwrap_or_else(|e| panic!("install into {}: {e}", copy.display()));
        assert!(done.report().is_clean());
        let out = Command::new("make")
            .arg("-C")
            .arg(&copy)
            .args(["-j2", "criu"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make criu with the Rust restorer:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Trees {
            fixture,
            ours_root: copy,
        }
    })
}
