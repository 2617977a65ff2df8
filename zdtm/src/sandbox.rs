//! One test's isolation: its own mount, UTS and IPC namespaces (mounts private), no
//! inherited fds, and every process left in it killed at the end.
//!
//! A holder process (`sleep infinity`) is created in fresh namespaces; every step of the
//! test (start, dump, restore, hooks) then joins them with `setns` before it executes,
//! so the test, CRIU and the restored task all see the test's mounts and hostname and
//! none of it reaches the host.

use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The namespaces a test lives in, for as long as this value lives.
pub struct Sandbox {
    holder: Child,
    /// Open namespace files of the holder: ipc, uts, mnt (setns order: mnt last).
    ns: Vec<File>,
    /// `readlink /proc/PID/ns/mnt` of the holder, e.g. `mnt:[4026532313]`.
    mnt: String,
}

impl Sandbox {
    pub fn new() -> io::Result<Sandbox> {
        become_subreaper()?;
        let mut cmd = Command::new("sleep");
        cmd.arg("infinity")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: the closure runs in the forked child before exec and only makes raw
        // syscalls (unshare, mount, close_range), which are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                check(libc::unshare(
                    libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC,
                ))?;
                // Without this a test's mounts would propagate back to the host's peers.
                check(libc::mount(
                    c"none".as_ptr(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                cloexec_inherited()
            });
        }
        let holder = cmd.spawn()?;
        let pid = holder.id();
        let mut s = Sandbox {
            holder,
            ns: Vec::new(),
            mnt: String::new(),
        };
        for n in ["ipc", "uts", "mnt"] {
            s.ns.push(File::open(format!("/proc/{pid}/ns/{n}"))?);
        }
        s.mnt = fs::read_link(format!("/proc/{pid}/ns/mnt"))?
            .to_string_lossy()
            .into_owned();
        if fs::read_link("/proc/self/ns/mnt")?.to_string_lossy() == s.mnt {
            return Err(io::Error::other("the sandbox's mount namespace is the host's"));
        }
        Ok(s)
    }

    /// A command that runs inside the sandbox in `cwd`, in a session (and so a process
    /// group) of its own, with no fd above 2 inherited. A session of its own because the
    /// caller's may be led from outside the PID namespace (a container's), and CRIU
    /// refuses to dump a task whose session leader it cannot see.
    pub fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> io::Result<Command> {
        let mut cmd = Command::new(program);
        let fds: Vec<i32> = self.ns.iter().map(|f| f.as_raw_fd()).collect();
        // Entering a mount namespace moves the cwd to its root: go back after setns.
        let dir = CString::new(cwd.as_os_str().as_bytes())?;
        // SAFETY: the closure runs in the forked child before exec; it makes raw syscalls
        // only (setns, chdir, setsid, close_range) on fds this Sandbox keeps open and a
        // string the closure owns.
        unsafe {
            cmd.pre_exec(move || {
                for &fd in &fds {
                    check(libc::setns(fd, 0))?;
                }
                check(libc::chdir(dir.as_ptr()))?;
                check(libc::setsid())?;
                cloexec_inherited()
            });
        }
        Ok(cmd)
    }

    /// Processes in the sandbox's mount namespace, other than the holder.
    pub fn members(&self) -> Vec<i32> {
        let holder = self.holder.id() as i32;
        procs()
            .filter(|&p| p != holder && ns_of(p).as_deref() == Some(self.mnt.as_str()))
            .collect()
    }

    /// Kill every process of the sandbox, and `extra` (PIDs the test reported, and the
    /// sessions they lead), until none is left or `deadline` passes; the holder last.
    /// Returns the PIDs still alive at the deadline (unkillable, e.g. in D state).
    pub fn kill_all(&mut self, extra: &[i32], deadline: Duration) -> Vec<i32> {
        let end = Instant::now() + deadline;
        let me = std::process::id() as i32;
        let mut killed: Vec<i32> = Vec::new();
        loop {
            let mut left = self.members();
            for &p in extra.iter().filter(|&&p| p > 1 && p != me) {
                if alive(p) {
                    left.push(p);
                }
                left.extend(procs().filter(|&q| q != me && session_of(q) == Some(p)));
            }
            left.sort_unstable();
            left.dedup();
            // Killed orphans of ours are zombies now, out of the namespace: reap them.
            for &p in &killed {
                reap(p);
            }
            if left.is_empty() || Instant::now() >= end {
                reap_sessions(extra);
                let _ = self.holder.kill();
                let _ = self.holder.wait();
                return left;
            }
            for &p in &left {
                // SAFETY: kill(2) with a PID we found alive; it touches no memory of ours.
                unsafe { libc::kill(p, libc::SIGKILL) };
            }
            killed.extend(&left);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill_all(&[], Duration::from_secs(5));
    }
}

