//! The compaction's error: one message that says what was refused or what failed, and
//! that the directory was left as it was.

use std::fmt;
use std::path::Path;

#[derive(Debug)]
pub struct Error(pub String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Error {
        Error(msg.into())
    }

    pub fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
        Error(format!("{what} {}: {e}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<criu_image::Error> for Error {
    fn from(e: criu_image::Error) -> Error {
        Error(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
