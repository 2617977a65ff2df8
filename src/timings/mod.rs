//! `criu-pie timings`: where a restore's time went, read from a CRIU `-v4` restore log
//! (ours or stock's). [`parse`] reads the timestamped lines, [`phases`] derives CRIU's
//! stages and each task's restorer phases from known lines, [`report`] prints them.

pub mod parse;
pub mod phases;
pub mod report;

use std::path::Path;

pub use phases::{Pages, Phase, Restorer, Task, Timings};

/// The timings of the restore log text `log`.
pub fn of_log(log: &str) -> Result<Timings, String> {
    phases::derive(&parse::lines(log))
}

/// The timings of the restore log at `path`.
pub fn of_file(path: &Path) -> Result<Timings, String> {
    let log = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // CRIU logs paths and names as bytes: a stray non-UTF-8 byte must not lose the log.
    of_log(&String::from_utf8_lossy(&log)).map_err(|e| format!("{}: {e}", path.display()))
}
