//! The stack check on the real blobs: the Rust restorer built against the CRIU 4.1.1
//! fixture, and the standalone blob this crate ships, pass the audit gate with room on
//! every stack.

use compel_gen::audit::{audit_with, Options, Report};
use compel_gen::stack::StackUse;

fn root<'r>(r: &'r Report, name: &str) -> &'r StackUse {
    r.stacks
        .iter()
        .find(|u| u.root == name && !u.handler)
        .unwrap_or_else(|| panic!("no root {name} in:\n{r}"))
}

/// Every root fits, and the named ones with at least half their budget left.
fn assert_room(r: &Report, roomy: &[&str]) {
    assert!(r.is_clean(), "{r}");
    assert!(r.stacks.iter().all(StackUse::fits), "{r}");
    for name in roomy {
        let u = root(r, name);
        assert!(
            u.depth * 2 <= u.budget(),
            "{name}: {} of {}: {}",
            u.depth,
            u.budget(),
            u.path_text()
        );
    }
}

#[test]
fn rust_restorer_stacks_fit_with_room() {
    // The Rust restorer as the zdtm and rust_restorer tests use it: installed (through
    // the audit gate) into a copy of the CRIU 4.1.1 fixture, built once a target dir.
    let trees = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let object = trees.ours_root.join("criu/pie/restorer.built-in.o");
    let data = std::fs::read(&object).unwrap_or_else(|e| panic!("{}: {e}", object.display()));
    let report = audit_with(
        &data,
        &Options {
            stack_roots: blob_build::stacks::roots(),
        },
    )
    .unwrap();
    assert_room(&report, &["__export_restore_task", "__export_restore_thread"]);
    // The SIGCHLD handler is in every margin.
    assert!(
        report
            .stacks
            .iter()
            .any(|u| u.handler && u.root.ends_with("sigchld::on_sigchld")),
        "{report}"
    );
    for u in report.stacks.iter().filter(|u| !u.handler) {
        eprintln!("{}: {} of {}: {}", u.root, u.depth, u.budget(), u.path_text());
    }
}

#[test]
fn standalone_blob_stacks_fit_with_room() {
    let data = std::fs::read(criu_pie::BLOB_OBJECT).unwrap();
    let opts = Options {
        stack_roots: blob_build::stacks::roots(),
    };
    let report = audit_with(&data, &opts).unwrap();
    assert_room(&report, &["__export_restore_vma_ios", "__export_parasite_head_start"]);
    // The build script's report lists the same paths.
    let text = std::fs::read_to_string(criu_pie::BLOB_AUDIT).unwrap();
    assert!(text.contains("stack: __export_restore_vma_ios: "), "{text}");
}
