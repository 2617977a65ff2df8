//! One step of a test: a command run to completion or killed at its deadline, its output
//! in a log file (never a pipe: a daemonizing test keeps its parent's stdout open).

use std::fs::File;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug)]
pub enum Ran {
    Exited(ExitStatus),
    /// Killed (with its process group) at the deadline.
    TimedOut,
    /// Could not be started.
    NotStarted(String),
}

impl Ran {
    pub fn success(&self) -> bool {
        matches!(self, Ran::Exited(s) if s.success())
    }
}

/// Run `cmd` (made by [`crate::sandbox::Sandbox::command`], so it leads its own process
/// group), its stdout and stderr appended to `log`.
pub fn run(mut cmd: Command, log: &Path, timeout: Duration) -> Ran {
    let out = match File::options().create(true).append(true).open(log) {
        Ok(f) => f,
        Err(e) => return Ran::NotStarted(format!("open {}: {e}", log.display())),
    };
    let err = match out.try_clone() {
        Ok(f) => f,
        Err(e) => return Ran::NotStarted(e.to_string()),
    };
    let mut child = match cmd.stdin(Stdio::null()).stdout(out).stderr(err).spawn() {
        Ok(c) => c,
        Err(e) => return Ran::NotStarted(format!("{:?}: {e}", cmd.get_program())),
    };
    let end = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ran::Exited(status),
            Ok(None) if Instant::now() >= end => {
                // SAFETY: kill(2) of the step's own process group; no memory is passed.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
                return Ran::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Ran::NotStarted(format!("wait: {e}")),
        }
    }
}
