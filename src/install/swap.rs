//! Swapping our object in for the tree's, and back, so that `make criu` picks it up.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{Error, Tree};

/// Put `built` in place of the tree's `restorer.built-in.o`. CRIU's own object is moved
/// to [`Tree::original_object`] the first time only: a kept original is never replaced,
/// and an object equal to ours is never kept as the original. Returns whether this call
/// kept it.
pub fn put_in_place(tree: &Tree, built: &Path) -> Result<bool, Error> {
    let target = tree.restorer_object();
    let original = tree.original_object();
    let ours = fs::read(built).map_err(Error::io(built))?;
    // Written beside the target first, so the tree never lacks an object.
    let staged = target.with_extension("o.criu-pie-new");
    fs::write(&staged, &ours).map_err(Error::io(&staged))?;

    let keep = !original.exists() && fs::read(&target).map_err(Error::io(&target))? != ours;
    if keep {
        fs::rename(&target, &original).map_err(Error::io(&original))?;
    }
    fs::rename(&staged, &target).map_err(Error::io(&target))?;
    make_newest(tree, &target)?;
    Ok(keep)
}

/// Move the kept original back over our object.
pub fn restore_original(tree: &Tree) -> Result<(), Error> {
    let target = tree.restorer_object();
    let original = tree.original_object();
    if !original.is_file() {
        return Err(Error::NoOriginal(original));
    }
    fs::rename(&original, &target).map_err(Error::io(&target))?;
    // Its own mtime predates the header generated from ours: without this, make would
    // keep that header.
    make_newest(tree, &target)
}

/// Give `object` an mtime later than every file it is made from and every file made from
/// it (the header), so that `make criu` regenerates what depends on it and does not relink
/// it: now, or just after the newest of those if that is later.
fn make_newest(tree: &Tree, object: &Path) -> Result<(), Error> {
    let mut newest = SystemTime::UNIX_EPOCH;
    for dir in tree.restorer_inputs() {
        newest_in(&dir, object, &mut newest)?;
    }
    let when = SystemTime::now().max(newest + Duration::from_secs(1));
    let file = fs::File::options()
        .write(true)
        .open(object)
        .map_err(Error::io(object))?;
    file.set_modified(when).map_err(Error::io(object))
}

/// The latest mtime of the files under `dir` but `skip` (not following links) into
/// `newest`.
fn newest_in(dir: &Path, skip: &Path, newest: &mut SystemTime) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(Error::io(dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io(dir))?;
        let path: PathBuf = entry.path();
        let meta = fs::symlink_metadata(&path).map_err(Error::io(&path))?;
        if meta.is_dir() {
            newest_in(&path, skip, newest)?;
        } else if path == skip {
            continue;
        } else if let Ok(m) = meta.modified() {
            *newest = (*newest).max(m);
        }
    }
    Ok(())
}
