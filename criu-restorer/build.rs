//! Sets the `criu_has_*` cfgs criu-abi found in the tree's bindings (and the shadow-stack
//! protocol cfg it read from the tree's sources) on this crate too, so version-dependent
//! phases compile from what the tree contains, never a version string.

use std::env;

#[path = "build/abi_guard.rs"]
mod abi_guard;

/// Every cfg criu-abi may report (so `unexpected_cfgs` knows them all).
const KNOWN: &[&str] = &[
    "criu_has_posix_timer_cr_ids",
    "criu_has_shstk",
    "criu_has_vma_area_guard",
    "criu_has_vma_area_uprobes",
    // The shadow-stack protocol, read by criu-abi from the tree's sources.
    "criu_shstk_late",
    "criu_shstk_remap",
];

fn main() {
    for cfg in KNOWN {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    let cfgs = env::var("DEP_CRIU_ABI_CFGS").unwrap_or_default();
    for cfg in cfgs.split(',').filter(|c| !c.is_empty()) {
        if !KNOWN.contains(&cfg) {
            panic!("criu-abi reports cfg `{cfg}`, unknown to criu-restorer's build script: add it to KNOWN");
        }
        println!("cargo::rustc-cfg={cfg}");
    }
    println!("cargo::rerun-if-env-changed=DEP_CRIU_ABI_CFGS");
    guard();
}

/// The ABI guard (`build/abi_guard.rs`) on criu-abi's inventory: a tree whose bindings
/// hold a field or `VMA_*` constant that `src/abi_known.rs` does not account for fails
/// the build, naming each.
fn guard() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build");
    println!("cargo::rerun-if-changed=src/abi_known.rs");
    println!("cargo::rerun-if-env-changed=DEP_CRIU_ABI_INVENTORY");
    let tree = env::var("DEP_CRIU_ABI_TREE").unwrap_or_else(|_| "(unknown)".into());
    let errors = match env::var("DEP_CRIU_ABI_INVENTORY") {
        Ok(path) => {
            println!("cargo::rerun-if-changed={path}");
            match std::fs::read_to_string(&path) {
                Ok(inventory) => abi_guard::check(&tree, &inventory),
                Err(e) => vec![format!("{} {path}: {e}", abi_guard::MARKER)],
            }
        }
        Err(_) => vec![format!(
            "{} criu-abi reported no inventory (DEP_CRIU_ABI_INVENTORY)",
            abi_guard::MARKER
        )],
    };
    // cargo fails the build on these after the script, showing each line alone.
    for e in errors {
        println!("cargo::error={e}");
    }
}
