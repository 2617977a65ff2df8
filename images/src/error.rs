//! The crate's error type: every failure is a value with a one-line message, never a panic.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an image could not be read, written or turned into records.
#[derive(Debug)]
pub enum Error {
    /// An I/O call failed. `path` names the file when one is known.
    Io { path: Option<PathBuf>, source: io::Error },
    /// A magic number is not the one the image type requires.
    BadMagic { what: String, expected: u32, found: u32 },
    /// The input ended before a complete header, size or entry could be read.
    Truncated {
        what: String,
        offset: u64,
        needed: u64,
        got: u64,
    },
    /// A protobuf message is malformed (bad varint, bad wire type, missing required field...).
    Proto(String),
    /// The image is well formed but cannot be handled here (e.g. pages in a parent image).
    Unsupported(String),
    /// Values are inconsistent or out of range (overflowing offsets, overlapping layouts...).
    Invalid(String),
}

impl Error {
    pub(crate) fn io(path: Option<&Path>, source: io::Error) -> Error {
        Error::Io {
            path: path.map(Path::to_path_buf),
            source,
        }
    }

    pub(crate) fn proto(msg: impl Into<String>) -> Error {
        Error::Proto(msg.into())
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Error {
        Error::Invalid(msg.into())
    }

    pub(crate) fn unsupported(msg: impl Into<String>) -> Error {
        Error::Unsupported(msg.into())
    }

    /// Prefix the message with where the error happened (a file, an entry index).
    pub(crate) fn context(self, ctx: impl fmt::Display) -> Error {
        match self {
            Error::Io { path, source } => Error::Io {
                path,
                source: io::Error::new(source.kind(), format!("{ctx}: {source}")),
            },
            Error::BadMagic { what, expected, found } => Error::BadMagic {
                what: format!("{ctx}: {what}"),
                expected,
                found,
            },
            Error::Truncated {
                what,
                offset,
                needed,
                got,
            } => Error::Truncated {
                what: format!("{ctx}: {what}"),
                offset,
                needed,
                got,
            },
            Error::Proto(m) => Error::Proto(format!("{ctx}: {m}")),
            Error::Unsupported(m) => Error::Unsupported(format!("{ctx}: {m}")),
            Error::Invalid(m) => Error::Invalid(format!("{ctx}: {m}")),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path: Some(p), source } => write!(f, "I/O error on {}: {source}", p.display()),
            Error::Io { path: None, source } => write!(f, "I/O error: {source}"),
            Error::BadMagic { what, expected, found } => {
                write!(f, "bad magic in {what}: expected {expected:#010x}, found {found:#010x}")
            }
            Error::Truncated {
                what,
                offset,
                needed,
                got,
            } => write!(
                f,
                "truncated {what} at offset {offset}: needed {needed} bytes, got {got}"
            ),
            Error::Proto(m) => write!(f, "malformed protobuf: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Invalid(m) => write!(f, "invalid: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
