//! Each step's failure is a message that names the step and carries the tool's output.

use std::fs;

mod common;

use common::{scratch, workspace};

#[test]
fn compile_of_an_unknown_package_names_it() {
    let out = scratch("compile");
    let e = blob_build::compile(workspace(), &out, "no-such-package", "", "x.o", &[]).unwrap_err();
    assert!(e.starts_with("cargo rustc -p no-such-package failed"), "{e}");
    assert!(e.contains("no-such-package"), "cargo's own message is kept: {e}");
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn link_of_a_missing_object_carries_ld_output() {
    let out = scratch("link");
    let missing = out.join("missing.o");
    let e = blob_build::link(&[&missing], &workspace().join("linker/restorer.lds"), &out.join("b.o")).unwrap_err();
    assert!(e.starts_with("ld -r failed"), "{e}");
    assert!(e.contains("missing.o"), "{e}");
    fs::remove_dir_all(&out).unwrap();
}

#[test]
fn audit_of_what_is_not_elf_fails_and_writes_nothing() {
    let out = scratch("audit");
    let junk = out.join("junk.o");
    fs::write(&junk, b"not an object").unwrap();
    let e = blob_build::audit_clean(&junk, "junk").unwrap_err();
    assert!(e.starts_with(&format!("audit of {}", junk.display())), "{e}");
    let (audit, header) = (out.join("a.txt"), out.join("h.h"));
    let e = blob_build::audit_and_header(&junk, "junk", "restorer", &audit, &header).unwrap_err();
    assert!(e.starts_with("audit of"), "{e}");
    assert!(!audit.exists() && !header.exists());
    let e = blob_build::audit_clean(&out.join("absent.o"), "absent").unwrap_err();
    assert!(e.starts_with("read "), "{e}");
    fs::remove_dir_all(&out).unwrap();
}
