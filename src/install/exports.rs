//! The entry points CRIU's build needs from the restorer object.
//!
//! CRIU's C code refers to `restorer_sym__export_*` for every entry its own restorer has
//! (`cr-restore.c` for the task, thread and unmap entries, the header's setup function for
//! the parasite head and service words, `_compat` ones where the tree has 32-bit support).
//! Which ones a tree needs is read from CRIU's own object, not from its version: ours
//! must define each of them, or `make criu` fails to compile `cr-restore.c`.

use std::fs;
use std::path::Path;

use super::{Error, Tree};

/// CRIU's own object: the kept original once ours is in place, else the tree's.
fn criu_object(tree: &Tree) -> std::path::PathBuf {
    let original = tree.original_object();
    if original.is_file() {
        original
    } else {
        tree.restorer_object()
    }
}

/// Check that `ours` defines every export of the tree's own restorer object.
pub fn check(tree: &Tree, ours: &Path) -> Result<(), Error> {
    let theirs = criu_object(tree);
    let needed = names(&theirs)?;
    let have = names(ours)?;
    let missing: Vec<String> = needed.into_iter().filter(|n| !have.contains(n)).collect();
    if !missing.is_empty() {
        return Err(Error::MissingExports { criu: theirs, missing });
    }
    Ok(())
}

fn names(object: &Path) -> Result<Vec<String>, Error> {
    let data = fs::read(object).map_err(Error::io(object))?;
    compel_gen::hgen::exports(&data).map_err(|e| Error::Build(format!("{}: {e}", object.display())))
}
