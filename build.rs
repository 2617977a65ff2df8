//! Builds the restorer blob for this crate: the `restorer` crate compiled as one LTO'd
//! PIE object, linked with `ld -r` and `linker/restorer.lds` into `restorer.built-in.o`,
//! audited by compel-gen (the build fails with the audit's diagnostics if the blob is not
//! clean), and its compel header emitted. All three land in `OUT_DIR`; their paths are
//! exported to the crate as `CRIU_PIE_BLOB_{OBJECT,HEADER,AUDIT}`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

/// The header's symbol prefix, as CRIU names its restorer blob.
const PREFIX: &str = "restorer";
const TARGET: &str = "x86_64-unknown-linux-gnu";

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for p in [
        "restorer/src",
        "restorer/Cargo.toml",
        "vma-io/src",
        "vma-io/Cargo.toml",
        "linker/restorer.lds",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    let object = compile_restorer(&root, &out, "standalone", "restorer.o").unwrap_or_else(|e| fail(&e));
    let blob = out.join("restorer.built-in.o");
    link_blob(&object, &root.join("linker/restorer.lds"), &blob).unwrap_or_else(|e| fail(&e));

    let data = fs::read(&blob).unwrap_or_else(|e| fail(&format!("read {}: {e}", blob.display())));
    let report = compel_gen::audit::audit(&data).unwrap_or_else(|e| fail(&format!("audit of {}: {e}", blob.display())));
    let audit_path = out.join("restorer-audit.txt");
    write(&audit_path, report.to_string().as_bytes());
    if !report.is_clean() {
        fail(&format!("the restorer blob is not a clean PIE blob:\n{report}"));
    }

    let header_path = out.join("restorer-blob.h");
    let header = compel_gen::hgen::generate(&data, &blob.to_string_lossy(), PREFIX)
        .unwrap_or_else(|e| fail(&format!("hgen of {}: {e}", blob.display())));
    write(&header_path, &header);

    // The engine alone, for linking into CRIU's own restorer (no head, no exports: CRIU
    // has its own). It must be as clean as the blob, bar the head the header would need.
    let dropin = compile_restorer(&root, &out, "blob", "pie-restore.o").unwrap_or_else(|e| fail(&e));
    let data = fs::read(&dropin).unwrap_or_else(|e| fail(&format!("read {}: {e}", dropin.display())));
    let report =
        compel_gen::audit::audit(&data).unwrap_or_else(|e| fail(&format!("audit of {}: {e}", dropin.display())));
    if !report.is_clean() {
        fail(&format!("the engine object for CRIU is not clean:\n{report}"));
    }

    println!("cargo:rustc-env=CRIU_PIE_ENGINE_OBJECT={}", dropin.display());
    println!("cargo:rustc-env=CRIU_PIE_BLOB_OBJECT={}", blob.display());
    println!("cargo:rustc-env=CRIU_PIE_BLOB_HEADER={}", header_path.display());
    println!("cargo:rustc-env=CRIU_PIE_BLOB_AUDIT={}", audit_path.display());
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    exit(1)
}

fn write(path: &Path, data: &[u8]) {
    fs::write(path, data).unwrap_or_else(|e| fail(&format!("write {}: {e}", path.display())));
}

/// Compile the restorer crate with `features` into a single relocatable object `name`.
///
/// A nested cargo, with its own target dir (the outer build holds the lock on ours),
/// builds the crate as a staticlib with fat LTO, so that the one object it emits already
/// contains what it uses of `core`; panic=abort keeps unwinding machinery out.
fn compile_restorer(root: &Path, out: &Path, features: &str, name: &str) -> Result<PathBuf, String> {
    let object = out.join(name);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["rustc", "-p", "restorer", "--release", "--features", features])
        .args(["--crate-type", "staticlib", "--target", TARGET])
        .arg("--target-dir")
        .arg(out.join("restorer-target"))
        .args(["--", "-C", "relocation-model=pie"])
        .arg(format!("--emit=obj={}", object.display()))
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "3")
        .env("CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS", "false")
        .env("CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS", "false");
    // Flags meant for the host build (coverage, sanitizers, wrappers) must not reach the
    // blob: they would add runtime calls no blob can resolve.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    run(&mut cmd, "cargo rustc -p restorer")?;
    Ok(object)
}

/// Link the object into the blob with the project's linker script, as CRIU links its
/// restorer (`ld -r -T ...`).
fn link_blob(object: &Path, script: &Path, blob: &Path) -> Result<(), String> {
    let ld = env::var_os("CRIU_PIE_LD").unwrap_or_else(|| "ld".into());
    let mut cmd = Command::new(ld);
    cmd.args(["-r", "-z", "noexecstack", "-T"])
        .arg(script)
        .arg("-o")
        .arg(blob)
        .arg(object);
    run(&mut cmd, "ld -r")
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
