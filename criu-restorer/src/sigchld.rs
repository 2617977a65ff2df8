//! SIGCHLD while the task is in the restorer: a child that dies now (other than a helper
//! or a zombie CRIU expects to die) means the restore failed. The handler takes the abort
//! path itself: its `sa_restorer` may already be unmapped, so it never returns. Also the
//! waits for helpers and zombies before the task leaves the restorer.

use core::ffi::c_void;

use pie_sys::process::{self, WaitOptions, WaitStatus, P_PID};
use pie_sys::signal::{self, KernelSigaction, SigprocmaskHow, SA_RESTART, SA_RESTORER, SA_SIGINFO, SIGCHLD};
use pie_sys::sigtypes::{SigInfo, SigSet};
use pie_sys::Errno;

use crate::error::Result;
use crate::{bail, pr_debug, pr_err, pr_info, stage, state};

extern "C" fn on_sigchld(_sig: i32, info: *mut SigInfo, _ctx: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let info = unsafe { &*info };
    let pid = info.pid();
    if state::helpers().contains(&pid) || state::zombies().contains(&pid) {
        return;
    }
    let what = match info.code {
        signal::CLD_EXITED => "exited, status=",
        signal::CLD_KILLED => "killed by signal",
        signal::CLD_DUMPED => "terminated abnormally with",
        signal::CLD_TRAPPED => "trapped with",
        signal::CLD_STOPPED => "stopped with",
        _ => "disappeared with",
    };
    pr_info!("Task ", pid, " ", what, " ", info.status());
    stage::abort();
    let _ = process::kill(process::getpid(), signal::SIGSTOP);
    process::exit_group(1);
}

/// Install the handler (all signals blocked while it runs) and unblock SIGCHLD.
pub fn install() -> Result {
    let act = KernelSigaction {
        handler: on_sigchld as *const () as usize,
        flags: SA_SIGINFO | SA_RESTORER | SA_RESTART,
        restorer: signal::restore_rt as *const () as usize,
        mask: SigSet::FULL,
    };
    // SAFETY: the handler and its restorer are code of this blob, mapped until the task
    // leaves the restorer, where CRIU's own SIGCHLD action replaces this one.
    if let Err(e) = unsafe { signal::rt_sigaction(SIGCHLD, Some(&act), None) } {
        bail!("Failed to set SIGCHLD ", e);
    }
    if let Err(e) = signal::rt_sigprocmask(SigprocmaskHow::UNBLOCK, Some(&SigSet::EMPTY.with(SIGCHLD)), None) {
        bail!("Failed to unblock SIGCHLD ", e);
    }
    Ok(())
}

/// Each helper must have exited with 0 (or was reaped already).
pub fn wait_helpers() -> Result {
    wait_all(state::helpers())
}

/// Wait for each of `helpers`: ECHILD means the SIGCHLD handler reaped it already; any
/// other error is a failure (CRIU's loop would read an unset status as success).
fn wait_all(helpers: &[i32]) -> Result {
    for &pid in helpers {
        let mut status = WaitStatus(0);
        let waited = loop {
            match process::wait4(pid, Some(&mut status), WaitOptions::empty(), None) {
                Err(Errno::EINTR) => continue,
                r => break r,
            }
        };
        match waited {
            Err(Errno::ECHILD) => continue,
            Err(e) => bail!("Can't wait for helper ", pid, ": ", e),
            Ok(_) if status.exited() && status.exit_code() == 0 => {}
            Ok(_) => {
                pr_err!(
                    pid,
                    " exited with non-zero code (",
                    status.exit_code(),
                    ",",
                    status.term_sig(),
                    ")"
                );
                return Err(crate::error::Failed);
            }
        }
    }
    Ok(())
}

/// Each zombie must be this task's child (once CRIU reparented it) and dead.
pub fn wait_zombies() -> Result {
    let Some(nr) = state::nr_in_progress() else {
        return Ok(());
    };
    let mut i = 0;
    let zombies = state::zombies();
    while i < zombies.len() {
        let seen = nr.get();
        let mut info = SigInfo::zeroed();
        match process::waitid(
            P_PID,
            zombies[i],
            &mut info,
            WaitOptions::NOWAIT | WaitOptions::EXITED,
            None,
        ) {
            // Not reparented to us yet: wait until some task ends a stage, then retry.
            Err(Errno::ECHILD) => {
                nr.wait_while_eq(seen);
                continue;
            }
            Err(e) => bail!("Wait on ", zombies[i], " zombie failed: ", e),
            Ok(()) => pr_debug!(process::getpid(), ": Collect a zombie with pid ", zombies[i]),
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork_exit(code: i32) -> i32 {
        // SAFETY: the child only calls _exit.
        match unsafe { libc::fork() } {
            // SAFETY: ends the child without running the parent's atexit handlers.
            0 => unsafe { libc::_exit(code) },
            pid => pid,
        }
    }

    #[test]
    fn a_helper_that_exited_with_zero_passes() {
        assert!(wait_all(&[fork_exit(0)]).is_ok());
    }

    #[test]
    fn a_helper_that_exited_with_an_error_fails() {
        assert!(wait_all(&[fork_exit(3)]).is_err());
    }

    #[test]
    fn a_helper_already_reaped_passes() {
        let pid = fork_exit(0);
        let mut st = 0;
        // SAFETY: our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
        assert!(wait_all(&[pid]).is_ok());
    }

    #[test]
    fn a_wait_error_other_than_echild_fails() {
        // wait4(INT_MIN) is ESRCH in the kernel (-INT_MIN is no process group).
        assert_eq!(
            process::wait4(i32::MIN, None, WaitOptions::empty(), None),
            Err(Errno::ESRCH)
        );
        assert!(wait_all(&[i32::MIN]).is_err());
    }
}
