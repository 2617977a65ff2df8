//! Starting, watching and stopping `qemu-system-x86_64`; choosing KVM or TCG.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use syscalls::Sysno;

use crate::{add_files, console, lock_file, tail, Error, GuestFile, Rig, RunOutcome, Scenario};

/// The accelerator (`-accel`) and CPU model (`-cpu`) of every boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accel {
    /// `kvm` or `tcg`.
    pub name: String,
    pub cpu: String,
    /// Why this one was chosen.
    pub reason: String,
}

impl Accel {
    pub(crate) fn tcg() -> Self {
        Accel {
            name: "tcg".into(),
            cpu: std::env::var("RIG_QEMU_CPU").unwrap_or_else(|_| "max".into()),
            reason: String::new(),
        }
    }

    fn kvm(cpu: &str) -> Self {
        Accel {
            name: "kvm".into(),
            cpu: std::env::var("RIG_QEMU_CPU").unwrap_or_else(|_| cpu.into()),
            reason: String::new(),
        }
    }

    fn with_reason(mut self, r: impl Into<String>) -> Self {
        self.reason = r.into();
        self
    }
}

impl fmt::Display for Accel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (-cpu {})", self.name, self.cpu)
    }
}

/// CPU models tried with KVM, in order.
const KVM_CPUS: &[&str] = &["host", "max"];
const PROBE_DEADLINE: Duration = Duration::from_secs(30);

/// `RIG_ACCEL=tcg|kvm` forces one; otherwise (`auto`) KVM is used only if `/dev/kvm` opens and
/// a probe boot under KVM reaches the end of /init within 30 s; the probe's verdict is cached
/// in `<cache>/accel-probe`, keyed by host kernel, QEMU version and guest kernel.
pub(crate) fn choose_accel(rig: &Rig) -> Result<Accel, Error> {
    match std::env::var("RIG_ACCEL").as_deref() {
        Ok("tcg") => return Ok(Accel::tcg().with_reason("RIG_ACCEL=tcg")),
        Ok("kvm") => return Ok(Accel::kvm("host").with_reason("RIG_ACCEL=kvm")),
        Ok("auto") | Ok("") | Err(_) => {}
        Ok(other) => return Err(Error::Setup(format!("RIG_ACCEL={other}: expected tcg, kvm or auto"))),
    }
    if let Err(e) = fs::OpenOptions::new().read(true).write(true).open("/dev/kvm") {
        return Ok(Accel::tcg().with_reason(format!("/dev/kvm cannot be opened: {e}")));
    }
    let qemu_version = crate::host::run(Command::new(&rig.qemu).arg("--version"))?;
    let host_kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let key = format!(
        "host={} qemu={} guest={}",
        host_kernel.trim(),
        qemu_version.lines().next().unwrap_or("").trim(),
        rig.kernel_package
    );
    let cache = rig.cache_dir.join("accel-probe");
    if let Ok(text) = fs::read_to_string(&cache) {
        let mut lines = text.lines();
        if lines.next() == Some(key.as_str()) {
            let verdict = lines.next().unwrap_or("");
            let why = lines.collect::<Vec<_>>().join("; ");
            if let Some(cpu) = verdict.strip_prefix("kvm ") {
                return Ok(Accel::kvm(cpu).with_reason(format!("cached KVM probe: {why}")));
            }
            if verdict == "tcg" {
                return Ok(Accel::tcg().with_reason(format!("cached KVM probe: {why}")));
            }
        }
    }
    let mut failures = Vec::new();
    let mut verdict = None;
    for cpu in KVM_CPUS {
        let accel = Accel::kvm(cpu);
        let mut s = Scenario::new(format!("accel-probe-kvm-{cpu}"), "rig_result probe PASS");
        s.deadline = PROBE_DEADLINE;
        s.memory_mb = 512;
        match run_with(rig, &s, &accel) {
            Ok(out) if out.result("probe").is_some_and(|(ok, _)| ok) => {
                verdict = Some(format!("kvm {}", accel.cpu));
                failures.push(format!("-accel kvm -cpu {cpu} boots in {:.1?}", out.elapsed));
                break;
            }
            Ok(out) => failures.push(format!(
                "-accel kvm -cpu {cpu}: no probe result ({})",
                out.log_path.display()
            )),
            Err(e) => failures.push(format!(
                "-accel kvm -cpu {cpu}: {}",
                e.to_string().lines().next().unwrap_or("")
            )),
        }
    }
    let verdict = verdict.unwrap_or_else(|| "tcg".to_string());
    let why = failures.join("; ");
    let _ = fs::write(&cache, format!("{key}\n{verdict}\n{}\n", failures.join("\n")));
    Ok(match verdict.strip_prefix("kvm ") {
        Some(cpu) => Accel::kvm(cpu).with_reason(format!("KVM probe: {why}")),
        None => Accel::tcg().with_reason(format!("KVM probe failed, using TCG: {why}")),
    })
}

