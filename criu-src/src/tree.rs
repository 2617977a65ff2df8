//! A built CRIU tree and the paths tests need in it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Step};
use crate::source::{Source, FIXTURES};
use crate::{fetch, make};

/// Written into the tree once it is fully built; holds the tarball's sha256.
const BUILT_STAMP: &str = ".criu-src-built";

/// A CRIU source tree with `criu` and zdtm's static tests built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriuTree {
    root: PathBuf,
}

impl CriuTree {
    /// The default fixture (CRIU 4.1.1, the first of [`FIXTURES`]), built under
    /// [`crate::cache_dir`].
    pub fn fixture() -> Result<CriuTree, Error> {
        Self::fixture_of(&FIXTURES[0])
    }

    /// `src` (one of [`FIXTURES`], say), built under [`crate::cache_dir`].
    pub fn fixture_of(src: &Source) -> Result<CriuTree, Error> {
        Self::get(src, &crate::cache_dir())
    }

    /// `src`, downloaded, unpacked and built under `cache` (each step only once).
    pub fn get(src: &Source, cache: &Path) -> Result<CriuTree, Error> {
        // A log directory per version: two fixtures' build logs never overwrite each other.
        let logs = cache.join("logs").join(src.version);
        fs::create_dir_all(&logs).map_err(|e| Error::new(Step::Cache, format!("mkdir {}: {e}", logs.display())))?;
        // One builder at a time, across processes; the others wait and then reuse it.
        let lock = fs::File::create(cache.join("lock"))
            .map_err(|e| Error::new(Step::Cache, format!("create {}: {e}", cache.join("lock").display())))?;
        lock.lock()
            .map_err(|e| Error::new(Step::Cache, format!("lock {}: {e}", cache.display())))?;

        let root = cache.join(src.top_dir());
        let stamp = root.join(BUILT_STAMP);
        if fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == src.sha256) {
            return Ok(CriuTree { root });
        }
        let tarball = fetch::fetch(src, cache, &logs)?;
        if !root.join("Makefile").is_file() {
            fetch::unpack(&tarball, &src.top_dir(), &root, &logs)?;
        }
        make::build(&root, &logs)?;
        fs::write(&stamp, src.sha256)
            .map_err(|e| Error::new(Step::Cache, format!("write {}: {e}", stamp.display())))?;
        Ok(CriuTree { root })
    }

    /// An already built tree (a user's own checkout, say): checks that it was built.
    pub fn open(root: &Path) -> Result<CriuTree, Error> {
        let tree = CriuTree {
            root: root.to_path_buf(),
        };
        if !tree.criu().is_file() {
            return Err(Error::new(
                Step::BuildCriu,
                format!(
                    "{} is not a built CRIU tree (no criu/criu): run `make criu` in it first",
                    root.display()
                ),
            ));
        }
        Ok(tree)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `criu` binary.
    pub fn criu(&self) -> PathBuf {
        self.root.join("criu/criu")
    }

    /// `criu/pie/`, where the restorer blob and its header are built.
    pub fn pie_dir(&self) -> PathBuf {
        self.root.join("criu/pie")
    }

    /// `criu/include/`, the restorer's ABI headers (`restorer.h` and what it includes).
    pub fn criu_include(&self) -> PathBuf {
        self.root.join("criu/include")
    }

    /// zdtm's static tests.
    pub fn zdtm_static(&self) -> PathBuf {
        self.root.join("test/zdtm/static")
    }

    /// Headers the build generates: the feature config, the version, and the
    /// protobuf-c headers of the image formats.
    pub fn generated_headers(&self) -> Vec<PathBuf> {
        let mut v = vec![
            self.root.join("include/common/config.h"),
            self.root.join("criu/include/version.h"),
        ];
        if let Ok(rd) = fs::read_dir(self.root.join("images")) {
            let mut pb: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".pb-c.h"))
                .collect();
            pb.sort();
            v.extend(pb);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_refuses_an_unbuilt_tree() {
        let dir = std::env::temp_dir().join(format!("criu-src-open-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let e = CriuTree::open(&dir).unwrap_err();
        assert_eq!(e.step, Step::BuildCriu);
        assert!(e.to_string().contains("run `make criu` in it first"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_pin_fails_at_verify_and_names_the_step() {
        // The real file with a wrong digest: no build is attempted.
        let cache = std::env::temp_dir().join(format!("criu-src-badpin-{}", std::process::id()));
        let _ = fs::remove_dir_all(&cache);
        fs::create_dir_all(&cache).unwrap();
        fs::write(cache.join("x.tar.xz"), b"not the tarball").unwrap();
        let src = Source {
            file: "x.tar.xz",
            size: 15,
            sha256: "00",
            package_version: "0-does-not-exist",
            ..FIXTURES[0]
        };
        let e = CriuTree::get(&src, &cache).unwrap_err();
        assert!(matches!(e.step, Step::Index | Step::Download | Step::Verify), "{e}");
        assert!(!cache.join(src.top_dir()).join(BUILT_STAMP).exists());
        fs::remove_dir_all(&cache).unwrap();
    }
}
