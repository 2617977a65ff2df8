//! Why `install` or `--restore-original` failed.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// The tree's path does not exist.
    NoTree(PathBuf),
    /// The directory has no `criu/include/restorer.h`.
    NotCriu(PathBuf),
    /// The tree lacks files `make criu` generates (relative paths).
    NotBuilt {
        tree: PathBuf,
        missing: Vec<String>,
    },
    /// `--restore-original` without a kept original (its path).
    NoOriginal(PathBuf),
    /// Compiling, linking or auditing the restorer failed (the step's message).
    Build(String),
    /// The restorer's ABI guard refused the tree: it passes the restorer fields or
    /// constants the restorer does not know (the guard's lines, naming them).
    UnknownAbi {
        tree: PathBuf,
        lines: Vec<String>,
    },
    /// Our object lacks exports CRIU's own object (`criu`) has and its code refers to.
    MissingExports {
        criu: PathBuf,
        missing: Vec<String>,
    },
    /// The tree's own `compel hgen` refused the object (its output).
    CompelRefused(String),
    Io(PathBuf, io::Error),
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |e| Error::Io(path, e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoTree(t) => write!(
                f,
                "{}: no such directory. Run `criu-pie install` with no --criu to fetch and build CRIU {} with the Rust restorer, \
                 or get a tree (`git clone https://github.com/checkpoint-restore/criu {}`), build it once (`make -C {} criu`) and run this again",
                t.display(),
                crate::quickstart::SOURCE.version,
                t.display(),
                t.display()
            ),
            Error::NotCriu(t) => write!(
                f,
                "{} is not a CRIU source tree (it has no criu/include/restorer.h); `criu-pie install` with no --criu builds one of its own",
                t.display()
            ),
            Error::NotBuilt { tree, missing } => write!(
                f,
                "{} is not a built CRIU tree (missing {}): run `make -C {} criu` first",
                tree.display(),
                missing.join(", "),
                tree.display()
            ),
            Error::NoOriginal(p) => write!(
                f,
                "no original restorer object to put back: {} does not exist (install never ran on this tree, or it was restored already)",
                p.display()
            ),
            Error::Build(msg) => write!(f, "{msg}"),
            Error::UnknownAbi { tree, lines } => {
                write!(
                    f,
                    "refused by the Rust restorer's ABI guard; {} was left as it was:",
                    tree.display()
                )?;
                lines.iter().try_for_each(|l| write!(f, "\n  {l}"))
            }
            Error::MissingExports { criu, missing } => write!(
                f,
                "the restorer object lacks entry points CRIU's build refers to ({}, which {} has): the tree was left as it was",
                missing.join(", "),
                criu.display()
            ),
            Error::CompelRefused(msg) => write!(f, "the tree's compel hgen refused the restorer object: {msg}"),
            Error::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for Error {}
