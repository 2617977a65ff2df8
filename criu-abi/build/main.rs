//! Generates CRIU's restorer ABI with bindgen from a built CRIU tree.
//!
//! The tree is `$CRIU_TREE`, else the criu-src fixture (CRIU 4.1.1). The bindings go to
//! `$OUT_DIR/restorer.rs`; `$OUT_DIR/build_info.rs` records the tree and the flags they were
//! generated with; `criu_has_*` cfgs say which version-dependent parts the tree has,
//! decided from what the bindings contain; where the tree restores x86 shadow stacks,
//! `criu_shstk_late` or `criu_shstk_remap` says which protocol, decided from its sources
//! (`shstk`).

mod detect;
mod flags;
mod generate;
mod shstk;
mod tree;

// Every field and constant of the bindings, for the restorer's ABI guard.
mod inventory;

use std::path::PathBuf;
use std::process::exit;
use std::time::Instant;

fn main() {
    println!("cargo::rerun-if-env-changed=CRIU_TREE");
    println!("cargo::rerun-if-env-changed=CRIU_SRC_CACHE");
    println!("cargo::rerun-if-env-changed=LIBCLANG_PATH");
    println!("cargo::rerun-if-changed=build");
    detect::declare_cfgs();
    for cfg in shstk::CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    if let Err(e) = run() {
        // One readable line in cargo's output instead of a panic backtrace.
        println!("cargo::error=criu-abi: {}", e.replace('\n', " "));
        exit(1);
    }
}

fn run() -> Result<(), String> {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let root = tree::locate()?;
    let root = root.canonicalize().unwrap_or(root);
    tree::check(&root)?;
    let started = Instant::now();
    let cflags = flags::restorer_cflags(&root, &out)?;
    let flags_took = started.elapsed();
    let started = Instant::now();
    let bindings = generate::bindings(&root, &cflags)?;
    // Shown by `cargo build -vv`.
    println!(
        "criu-abi: {}: flags from make in {flags_took:.2?}, bindgen in {:.2?}",
        root.display(),
        started.elapsed()
    );
    let text = bindings.to_string();
    generate::write(&out.join("restorer.rs"), &text)?;
    let inventory = out.join("inventory.txt");
    generate::write(&inventory, &inventory::render(&inventory::items(&text)))?;
    generate::write(&out.join("build_info.rs"), &generate::build_info(&root, &cflags))?;
    let mut cfgs = detect::present(&text);
    if cfgs.contains(&"criu_has_shstk") {
        for f in [shstk::RESTORER_C, shstk::CR_RESTORE_C, shstk::ARCH_SHSTK_C] {
            println!("cargo::rerun-if-changed={}", root.join(f).display());
        }
        let protocol = shstk::classify(&shstk::Sources::read(&root)).map_err(|e| format!("{}: {e}", root.display()))?;
        cfgs.push(protocol.cfg());
    }
    for cfg in &cfgs {
        println!("cargo::rustc-cfg={cfg}");
    }
    // For dependents' build scripts: DEP_CRIU_ABI_CFGS, DEP_CRIU_ABI_TREE and
    // DEP_CRIU_ABI_INVENTORY.
    println!("cargo::metadata=cfgs={}", cfgs.join(","));
    println!("cargo::metadata=tree={}", root.display());
    println!("cargo::metadata=inventory={}", inventory.display());
    Ok(())
}
