//! One process taken through a checkpoint by one CRIU binary, for tests that check what
//! comes back (memory, threads, huge pages) rather than a zdtm test's own verdict.
//!
//! The workload runs inside a [`Sandbox`], its std fds opened there (CRIU cannot resolve
//! the mount of an fd opened in the host's mount namespace); it announces itself by
//! writing a line that starts with `ready` to a file.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::sandbox::{self, Sandbox};
use crate::step::{self, Ran};

/// A started workload.
pub struct Workload {
    pub child: Child,
    pub pid: i32,
    /// The words of its ready line after `ready`.
    pub ready: Vec<String>,
}

/// Start `exe` with `args` in `dir` inside `sb`; wait up to `timeout` for it to write
/// its ready line to `dir/ready` (passed as its first argument).
pub fn start(sb: &Sandbox, dir: &Path, exe: &Path, args: &[&OsStr], timeout: Duration) -> Result<Workload, String> {
    let ready = dir.join("ready");
    let _ = fs::remove_file(&ready);
    let mut cmd = sb.command("sh", dir).map_err(|e| format!("sandbox: {e}"))?;
    cmd.args(["-c", "exec \"$0\" \"$@\" </dev/null >/dev/null 2>&1"])
        .arg(exe)
        .arg(&ready)
        .args(args);
    let mut child = cmd.spawn().map_err(|e| format!("start {}: {e}", exe.display()))?;
    let pid = child.id() as i32;
    let end = Instant::now() + timeout;
    loop {
        if let Ok(line) = fs::read_to_string(&ready) {
            if line.ends_with('\n') {
                let words: Vec<String> = line.split_whitespace().map(String::from).collect();
                if words.first().map(String::as_str) != Some("ready") {
                    return Err(format!("{}: unexpected ready line {line:?}", exe.display()));
                }
                return Ok(Workload {
                    child,
                    pid,
                    ready: words[1..].to_vec(),
                });
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!("{} exited before it was ready: {st}", exe.display()));
        }
        if Instant::now() >= end {
            let _ = child.kill();
            return Err(format!("{} was not ready in {timeout:?}", exe.display()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A CRIU binary and the directory its images and logs go to.
pub struct Criu<'a> {
    pub criu: &'a Path,
    pub dir: PathBuf,
    pub timeout: Duration,
    /// Environment of the restore (e.g. `CRIU_FAULT`, CRIU's fault injection).
    pub restore_env: Vec<(String, String)>,
}

impl<'a> Criu<'a> {
    pub fn new(criu: &'a Path, dir: &Path, timeout: Duration) -> Criu<'a> {
        Criu {
            criu,
            dir: dir.to_path_buf(),
            timeout,
            restore_env: Vec::new(),
        }
    }

    fn img(&self) -> PathBuf {
        self.dir.join("img")
    }

    /// `criu dump` of `w` (which CRIU kills); reaps it so its PID is free for the restore.
    pub fn dump(&self, sb: &Sandbox, w: &mut Workload) -> Result<(), String> {
        let img = self.img();
        let _ = fs::remove_dir_all(&img);
        fs::create_dir_all(&img).map_err(|e| format!("mkdir {}: {e}", img.display()))?;
        let mut dump = sb.command(self.criu, &self.dir).map_err(|e| format!("sandbox: {e}"))?;
        dump.arg("dump").arg("-t").arg(w.pid.to_string()).arg("-D").arg(&img);
        dump.args(["-o", "dump.log", "-v4", "--shell-job"]);
        let ran = step::run(dump, &self.dir.join("dump.out"), self.timeout);
        if !ran.success() {
            return Err(format!("criu dump: {ran:?}\n{}", self.log_tail("dump.log")));
        }
        let _ = w.child.wait();
        Ok(())
    }

    /// `criu restore -d`; returns the restored PID (the dumped one, or an error).
    pub fn restore(&self, sb: &Sandbox, dumped: i32) -> Result<i32, String> {
        let img = self.img();
        let pidfile = img.join("restore.pid");
        let mut restore = sb.command(self.criu, &self.dir).map_err(|e| format!("sandbox: {e}"))?;
        restore.arg("restore").arg("-d").arg("-D").arg(&img);
        restore
            .args(["-o", "restore.log", "-v4", "--shell-job"])
            .arg("--pidfile")
            .arg(&pidfile);
        restore.envs(self.restore_env.iter().map(|(k, v)| (k, v)));
        let ran = step::run(restore, &self.dir.join("restore.out"), self.timeout);
        if !matches!(ran, Ran::Exited(s) if s.success()) {
            return Err(format!("criu restore: {ran:?}\n{}", self.log_tail("restore.log")));
        }
        let pid: i32 = fs::read_to_string(&pidfile)
            .map_err(|e| format!("{}: {e}", pidfile.display()))?
            .trim()
            .parse()
            .map_err(|e| format!("{}: {e}", pidfile.display()))?;
        if pid != dumped {
            return Err(format!("restored PID {pid}, dumped {dumped}"));
        }
        if !sandbox::alive(pid) {
            return Err(format!("restored {pid} is not alive\n{}", self.log_tail("restore.log")));
        }
        Ok(pid)
    }

    /// The last lines of one of the logs.
    pub fn log_tail(&self, name: &str) -> String {
        criu_src::tail_lines(&fs::read_to_string(self.img().join(name)).unwrap_or_default(), 20)
    }
}

/// Read `len` bytes of process `pid`'s memory at `addr`.
pub fn read_mem(pid: i32, addr: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mem = fs::File::open(format!("/proc/{pid}/mem"))?;
    let mut buf = vec![0u8; len];
    std::os::unix::fs::FileExt::read_exact_at(&mem, &mut buf, addr)?;
    Ok(buf)
}

/// The threads of process `pid`.
pub fn threads(pid: i32) -> std::io::Result<usize> {
    Ok(fs::read_dir(format!("/proc/{pid}/task"))?.count())
}

/// One VMA of `/proc/PID/smaps`: its range, permissions, name and the fields the
/// huge-page checks read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    /// The mapped file or `[heap]`-like name; empty for anonymous memory.
    pub name: String,
    pub rss_kb: u64,
    pub anon_huge_kb: u64,
    /// The `VmFlags:` words, in the kernel's order.
    pub flags: Vec<String>,
}

/// Every VMA of process `pid`, from `/proc/PID/smaps`.
pub fn vmas(pid: i32) -> std::io::Result<Vec<Vma>> {
    let smaps = fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let mut out: Vec<Vma> = Vec::new();
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            if let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) {
                let perms = words.next().unwrap_or("").to_string();
                // offset, device, inode, then the name (which may hold spaces).
                let name = line.split_whitespace().skip(5).collect::<Vec<_>>().join(" ");
                out.push(Vma {
                    start,
                    end,
                    perms,
                    name,
                    rss_kb: 0,
                    anon_huge_kb: 0,
                    flags: Vec::new(),
                });
                continue;
            }
        }
        let Some(v) = out.last_mut() else { continue };
        let kb = |rest: &str| rest.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
        if let Some(rest) = line.strip_prefix("Rss:") {
            v.rss_kb = kb(rest);
        } else if let Some(rest) = line.strip_prefix("AnonHugePages:") {
            v.anon_huge_kb = kb(rest);
        } else if let Some(rest) = line.strip_prefix("VmFlags:") {
            v.flags = rest.split_whitespace().map(String::from).collect();
        }
    }
    Ok(out)
}

/// AnonHugePages (kB) of the VMA of `pid` that starts at `start`.
pub fn anon_huge_kb(pid: i32, start: u64) -> std::io::Result<u64> {
    vmas(pid)?
        .into_iter()
        .find(|v| v.start == start)
        .map(|v| v.anon_huge_kb)
        .ok_or_else(|| std::io::Error::other(format!("no VMA at {start:#x} in /proc/{pid}/smaps")))
}
