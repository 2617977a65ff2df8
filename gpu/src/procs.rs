//! Child processes with deadlines: every wait here ends at a deadline or on Ctrl-C
//! (SIGINT, SIGTERM, SIGHUP), and what was started can be killed and reaped.

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Turn SIGINT, SIGTERM and SIGHUP into a flag that every wait checks.
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn check_interrupt() -> Result<(), String> {
    if interrupted() {
        Err("interrupted".into())
    } else {
        Ok(())
    }
}

/// Become the reaper of orphaned descendants: a task that `criu restore -d` leaves
/// behind is reparented to us, so that we can reap it and free its PID.
pub fn set_child_subreaper() -> Result<(), String> {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if r != 0 {
        return Err(format!("prctl(PR_SET_CHILD_SUBREAPER): {}", io::Error::last_os_error()));
    }
    Ok(())
}

fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open(2) returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: a new fd that nothing else owns.
    Some(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Sleep until `fd` is readable (the process exited) or `max` passed.
fn nap(fd: Option<&OwnedFd>, max: Duration) {
    match fd {
        Some(fd) => {
            let mut p = libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, max.as_millis().clamp(1, 100) as i32) };
        }
        None => std::thread::sleep(max.min(Duration::from_millis(2))),
    }
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
}

/// Wait for `child` until `deadline`; on timeout or Ctrl-C the child is killed and
/// reaped, and the error says which.
pub fn wait_child(child: &mut Child, deadline: Instant, what: &str) -> Result<ExitStatus, String> {
    let fd = pidfd_open(child.id() as i32);
    loop {
        if let Some(st) = child.try_wait().map_err(|e| format!("{what}: wait: {e}"))? {
            return Ok(st);
        }
        let why = if interrupted() {
            "interrupted"
        } else if remaining(deadline).is_none() {
            "timed out"
        } else {
            nap(
                fd.as_ref(),
                remaining(deadline).unwrap_or_default().min(Duration::from_millis(100)),
            );
            continue;
        };
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("{what}: {why} (killed it)"));
    }
}

/// A finished command: its status, wall time and output (stdout and stderr).
#[derive(Debug, Clone)]
pub struct StepRun {
    pub status: ExitStatus,
    pub seconds: f64,
    pub output: String,
}

/// Run `cmd` with stdin from /dev/null and stdout + stderr into `out_file` (a file,
/// not a pipe: whatever the command leaves running cannot hold us), within `timeout`.
pub fn run_step(cmd: &mut Command, out_file: &Path, timeout: Duration, what: &str) -> Result<StepRun, String> {
    check_interrupt()?;
    let out = File::create(out_file).map_err(|e| format!("{}: {e}", out_file.display()))?;
    let err = out.try_clone().map_err(|e| format!("{}: {e}", out_file.display()))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let t = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{what}: cannot start {:?}: {e}", cmd.get_program()))?;
    let status = wait_child(&mut child, t + timeout, what)?;
    let seconds = t.elapsed().as_secs_f64();
    let output = fs::read_to_string(out_file).unwrap_or_default();
    Ok(StepRun {
        status,
        seconds,
        output,
    })
}

/// Make the command's process a session leader (setsid) without a terminal, and
/// close every descriptor but 0, 1 and 2 at its exec, whatever we inherited (a pipe
/// to our own parent, say): CRIU is to dump a task that holds nothing external.
pub fn new_session(cmd: &mut Command) -> &mut Command {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: setsid and close_range are plain syscalls, async-signal-safe; nothing
    // else runs between fork and exec. CLOEXEC (not closing) keeps the std library's
    // own exec-error pipe working.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            );
            Ok(())
        })
    }
}

/// The process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(s) => s
            .rsplit_once(')')
            .and_then(|(_, r)| r.trim_start().chars().next())
            .is_some_and(|c| c != 'Z' && c != 'X'),
        Err(_) => false,
    }
}

/// Send `sig` to `pid`.
pub fn signal(pid: i32, sig: libc::c_int) -> Result<(), String> {
    // SAFETY: kill(2) with plain integers.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(format!("kill({pid}, {sig}): {}", io::Error::last_os_error()));
    }
    Ok(())
}

/// Wait until `pid` is gone and its PID is free again: reaped by us when it is our
/// child (or was reparented to us, see `set_child_subreaper`), else by its parent.
pub fn wait_gone(pid: i32, deadline: Instant) -> Result<(), String> {
    let fd = pidfd_open(pid);
    loop {
        let mut st = 0;
        // SAFETY: waitpid on one PID, no hang.
        let r = unsafe { libc::waitpid(pid, &mut st, libc::WNOHANG) };
        if r == pid {
            return Ok(());
        }
        if r < 0 && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return Ok(());
        }
        if remaining(deadline).is_none() {
            return Err(format!("pid {pid} is still there"));
        }
        // No interrupt check: this runs in the cleanup after Ctrl-C too.
        nap(fd.as_ref(), Duration::from_millis(50));
    }
}