/// Kills QEMU (by the PID in its `-pidfile`, which must be our child's) and reaps it when
/// dropped, so no VM outlives a panicking test. QEMU also gets SIGKILL if the spawning
/// thread dies first (PR_SET_PDEATHSIG).
struct QemuGuard {
    child: Child,
    pidfile: PathBuf,
}

impl QemuGuard {
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let own = self.child.id();
        let from_file = fs::read_to_string(&self.pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        // Only ever signal our own child, whatever the pidfile says.
        let pid = from_file.filter(|&p| p == own).unwrap_or(own);
        // SAFETY: kill(2) on our own unreaped child's PID.
        let _ = unsafe { syscalls::syscall2(Sysno::kill, pid as usize, 15) };
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for QemuGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Removes the run's temporary files when dropped.
struct TempFiles(Vec<PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = fs::remove_file(p);
        }
    }
}

pub(crate) fn run(rig: &Rig, s: &Scenario) -> Result<RunOutcome, Error> {
    run_with(rig, s, &rig.accel)
}

fn valid_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) && !n.starts_with('.')
}

fn run_with(rig: &Rig, s: &Scenario, accel: &Accel) -> Result<RunOutcome, Error> {
    if !valid_name(&s.name) {
        return Err(Error::Scenario(format!(
            "scenario name {:?} is not [A-Za-z0-9_.-]+",
            s.name
        )));
    }
    // The scenario's part of the initramfs, appended to the cached base.
    let mut w = rig.base.continuation();
    let deadline_s = s.deadline.as_secs().max(1);
    let env = format!("RIG_SCENARIO={}\nRIG_DEADLINE={deadline_s}\n", s.name);
    let mut files = vec![
        GuestFile::bytes("/rig/env", env, 0o644),
        GuestFile::bytes("/rig/scenario.sh", s.script.clone(), 0o755),
        GuestFile::bytes("/rig/fetch", format!("{}\n", s.fetch.join("\n")), 0o644),
    ];
    files.extend(s.files.iter().cloned());
    add_files(&mut w, &files)?;
    let tail_bytes = w.finish();

    static VM: Mutex<()> = Mutex::new(());
    let _one_vm = VM.lock().unwrap_or_else(PoisonError::into_inner);
    let _vm_lock = lock_file(&rig.cache_dir.join("vm.lock"))?;

    let run_dir = rig.cache_dir.join("run");
    fs::create_dir_all(&run_dir).map_err(|e| Error::io("creating the run dir", e))?;
    let stem = format!("{}-{}", s.name, std::process::id());
    let initrd = run_dir.join(format!("{stem}.cpio"));
    let pidfile = run_dir.join(format!("{stem}.pid"));
    let stderr_path = run_dir.join(format!("{stem}.stderr"));
    let _temps = TempFiles(vec![initrd.clone(), pidfile.clone(), stderr_path.clone()]);
    let log_path = rig.log_dir.join(format!("{}.log", s.name));
    {
        let mut f = fs::File::create(&initrd).map_err(|e| Error::io(format!("creating {}", initrd.display()), e))?;
        f.write_all(rig.base.bytes())
            .and_then(|_| f.write_all(&tail_bytes))
            .map_err(|e| Error::io("writing the initramfs", e))?;
    }
    let _ = fs::remove_file(&pidfile);
    let _ = fs::remove_file(&log_path);
    let stderr = fs::File::create(&stderr_path).map_err(|e| Error::io("creating QEMU's stderr file", e))?;

    let mut cmd = Command::new(&rig.qemu);
    cmd.args([
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-monitor",
        "none",
        "-no-reboot",
    ])
    .args(["-accel", &accel.name, "-cpu", &accel.cpu, "-smp", "2"])
    .args(["-m", &s.memory_mb.to_string()])
    .arg("-kernel")
    .arg(&rig.vmlinuz)
    .arg("-initrd")
    .arg(&initrd)
    .args(["-append", "console=ttyS0 panic=-1 rdinit=/init"])
    .arg("-serial")
    .arg(format!("file:{}", log_path.display()))
    .arg("-pidfile")
    .arg(&pidfile)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(stderr);
    // SAFETY: prctl(2) only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            syscalls::syscall2(Sysno::prctl, 1 /* PR_SET_PDEATHSIG */, 9 /* SIGKILL */)
                .map(|_| ())
                .map_err(|e| std::io::Error::from_raw_os_error(e.into_raw()))
        });
    }
    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| Error::Setup(format!("cannot start {}: {e}", rig.qemu.display())))?;
    let mut guard = QemuGuard { child, pidfile };
    let status = loop {
        match guard.child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(e) => return Err(Error::io("waiting for QEMU", e)),
        }
        if start.elapsed() > s.deadline {
            guard.stop();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = start.elapsed();
    drop(guard);

    let console = read_lossy(&log_path);
    let qemu_stderr = read_lossy(&stderr_path);
    if !qemu_stderr.trim().is_empty() {
        if let Ok(mut f) = fs::OpenOptions::new().append(true).create(true).open(&log_path) {
            let _ = write!(f, "\n--- qemu-rig: QEMU's stderr ---\n{qemu_stderr}");
        }
    }
    let Some(status) = status else {
        eprintln!(
            "qemu-rig: scenario {} hit its deadline of {:?}; console ({}):\n{console}",
            s.name,
            s.deadline,
            log_path.display()
        );
        return Err(Error::Deadline {
            scenario: s.name.clone(),
            deadline: s.deadline,
            log_path,
            console_tail: tail(&console, 60),
        });
    };
    let parsed = console::parse(&console);
    if !parsed.done {
        let reason = if !parsed.booted {
            format!(
                "the guest never reached /init (QEMU {status}; accel {accel}){}",
                stderr_note(&qemu_stderr)
            )
        } else {
            format!(
                "the guest stopped before /init finished (QEMU {status}){}",
                stderr_note(&qemu_stderr)
            )
        };
        eprintln!(
            "qemu-rig: scenario {}: {reason}; console ({}):\n{console}",
            s.name,
            log_path.display()
        );
        return Err(Error::Guest {
            scenario: s.name.clone(),
            reason,
            log_path,
            console_tail: tail(&console, 60),
        });
    }
    eprintln!(
        "qemu-rig: scenario {} finished in {:.1?} under {accel}; {} results; log {}",
        s.name,
        elapsed,
        parsed.results.len(),
        log_path.display()
    );
    Ok(RunOutcome {
        console,
        results: parsed.results,
        files: parsed.files,
        log_path,
        elapsed,
        exit_status: parsed.exit_status,
        file_errors: parsed.file_errors,
    })
}

fn stderr_note(s: &str) -> String {
    if s.trim().is_empty() {
        String::new()
    } else {
        format!("; QEMU said: {}", s.trim())
    }
}

fn read_lossy(p: &Path) -> String {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn scenario_names() {
        assert!(super::valid_name("criu_check-1.x"));
        assert!(!super::valid_name("a/b"));
        assert!(!super::valid_name(".."));
        assert!(!super::valid_name(""));
    }
}
