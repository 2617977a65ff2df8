//! Builds the restorer blob for this crate: the `page-engine` crate (feature `standalone`) compiled as one LTO'd
//! PIE object, linked with `ld -r` and `linker/restorer.lds` into `restorer.built-in.o`,
//! audited by compel-gen (the build fails with the audit's diagnostics if the blob is not
//! clean), and its compel header emitted. All three land in `OUT_DIR`; their paths are
//! exported to the crate as `CRIU_PIE_BLOB_{OBJECT,HEADER,AUDIT}`. The steps themselves
//! are `blob-build`'s, shared with `criu-pie install`.

use std::env;
use std::path::PathBuf;
use std::process::exit;

/// The header's symbol prefix, as CRIU names its restorer blob.
const PREFIX: &str = "restorer";

fn main() {
    let root = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for p in [
        "restorer/sys/src",
        "restorer/sys/Cargo.toml",
        "restorer/engine/src",
        "restorer/engine/Cargo.toml",
        "vma-io/src",
        "vma-io/Cargo.toml",
        "linker/restorer.lds",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }

    let object =
        blob_build::compile(&root, &out, "page-engine", "standalone", "restorer.o", &[]).unwrap_or_else(|e| fail(&e));
    let blob = out.join("restorer.built-in.o");
    blob_build::link(&[&object], &root.join("linker/restorer.lds"), &blob).unwrap_or_else(|e| fail(&e));
    let audit_path = out.join("restorer-audit.txt");
    let header_path = out.join("restorer-blob.h");
    blob_build::audit_and_header(&blob, "the restorer blob", PREFIX, &audit_path, &header_path)
        .unwrap_or_else(|e| fail(&e));

    // The engine alone, for linking into CRIU's own restorer (no head, no exports: CRIU
    // has its own). It must be as clean as the blob, bar the head the header would need.
    let dropin = blob_build::compile(&root, &out, "page-engine", "blob,panic-exit", "pie-restore.o", &[])
        .unwrap_or_else(|e| fail(&e));
    blob_build::audit_clean(&dropin, "the engine object for CRIU").unwrap_or_else(|e| fail(&e));

    println!("cargo:rustc-env=CRIU_PIE_ENGINE_OBJECT={}", dropin.display());
    println!("cargo:rustc-env=CRIU_PIE_BLOB_OBJECT={}", blob.display());
    println!("cargo:rustc-env=CRIU_PIE_BLOB_HEADER={}", header_path.display());
    println!("cargo:rustc-env=CRIU_PIE_BLOB_AUDIT={}", audit_path.display());
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    exit(1)
}