/// Make this process the reaper of the tests' orphans (a test daemonizes; CRIU's restored
/// tree outlives CRIU): the machine's init may take seconds to reap them, and a restore
/// needs the dumped task's PID free. Orphans are reaped by PID ([`reap`]), never with
/// `waitpid(-1)`, so children that std's `Child` owns keep their status.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes an integer and touches no memory.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
}

/// Reap `pid` if it is an exited child of ours (an orphan handed to us as subreaper).
fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: waitpid(2) of one PID without blocking; `status` is a live local.
    unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Mark every fd above 2 close-on-exec: the test and CRIU must not see our fds (CRIU
/// cannot resolve the mounts of inherited ones), while the fd std uses to report an
/// exec failure keeps working until the exec.
fn cloexec_inherited() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes fd flags; no memory is passed.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn procs() -> impl Iterator<Item = i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
}

fn ns_of(pid: i32) -> Option<String> {
    Some(
        fs::read_link(format!("/proc/{pid}/ns/mnt"))
            .ok()?
            .to_string_lossy()
            .into_owned(),
    )
}

/// The fields of /proc/PID/stat after the parenthesised name (which may hold spaces):
/// state, ppid, pgrp, session, ...
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.get(stat.rfind(')')? + 2..)?
            .split(' ')
            .map(str::to_owned)
            .collect(),
    )
}

fn session_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(3)?.parse().ok()
}

/// Processes whose process group or session is `pid`'s: they keep the PID allocated
/// after its own process is gone.
fn holders_of(pid: i32) -> Vec<(i32, Vec<String>)> {
    procs()
        .filter_map(|p| Some((p, stat_fields(p)?)))
        .filter(|(_, f)| {
            f.get(2).and_then(|g| g.parse().ok()) == Some(pid) || f.get(3).and_then(|s| s.parse().ok()) == Some(pid)
        })
        .collect()
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat.get(i + 2..i + 3))
            .is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    }
}

/// Reap the zombies of ours whose process group or session is one of `ids` (a test's
/// processes, orphaned to us; zombies have left the namespace, so only these tell).
fn reap_sessions(ids: &[i32]) {
    let me = std::process::id().to_string();
    for &id in ids {
        for (p, f) in holders_of(id) {
            if f.first().is_some_and(|s| s == "Z") && f.get(1) == Some(&me) {
                reap(p);
            }
        }
    }
}

/// Wait until `pid` has exited (a zombie counts); false if `timeout` passed first.
pub fn wait_exit(pid: i32, timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    loop {
        reap(pid);
        if !alive(pid) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `pid`, its descendants and all their threads: the IDs a dump of its tree records and
/// a restore wants back.
pub fn tree_of(pid: i32) -> Vec<i32> {
    let parents: Vec<(i32, i32)> = procs()
        .filter_map(|p| Some((p, stat_fields(p)?.get(1)?.parse().ok()?)))
        .collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parents.iter().filter(|&&(_, pp)| pp == p).map(|&(c, _)| c));
        i += 1;
    }
    let mut ids = tree.clone();
    for p in &tree {
        if let Ok(rd) = fs::read_dir(format!("/proc/{p}/task")) {
            ids.extend(rd.flatten().filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()));
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Wait until every ID of `ids` is free again, for a restore to take it: each process
/// gone and reaped, and the zombies of its process group and session too (they pin the
/// ID); false if `timeout` passed first.
pub fn wait_free(ids: &[i32], timeout: Duration) -> bool {
    let end = Instant::now() + timeout;
    loop {
        let mut free = true;
        for &id in ids {
            reap(id);
            reap_sessions(&[id]);
            if Path::new(&format!("/proc/{id}")).exists() || !holders_of(id).is_empty() {
                free = false;
            }
        }
        if free {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
