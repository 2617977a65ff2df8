//! Which CRIU tree the ABI comes from, and whether it was built.

use std::fs;
use std::path::{Path, PathBuf};

/// `$CRIU_TREE`, else the criu-src test fixture (CRIU 4.1.1).
pub fn locate() -> Result<PathBuf, String> {
    match std::env::var_os("CRIU_TREE") {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => criu_src::CriuTree::fixture()
            .map(|t| t.root().to_path_buf())
            .map_err(|e| format!("CRIU_TREE is not set and the criu-src fixture is not available: {e}")),
    }
}

/// The tree exists, is a CRIU source tree, and its build generated the headers
/// `restorer.h` needs (the feature config and the images' protobuf-c headers).
pub fn check(root: &Path) -> Result<(), String> {
    if !root.is_dir() {
        return Err(format!(
            "CRIU tree {} does not exist (set CRIU_TREE to a CRIU source tree)",
            root.display()
        ));
    }
    if !root.join("criu/include/restorer.h").is_file() {
        return Err(format!(
            "{} is not a CRIU source tree: it has no criu/include/restorer.h",
            root.display()
        ));
    }
    let config = root.join("include/common/config.h");
    let has_pb = fs::read_dir(root.join("images"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with(".pb-c.h"))
        })
        .unwrap_or(false);
    if !config.is_file() || !has_pb {
        let missing = if config.is_file() {
            "images/*.pb-c.h"
        } else {
            "include/common/config.h"
        };
        return Err(format!(
            "CRIU tree {} was not built (no generated {missing}): run `make criu` in it first",
            root.display()
        ));
    }
    Ok(())
}
