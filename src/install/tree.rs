//! The user's CRIU tree: the files `install` needs in it, and where it puts its object.

use std::fs;
use std::path::{Path, PathBuf};

use super::Error;

/// The files a CRIU build generates that building our restorer needs, relative to the
/// tree: CRIU's own restorer object (the one we replace), the feature config and the
/// tool that turns the object into `restorer-blob.h`. The images' `*.pb-c.h` are checked
/// apart (any of them will do).
const BUILT_FILES: [&str; 3] = [
    "criu/pie/restorer.built-in.o",
    "include/common/config.h",
    "compel/compel-host",
];
const PB_HEADERS: &str = "images/*.pb-c.h";

/// A CRIU source tree, by its canonical path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    root: PathBuf,
}

impl Tree {
    /// `root`, if it is a CRIU source tree (built or not).
    pub fn open(root: &Path) -> Result<Tree, Error> {
        if !root.exists() {
            return Err(Error::NoTree(root.to_path_buf()));
        }
        let root = root.canonicalize().map_err(Error::io(root))?;
        if !root.join("criu/include/restorer.h").is_file() {
            return Err(Error::NotCriu(root));
        }
        Ok(Tree { root })
    }

    /// `root`, if it is a CRIU tree that `make criu` has built.
    pub fn open_built(root: &Path) -> Result<Tree, Error> {
        let tree = Tree::open(root)?;
        let mut missing: Vec<String> = BUILT_FILES
            .iter()
            .filter(|f| !tree.root.join(f).is_file())
            .map(|f| f.to_string())
            .collect();
        if !tree.has_pb_headers() {
            missing.push(PB_HEADERS.to_string());
        }
        if !missing.is_empty() {
            return Err(Error::NotBuilt {
                tree: tree.root,
                missing,
            });
        }
        Ok(tree)
    }

    fn has_pb_headers(&self) -> bool {
        fs::read_dir(self.root.join("images")).is_ok_and(|rd| {
            rd.filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with(".pb-c.h"))
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `criu/pie/restorer.built-in.o`, from which `make criu` generates the header.
    pub fn restorer_object(&self) -> PathBuf {
        self.root.join("criu/pie/restorer.built-in.o")
    }

    /// Where CRIU's own restorer object is kept while ours is in place.
    pub fn original_object(&self) -> PathBuf {
        self.root.join("criu/pie/restorer.built-in.o.orig")
    }

    /// The tree's compel, as its Makefiles run it (a wrapper that finds its plugins).
    pub fn compel(&self) -> PathBuf {
        self.root.join("compel/compel-host")
    }

    /// Directories whose files the restorer object is built from; ours must be newer
    /// than all of them or `make` would relink CRIU's over it.
    pub fn restorer_inputs(&self) -> [PathBuf; 2] {
        [self.root.join("criu/pie"), self.root.join("compel")]
    }

    /// A name for this tree that is unique per path: its last component and a hash of
    /// the whole (FNV-1a, stable across runs and toolchains, unlike `DefaultHasher`).
    pub fn key(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.root.as_os_str().as_encoded_bytes() {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        let name = self.root.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{name}-{h:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_per_path_and_name_the_tree() {
        let a = Tree {
            root: PathBuf::from("/src/criu-4.1.1"),
        };
        let b = Tree {
            root: PathBuf::from("/other/criu-4.1.1"),
        };
        assert!(a.key().starts_with("criu-4.1.1-"), "{}", a.key());
        assert_ne!(a.key(), b.key());
        assert_eq!(a.key(), a.clone().key());
    }
}
