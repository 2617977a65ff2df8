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
    let swapped = swap_in(&staged, &target, &original, &ours);
    if swapped.is_err() {
        let _ = fs::remove_file(&staged);
    }
    let keep = swapped?;
    make_newest(tree, &target)?;
    Ok(keep)
}

/// Keep `target` as `original` unless one is kept or it is `ours` already, then move
/// `staged` over it.
fn swap_in(staged: &Path, target: &Path, original: &Path, ours: &[u8]) -> Result<bool, Error> {
    let keep = !original.exists() && fs::read(target).map_err(Error::io(target))? != ours;
    if keep {
        fs::rename(target, original).map_err(Error::io(original))?;
    }
    fs::rename(staged, target).map_err(Error::io(target))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree with just what swapping needs, its object holding `object`.
    fn fake_tree(name: &str, object: &[u8]) -> (PathBuf, Tree) {
        let dir = std::env::temp_dir().join(format!("criu-pie-swap-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for d in ["criu/include", "criu/pie", "compel"] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        fs::write(dir.join("criu/include/restorer.h"), "").unwrap();
        fs::write(dir.join("criu/pie/restorer.built-in.o"), object).unwrap();
        let tree = Tree::open(&dir).unwrap();
        (dir, tree)
    }

    fn mtime(p: &Path) -> SystemTime {
        fs::metadata(p).unwrap().modified().unwrap()
    }

    #[test]
    fn the_original_is_kept_once_and_never_replaced() {
        let (dir, tree) = fake_tree("once", b"criu's");
        let built = dir.join("ours.o");
        fs::write(&built, b"ours 1").unwrap();
        assert!(put_in_place(&tree, &built).unwrap());
        fs::write(&built, b"ours 2").unwrap();
        assert!(!put_in_place(&tree, &built).unwrap());
        assert_eq!(fs::read(tree.original_object()).unwrap(), b"criu's");
        assert_eq!(fs::read(tree.restorer_object()).unwrap(), b"ours 2");
        assert!(!tree.restorer_object().with_extension("o.criu-pie-new").exists());
        restore_original(&tree).unwrap();
        assert_eq!(fs::read(tree.restorer_object()).unwrap(), b"criu's");
        assert!(matches!(restore_original(&tree), Err(Error::NoOriginal(_))));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_object_equal_to_ours_is_not_kept_as_the_original() {
        let (dir, tree) = fake_tree("same", b"ours");
        let built = dir.join("ours.o");
        fs::write(&built, b"ours").unwrap();
        assert!(!put_in_place(&tree, &built).unwrap());
        assert!(!tree.original_object().exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_object_is_newer_than_every_input_and_the_header() {
        let (dir, tree) = fake_tree("mtime", b"criu's");
        // A header made later than now (a clock step, or a make a moment ago).
        let header = dir.join("criu/pie/restorer-blob.h");
        fs::write(&header, "").unwrap();
        let later = SystemTime::now() + Duration::from_secs(5);
        fs::File::options()
            .write(true)
            .open(&header)
            .unwrap()
            .set_modified(later)
            .unwrap();
        let built = dir.join("ours.o");
        fs::write(&built, b"ours").unwrap();
        put_in_place(&tree, &built).unwrap();
        assert!(mtime(&tree.restorer_object()) > later);
        restore_original(&tree).unwrap();
        assert!(mtime(&tree.restorer_object()) > later, "the original too");
        fs::remove_dir_all(&dir).unwrap();
    }
}
