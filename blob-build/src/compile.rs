//! The nested cargo that compiles a crate into one relocatable PIE object.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::run;

/// The blobs' target: CRIU's x86-64 restorer.
pub const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Flags meant for the host build (coverage, sanitizers, wrappers) that must not reach a
/// blob: they would add runtime calls no blob can resolve. The target dir and target are
/// given explicitly instead.
const HOST_ONLY_ENV: [&str; 7] = [
    "RUSTFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
];

/// Compile `package` of the workspace at `root`, with `features` (comma-separated, may be
/// empty), into the single relocatable object `out_dir/object_name`; returns its path.
///
/// A nested cargo, with its own target dir `out_dir/<package>-target` (an outer build
/// holds the lock on its own), builds the crate as a staticlib with fat LTO, so that the
/// one object it emits already contains what it uses of `core`; panic=abort keeps
/// unwinding machinery out. `extra_env` is set for the nested cargo (and so for the
/// crate's build scripts), e.g. `CRIU_TREE`.
pub fn compile(
    root: &Path,
    out_dir: &Path,
    package: &str,
    features: &str,
    object_name: &str,
    extra_env: &[(&str, &str)],
) -> Result<PathBuf, String> {
    let object = out_dir.join(object_name);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args(["rustc", "-p", package, "--release"]);
    if !features.is_empty() {
        cmd.args(["--features", features]);
    }
    cmd.args(["--crate-type", "staticlib", "--target", TARGET])
        .arg("--target-dir")
        .arg(out_dir.join(format!("{package}-target")))
        .args(["--", "-C", "relocation-model=pie"])
        .arg(format!("--emit=obj={}", object.display()))
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "false")
        .env("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "false");
    for var in HOST_ONLY_ENV {
        cmd.env_remove(var);
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    run(&mut cmd, &format!("cargo rustc -p {package}"))?;
    Ok(object)
}
