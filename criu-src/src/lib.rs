//! A real, built CRIU source tree for tests and tools.
//!
//! [`CriuTree::fixture`] gives CRIU 4.1.1's upstream source as Debian's source registry
//! carries it (trixie's `criu_4.1.1.orig.tar.xz`, pinned by size and sha256), downloaded
//! once through apt with a private sources list, unpacked and built (`criu` and zdtm's
//! static tests) under `target/criu-src/`. Later calls, from any process, reuse it; a file
//! lock serialises concurrent first builds. Nothing of CRIU is in this repository: only
//! the code that fetches and builds it.
//!
//! Every failure names its step and carries the tail of that step's log ([`Error`]).

mod error;
mod fetch;
mod make;
mod source;
mod tree;

pub use error::tail as tail_lines;
pub use error::{Error, Step};
pub use source::{Source, CRIU_4_1_1};
pub use tree::CriuTree;

use std::path::PathBuf;

/// Where fixtures are cached: `$CRIU_SRC_CACHE`, else `$CARGO_TARGET_DIR/criu-src`, else
/// the workspace's `target/criu-src`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CRIU_SRC_CACHE") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criu-src")
}
