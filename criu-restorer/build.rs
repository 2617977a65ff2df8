//! Sets the `criu_has_*` cfgs criu-abi found in the tree's bindings on this crate too,
//! so version-dependent phases compile from what the ABI contains, never a version string.

use std::env;

/// Every cfg criu-abi may report (so `unexpected_cfgs` knows them all).
const KNOWN: &[&str] = &[
    "criu_has_posix_timer_cr_ids",
    "criu_has_shstk",
    "criu_has_vma_area_guard",
    "criu_has_vma_area_uprobes",
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
}
