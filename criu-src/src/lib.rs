//! A real, built CRIU source tree for tests and tools.
//!
//! [`CriuTree::fixture_of`] gives one of the pinned CRIU releases ([`FIXTURES`]: 4.1.1
//! from Debian trixie, 4.2.1 from unstable; [`CriuTree::fixture`] is 4.1.1) as upstream's
//! tarball that Debian's source registry carries (pinned by size and sha256), downloaded
//! once through apt with a private sources list that names the Debian mirror of the
//! machine's own apt sources ([`mirror`]), unpacked and built (`criu` and zdtm's static
//! tests) under `target/criu-src/criu-VERSION`. Later calls, from any process, reuse it; a
//! file lock serialises concurrent first builds. Nothing of CRIU is in this repository:
//! only the code that fetches and builds it.
//!
//! Every failure names its step and carries the tail of that step's log ([`Error`]).

mod error;
mod fetch;
mod make;
pub mod mirror;
mod source;
mod tree;

pub use error::tail as tail_lines;
pub use error::{Error, Step};
pub use source::{Source, CRIU_4_1_1, CRIU_4_2_1, FIXTURES};
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
