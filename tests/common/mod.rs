//! Shared by the root integration tests: building and running the C blob loader.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The project's root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A C compiler as the `cc` crate finds it (honours `CC`).
pub fn c_compiler() -> Command {
    let target = "x86_64-unknown-linux-gnu";
    cc::Build::new()
        .target(target)
        .host(target)
        .opt_level(2)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler()
        .to_command()
}

/// The C loader (`tests/harness/blob_loader.c`) built against the blob's generated header
/// and Debian's libcompel, once per test binary.
pub fn loader() -> &'static Path {
    static LOADER: OnceLock<PathBuf> = OnceLock::new();
    LOADER.get_or_init(|| {
        let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("blob_loader-{}", std::process::id()));
        let header_dir = Path::new(criu_pie::BLOB_HEADER).parent().unwrap();
        let out = c_compiler()
            .args(["-Wall", "-Wextra", "-Werror", "-I"])
            .arg(header_dir)
            .arg("-I")
            .arg(root().join("include"))
            .arg("-o")
            .arg(&exe)
            .arg(root().join("tests/harness/blob_loader.c"))
            .arg("-lcompel")
            .output()
            .expect("run the C compiler");
        assert!(
            out.status.success(),
            "building the blob loader failed (is Debian's criu package, which ships libcompel, installed? run scripts/setup):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    })
}

/// Run the loader with `args`; returns its output.
pub fn run_loader<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(loader()).args(args).output().expect("run the blob loader")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `key=value` from a loader result line.
pub fn field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace().find_map(|kv| {
        kv.strip_prefix(key)
            .and_then(|r| r.strip_prefix('='))
            .map(str::to_owned)
    })
}
