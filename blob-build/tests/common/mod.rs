//! What blob-build's integration tests share: a scratch directory and the workspace root.

use std::fs;
use std::path::{Path, PathBuf};

/// A directory of this test run's own under cargo's test scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The workspace root (blob-build's parent).
pub fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}
