//! `criu-pie install`: build the restorer against a user's CRIU tree and drop it in.
//!
//! [`install`] checks that the tree was built ([`tree`]), builds the restorer package with
//! the tree's ABI into a directory of its own under the workspace's `target/` ([`blob`];
//! its build refuses a tree that passes the restorer what it does not know, [`abi`]),
//! checks that it has every entry point CRIU's own object has ([`exports`]), and swaps it
//! in for `criu/pie/restorer.built-in.o`, keeping CRIU's own object beside it
//! ([`swap`]); [`restore_original`] puts that back. CRIU's `make criu` then turns
//! whichever object is in place into `restorer-blob.h` with its own `compel hgen`.

mod abi;
mod blob;
mod error;
mod exports;
mod swap;
mod tree;

use std::path::{Path, PathBuf};

use compel_gen::audit::Report;

pub use blob::Built;
pub use error::Error;
pub use tree::Tree;

/// What to build as the restorer: a package of this workspace, its features, and the
/// linker script (relative to the workspace root) that lays out its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restorer {
    pub package: &'static str,
    /// Comma-separated; empty for none.
    pub features: &'static str,
    pub script: &'static str,
}

/// The restorer `criu-pie install` builds.
pub const RESTORER: Restorer = Restorer {
    package: "criu-restorer",
    features: "blob",
    script: "linker/restorer.lds",
};

/// [`RESTORER`] with huge pages without advice for the pages it reads
/// (`install --huge-pages`).
pub const RESTORER_HUGE_COLLAPSE: Restorer = Restorer {
    features: "blob,huge-collapse",
    ..RESTORER
};

/// What [`install`] is asked to do.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// The CRIU source tree, built once (`make -C TREE criu`).
    pub tree: &'a Path,
    pub restorer: Restorer,
    /// Relocatable objects linked into the restorer beside the package's own.
    pub link_also: &'a [PathBuf],
}

/// What [`install`] did.
#[derive(Debug)]
pub struct Installed {
    pub tree: Tree,
    pub restorer: Restorer,
    /// The object as built, with its audit and headers beside it.
    pub built: blob::Built,
    /// The tree's `criu/pie/restorer.built-in.o`, now ours.
    pub object: PathBuf,
    /// Where CRIU's own object is kept, and whether this run saved it there (false when
    /// an earlier install already had, or when the tree's object was ours already).
    pub original: PathBuf,
    pub saved_original: bool,
}

/// Build the restorer against `opts.tree` and put it in place of the tree's own.
pub fn install(opts: &Options<'_>) -> Result<Installed, Error> {
    let tree = Tree::open_built(opts.tree)?;
    let built = blob::build(&tree, &opts.restorer, opts.link_also)?;
    exports::check(&tree, &built.object)?;
    let saved_original = swap::put_in_place(&tree, &built.object)?;
    Ok(Installed {
        object: tree.restorer_object(),
        original: tree.original_object(),
        saved_original,
        restorer: opts.restorer,
        built,
        tree,
    })
}

/// Put the original object kept by [`install`] back in place of ours; returns the path
/// it is back at.
pub fn restore_original(tree: &Path) -> Result<PathBuf, Error> {
    let tree = Tree::open(tree)?;
    swap::restore_original(&tree)?;
    Ok(tree.restorer_object())
}

/// The directory the restorer for `tree` is built in: `install/<tree's key>` under
/// `$CARGO_TARGET_DIR`, else under the workspace's `target/`.
pub fn build_dir(tree: &Tree) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("install").join(tree.key())
}

/// This workspace, whose packages `install` builds.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Installed {
    /// The audit of the object put in place (clean, or it would not have been).
    pub fn report(&self) -> &Report {
        &self.built.report
    }
}
