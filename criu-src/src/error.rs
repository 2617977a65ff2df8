//! Errors that say which step failed and show the end of its log.

use std::fmt;
use std::path::{Path, PathBuf};

/// The steps of getting a built tree, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Preparing the cache directory or taking its lock.
    Cache,
    /// Finding the Debian mirror in the machine's apt sources.
    Mirror,
    /// `apt-get update` of the private source index.
    Index,
    /// `apt-get source --download-only`.
    Download,
    /// Size and sha256 of the downloaded tarball.
    Verify,
    Unpack,
    /// `make criu`.
    BuildCriu,
    /// `make -C test/zdtm/lib` and `make -C test/zdtm/static`.
    BuildZdtm,
    /// Copying a built tree.
    Copy,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Cache => "preparing the cache",
            Step::Mirror => "finding the Debian mirror in apt's sources",
            Step::Index => "fetching the deb-src index (apt-get update)",
            Step::Download => "downloading the source (apt-get source)",
            Step::Verify => "verifying the tarball",
            Step::Unpack => "unpacking the tarball",
            Step::BuildCriu => "building criu (make criu)",
            Step::BuildZdtm => "building zdtm's static tests",
            Step::Copy => "copying the tree",
        })
    }
}

/// A failed step, what went wrong, and where its log is.
#[derive(Debug)]
pub struct Error {
    pub step: Step,
    pub message: String,
    pub log: Option<PathBuf>,
    pub log_tail: String,
}

/// Lines of a step's log an error shows.
const TAIL_LINES: usize = 30;

impl Error {
    pub(crate) fn new(step: Step, message: impl Into<String>) -> Self {
        Error {
            step,
            message: message.into(),
            log: None,
            log_tail: String::new(),
        }
    }

    /// An error whose step wrote `log`: its last lines go into the message.
    pub(crate) fn with_log(step: Step, message: impl Into<String>, log: &Path) -> Self {
        let text = std::fs::read(log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Error {
            step,
            message: message.into(),
            log: Some(log.to_path_buf()),
            log_tail: tail(&text, TAIL_LINES),
        }
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CRIU source fixture: {} failed: {}", self.step, self.message)?;
        if let Some(log) = &self.log {
            write!(f, "\n--- last lines of {} ---\n{}", log.display(), self.log_tail)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn display_names_the_step_and_shows_the_log() {
        let dir = std::env::temp_dir().join(format!("criu-src-err-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("x.log");
        std::fs::write(&log, "one\ntwo\nmake: *** [criu] Error 2\n").unwrap();
        let e = Error::with_log(Step::BuildCriu, "make exited with status 2", &log);
        let s = e.to_string();
        assert!(
            s.contains("building criu (make criu) failed: make exited with status 2"),
            "{s}"
        );
        assert!(s.ends_with("make: *** [criu] Error 2"), "{s}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