/// SIGKILL `pid` and wait until it is gone (see `wait_gone`).
pub fn kill_and_wait(pid: i32, timeout: Duration) -> Result<(), String> {
    if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
        return Ok(());
    }
    let _ = signal(pid, libc::SIGKILL);
    wait_gone(pid, Instant::now() + timeout)
}

/// Wait for a non-empty `path` until `deadline`; `check` runs on every poll (say,
/// whether the process that should write it is still alive).
pub fn wait_for_file(
    path: &Path,
    deadline: Instant,
    what: &str,
    mut check: impl FnMut() -> Result<(), String>,
) -> Result<String, String> {
    loop {
        if let Ok(s) = fs::read_to_string(path) {
            if !s.trim().is_empty() {
                return Ok(s.trim().to_string());
            }
        }
        check_interrupt()?;
        check()?;
        if remaining(deadline).is_none() {
            return Err(format!("{what}: timed out waiting for {}", path.display()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last `n` lines of a file, indented, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    let from = lines.len().saturating_sub(n);
    lines[from..].iter().map(|l| format!("    | {l}\n")).collect()
}

/// sync, then drop the page cache, dentries and inodes (needs root).
pub fn drop_caches() -> Result<(), String> {
    // SAFETY: sync(2) has no arguments.
    unsafe { libc::sync() };
    fs::write("/proc/sys/vm/drop_caches", "3\n").map_err(|e| format!("drop caches (root needed): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_output_status_and_time() {
        let dir = std::env::temp_dir().join(format!("pie-gpu-procs-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let r = run_step(
            Command::new("sh").args(["-c", "echo hi; echo err >&2; exit 3"]),
            &out,
            Duration::from_secs(20),
            "sh",
        )
        .unwrap();
        assert_eq!(r.status.code(), Some(3));
        assert!(r.output.contains("hi") && r.output.contains("err"));
        // A background grandchild that keeps the output file open does not hold us.
        let t = Instant::now();
        let r = run_step(
            Command::new("sh").args(["-c", "sleep 5 & echo started"]),
            &out,
            Duration::from_secs(20),
            "sh",
        )
        .unwrap();
        assert!(r.status.success() && t.elapsed() < Duration::from_secs(4));
        let e = run_step(
            Command::new("sleep").arg("10"),
            &out,
            Duration::from_millis(200),
            "sleep",
        )
        .unwrap_err();
        assert!(e.contains("timed out"), "{e}");
        let e = run_step(
            &mut Command::new("/nonexistent/criu"),
            &out,
            Duration::from_secs(1),
            "criu",
        )
        .unwrap_err();
        assert!(e.contains("cannot start"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sessions_inherit_no_descriptors() {
        // SAFETY: a new descriptor without O_CLOEXEC, closed below.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY) };
        assert!(fd > 2);
        let out = std::env::temp_dir().join(format!("pie-gpu-fds-{}", std::process::id()));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "ls /proc/$$/fd; cut -d' ' -f6 /proc/$$/stat; echo $$"]);
        new_session(&mut cmd);
        let r = run_step(&mut cmd, &out, Duration::from_secs(20), "sh").unwrap();
        // SAFETY: our own descriptor.
        unsafe { libc::close(fd) };
        let _ = fs::remove_file(&out);
        let fds: Vec<&str> = r
            .output
            .lines()
            .take_while(|l| l.trim().parse::<i32>().is_ok_and(|n| n < 1000))
            .collect();
        assert!(!fds.contains(&fd.to_string().as_str()), "{}", r.output);
        let lines: Vec<&str> = r.output.lines().collect();
        let (sid, pid) = (lines[lines.len() - 2].trim(), lines[lines.len() - 1].trim());
        assert_eq!(sid, pid, "a session of its own: {}", r.output);
    }

    #[test]
    #[allow(clippy::zombie_processes)] // kill_and_wait reaps it with waitpid.
    fn kill_and_wait_frees_the_pid() {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        assert!(alive(pid));
        kill_and_wait(pid, Duration::from_secs(10)).unwrap();
        assert!(!alive(pid));
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        // Already gone: fine.
        kill_and_wait(pid, Duration::from_secs(1)).unwrap();
    }

    #[test]
    fn file_wait_has_a_deadline() {
        let p = std::env::temp_dir().join(format!("pie-gpu-nofile-{}", std::process::id()));
        let e = wait_for_file(&p, Instant::now() + Duration::from_millis(100), "x", || Ok(())).unwrap_err();
        assert!(e.contains("timed out"));
        let e = wait_for_file(&p, Instant::now() + Duration::from_secs(10), "x", || {
            Err("it died".into())
        })
        .unwrap_err();
        assert_eq!(e, "it died");
    }
}
