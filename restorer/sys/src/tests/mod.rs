//! Host tests of the syscall layer against the running kernel.
//!
//! Tests run in parallel threads of one process, so anything process-wide (umask, brk,
//! itimers, namespaces, seccomp, rlimits, credentials, process-directed signals) is
//! tried in a fork-like child made with `clone3`, which only makes raw syscalls (no
//! allocation, no locks: other threads of the parent may have held them at the fork)
//! and reports through its exit code; [`ensure!`] prints the failed condition to stderr.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::fd::{BorrowedFd, OwnedFd};
use crate::process::{exit_group, kill, wait4, WaitOptions, WaitStatus};
use crate::signal::{SIGCHLD, SIGKILL};
use crate::thread::{clone3, CloneArgs};
use crate::Errno;

/// In a forked child: when `cond` is false, say where on stderr and return 1 from the
/// closure.
macro_rules! ensure {
    ($cond:expr) => {
        if !$cond {
            $crate::tests::child_note(concat!(
                file!(),
                ":",
                line!(),
                ": child check failed: ",
                stringify!($cond),
                "\n"
            ));
            return 1;
        }
    };
}

mod aio;
mod fs;
mod mm;
mod mount;
mod net;
mod notify;
mod path;
mod process;
mod signal;
mod thread;
mod time;

/// A number that is not an open fd, for the calls that should say `EBADF`.
pub fn bad_fd(n: i32) -> BorrowedFd<'static> {
    // SAFETY: the tests pass only numbers no test opens (-1, huge ones); the kernel answers
    // EBADF without touching anything.
    unsafe { BorrowedFd::borrow_raw(n) }
}

/// Close `fd` and return what close(2) said (a drop would ignore it).
pub fn close_fd(fd: OwnedFd) -> crate::Result<()> {
    // SAFETY: `fd` is ours and is gone after this call.
    unsafe { crate::fs::close(fd.into_raw_fd()) }
}

/// Write a note to stderr with a raw write (usable in a forked child).
pub fn child_note(msg: &str) {
    let _ = crate::fs::write(std::io::stderr(), msg.as_bytes());
}

/// Start a fork-like child (clone3, exit signal SIGCHLD, no shared memory) that runs `f`
/// and exits with its return value. Returns the child's pid; reap it with
/// [`wait_child`].
pub fn fork_spawn<F: FnOnce() -> i32>(f: F) -> i32 {
    let args = CloneArgs {
        exit_signal: SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: fork-like: no CLONE_VM and no new stack, so the child continues here on its
    // own copy of memory; it only runs `f` and exits.
    let pid = unsafe { clone3(&args) }.expect("clone3 fork-like");
    if pid == 0 {
        /// Leaves the child with code 99 should `f` unwind.
        struct ExitOnUnwind;
        impl Drop for ExitOnUnwind {
            fn drop(&mut self) {
                exit_group(99)
            }
        }
        let guard = ExitOnUnwind;
        let code = f();
        core::mem::forget(guard);
        exit_group(code);
    }
    pid
}

/// Wait for child `pid` to change state (retrying EINTR).
pub fn wait_child(pid: i32) -> WaitStatus {
    let mut st = WaitStatus::default();
    loop {
        match wait4(pid, Some(&mut st), WaitOptions::empty(), None) {
            Ok(p) => {
                assert_eq!(p, pid);
                return st;
            }
            Err(Errno::EINTR) => continue,
            Err(e) => panic!("wait4({pid}): {e:?}"),
        }
    }
}

/// Run `f` in a fork-like child and return how it ended.
pub fn fork_run<F: FnOnce() -> i32>(f: F) -> WaitStatus {
    let pid = fork_spawn(f);
    wait_child(pid)
}

/// Run `f` in a fork-like child and assert that it exited with 0.
pub fn in_child<F: FnOnce() -> i32>(f: F) {
    let st = fork_run(f);
    assert!(
        st.exited() && st.exit_code() == 0,
        "child failed: {st:?} (exited {}, code {}, signal {})",
        st.exited(),
        st.exit_code(),
        st.term_sig()
    );
}

/// Kills and reaps a child when dropped (so a failing test leaves nothing behind).
pub struct ChildGuard(pub i32);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.0 > 0 {
            let _ = kill(self.0, SIGKILL);
            let _ = wait4(self.0, None, crate::process::WaitOptions::ALL, None);
        }
    }
}
impl ChildGuard {
    /// The child was reaped: nothing left to do.
    pub fn disarm(mut self) {
        self.0 = 0;
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("restorer-sys-{}-{n}-{tag}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// `join` as a C string.
    pub fn cjoin(&self, name: &str) -> CString {
        cpath(&self.join(name))
    }

    /// The directory as a C string.
    pub fn c(&self) -> CString {
        cpath(&self.path)
    }

    /// Create file `name` holding `data`; returns its path.
    pub fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A path as a C string.
pub fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

/// `n` bytes of a recognisable pattern.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Whether the calling thread has capability `cap` in its effective set.
pub fn have_cap(cap: u32) -> bool {
    use crate::creds::*;
    let mut hdr = CapUserHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapUserData::default(); 2];
    capget(&mut hdr, Some(&mut data)).unwrap();
    cap_is_set(&data, cap, |d| d.effective)
}

/// The running kernel's (major, minor) version.
pub fn kernel_version() -> (u32, u32) {
    let s = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut it = s.trim().split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
    let major = it.next().unwrap().parse().unwrap();
    let minor = it.next().unwrap().parse().unwrap();
    (major, minor)
}

/// The permission column of the /proc/self/maps line containing `addr`.
pub fn maps_perms(addr: usize) -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let range = f.next()?;
        let perms = f.next()?;
        let (a, b) = range.split_once('-')?;
        let (a, b) = (usize::from_str_radix(a, 16).ok()?, usize::from_str_radix(b, 16).ok()?);
        (a <= addr && addr < b).then(|| perms.to_string())
    })
}

/// Set `sig` to SIG_IGN (with our `restore_rt`, as x86_64 requires SA_RESTORER); returns
/// the action it had, for the test to put back.
pub(crate) fn ignore(sig: i32) -> crate::signal::KernelSigaction {
    use crate::signal::{restore_rt, rt_sigaction, KernelSigaction, SigSet, SA_RESTORER, SIG_IGN};
    let ign = KernelSigaction {
        handler: SIG_IGN,
        flags: SA_RESTORER,
        restorer: restore_rt as *const () as usize,
        mask: SigSet::EMPTY,
    };
    let mut old = KernelSigaction::default();
    // SAFETY: SIG_IGN runs no code.
    unsafe { rt_sigaction(sig, Some(&ign), Some(&mut old)) }.unwrap();
    old
}
