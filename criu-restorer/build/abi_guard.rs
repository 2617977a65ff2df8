//! The ABI guard: the tree's bindings (criu-abi's inventory of every field and constant)
//! against what the Rust restorer knows (`src/abi_known.rs`). A field of a guarded struct
//! or a `VMA_*` constant that the list does not account for fails the build, by name: a
//! CRIU that passes its restorer something new (page compression, new read options, a new
//! VMA kind) gets a refusal, never a restore that ignores what it was told.

use std::collections::BTreeSet;

#[allow(dead_code)]
mod known {
    include!("../src/abi_known.rs");
}

/// What every message of the guard starts with; `criu-pie install` picks its lines out of
/// cargo's output by it (src/install/blob.rs).
pub const MARKER: &str = "criu-restorer ABI guard:";

/// Where the list is, for the messages.
const LIST: &str = "criu-restorer/src/abi_known.rs";

/// The fields (`struct.field`) and constants of `inventory` that the list does not know,
/// in the inventory's order. Fails when a guarded struct has no field in it: an inventory
/// the guard cannot read must not pass for a clean one.
pub fn unknown(inventory: &str) -> Result<Vec<String>, String> {
    let guarded: BTreeSet<&str> = known::FIELDS.iter().map(|(s, _, _)| *s).collect();
    let mut seen = BTreeSet::new();
    let mut unknown = Vec::new();
    for line in inventory.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["field", s, f] if guarded.contains(s) => {
                seen.insert(s);
                if !known::FIELDS.iter().any(|(ks, kf, _)| *ks == s && *kf == f) {
                    unknown.push(format!("{s}.{f}"));
                }
            }
            ["const", c] if known::CONST_PREFIXES.iter().any(|p| c.starts_with(p)) => {
                if !known::CONSTS.iter().any(|(kc, _)| *kc == c) {
                    unknown.push(c.to_string());
                }
            }
            ["field", _, _] | ["const", _] => {}
            _ => return Err(format!("unreadable inventory line {line:?}")),
        }
    }
    let missing: Vec<&str> = guarded.difference(&seen).copied().collect();
    if !missing.is_empty() {
        return Err(format!(
            "the bindings' inventory has no fields for {}: the guard cannot check them",
            missing.join(", ")
        ));
    }
    Ok(unknown)
}

/// The build's error lines for `unknown` in `tree`: one naming each, then what to do.
pub fn messages(tree: &str, unknown: &[String]) -> Vec<String> {
    let mut lines = vec![format!(
        "{MARKER} CRIU tree {tree} passes its restorer {} the Rust restorer does not know:",
        if unknown.len() == 1 {
            "a field or constant"
        } else {
            "fields or constants"
        }
    )];
    lines.extend(unknown.iter().map(|u| format!("{MARKER}   {u}")));
    lines.push(format!(
        "{MARKER} this CRIU passes {} to its restorer, which the Rust restorer does not handle; \
         use CRIU's own restorer (the tree keeps it; after an earlier install, \
         `criu-pie install --criu {tree} --restore-original` puts it back) or a tree of a known \
         version (CRIU 4.1.1 to 4.2.1); what the Rust restorer handles is listed in {LIST}",
        unknown.join(", ")
    ));
    lines
}

/// The guard's error lines for `inventory` from `tree` (empty when it passes).
pub fn check(tree: &str, inventory: &str) -> Vec<String> {
    match unknown(inventory) {
        Ok(u) if u.is_empty() => Vec::new(),
        Ok(u) => messages(tree, &u),
        Err(e) => vec![format!("{MARKER} CRIU tree {tree}: {e}")],
    }
}
