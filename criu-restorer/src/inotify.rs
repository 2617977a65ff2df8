//! inotify: CRIU's `cleanup_current_inotify_events`, with signals blocked after the
//! helpers and zombies are waited for: restoring watches opened and closed files, so the
//! events queued on each restored inotify fd are the restore's own and are drained.

use pie_sys::fd::BorrowedFd;
use pie_sys::fs::{ppoll, read, PollFd, POLLIN};
use pie_sys::time::Timespec;

use crate::{bail, error::Result, pr_debug};

/// `struct inotify_event`'s fixed part: wd, mask, cookie, len.
const INOTIFY_EVENT_SIZE: usize = 16;
const PATH_MAX: usize = 4096;
/// CRIU's `EVENT_BUFF_SIZE`: the largest event the kernel may queue (two headers of
/// rounding and a full path). CRIU reads three at a time; one is enough to drain the
/// queue (a read takes at least one whole event, and the loop reads until none is
/// left), and keeps 8 KiB more of the 32 KiB restorer stack free (compel-gen's stack
/// check counts every frame on it).
const EVENT_BUFF_SIZE: usize = INOTIFY_EVENT_SIZE * 2 + PATH_MAX;

/// Drain every fd of `fds` (`ta->inotify_fds`, `ta->inotify_fds_n`) in order; the first
/// that fails fails the restore.
pub fn cleanup(fds: &[i32]) -> Result {
    for &fd in fds {
        pr_debug!("Cleaning inotify events from ", fd);
        // SAFETY: CRIU restored this fd into the task and closes none while the restorer
        // runs.
        drain(unsafe { BorrowedFd::borrow_raw(fd) })?;
    }
    Ok(())
}

/// Read events while a zero-timeout poll says some are queued.
fn drain(fd: BorrowedFd<'_>) -> Result {
    let mut buf = [0u8; EVENT_BUFF_SIZE];
    loop {
        match poll(fd) {
            Err(e) => bail!("Failed to poll from inotify fd: ", e),
            Ok(0) => return Ok(()),
            Ok(_) => {}
        }
        if read(fd, &mut buf).is_err() {
            bail!("Failed to read inotify events");
        }
    }
}

/// CRIU's `fd_poll`: whether `fd` is readable now (POLLIN, no wait).
fn poll(fd: BorrowedFd<'_>) -> pie_sys::errno::Result<usize> {
    let mut pfd = [PollFd {
        fd: fd.as_raw_fd(),
        events: POLLIN,
        revents: 0,
    }];
    ppoll(&mut pfd, Some(&Timespec::new(0, 0)), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pie_sys::notify::{inotify_add_watch, inotify_init1, IN_ALL_EVENTS, IN_NONBLOCK};
    use std::ffi::CString;

    #[test]
    fn drains_real_pending_events() {
        let dir = std::env::temp_dir().join(format!("criu-restorer-inotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = inotify_init1(IN_NONBLOCK).unwrap();
        let b = inotify_init1(IN_NONBLOCK).unwrap();
        let path = CString::new(dir.to_str().unwrap()).unwrap();
        inotify_add_watch(&a, &path, IN_ALL_EVENTS).unwrap();
        inotify_add_watch(&b, &path, IN_ALL_EVENTS).unwrap();
        // Enough events that one read of the buffer cannot take them all.
        for i in 0..400 {
            std::fs::write(dir.join(format!("f{i:03}-{}", "x".repeat(100))), b"x").unwrap();
        }
        let fds = [a.as_raw_fd(), b.as_raw_fd()];
        // SAFETY: the fds are open for the test's whole length.
        let borrowed = |fd| unsafe { BorrowedFd::borrow_raw(fd) };
        assert_eq!(poll(borrowed(fds[0])), Ok(1));
        assert_eq!(poll(borrowed(fds[1])), Ok(1));
        cleanup(&fds).unwrap();
        assert_eq!(poll(borrowed(fds[0])), Ok(0));
        assert_eq!(poll(borrowed(fds[1])), Ok(0));
        let mut buf = [0u8; 64];
        assert!(read(&a, &mut buf).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fails_on_an_fd_that_is_not_open() {
        // poll reports POLLNVAL (ready), the read then fails: the restore must fail.
        assert!(cleanup(&[4001]).is_err());
    }
}
