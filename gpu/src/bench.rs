//! gpu-restore-bench's measurement: the workload is started, its CUDA state
//! checkpointed, the process dumped by CRIU once, then restored by every CRIU binary
//! in turn (alternating order), its CUDA state restored, and every byte on the GPU
//! and the host verified, each phase timed; the machine's memcpy limit for the same
//! image is measured in the same run.

use crate::limit::{self, LimitRun};
use crate::opts::Opts;
use crate::procs::{self, StepRun};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workload, built in so that the binary is all that has to be carried.
pub const WORKLOAD_PY: &str = include_str!("../workload/gpu_workload.py");

/// One restore by one binary.
#[derive(Debug, Clone, Default)]
pub struct RoundResult {
    pub round: u32,
    pub name: String,
    /// 0 = this binary restored first in this round.
    pub position: usize,
    pub restored_pid: Option<i32>,
    /// Wall time of `criu restore`.
    pub criu_restore_s: Option<f64>,
    /// Wall time of `cuda-toggle restore` (process start, cuInit and the driver calls).
    pub cuda_restore_s: Option<f64>,
    /// The driver calls alone (cuCheckpointProcessRestore + Unlock), as cuda-toggle reports.
    pub cuda_restore_driver_s: Option<f64>,
    pub verify: Option<String>,
    pub verify_s: Option<f64>,
    pub notes: Vec<String>,
    pub error: Option<String>,
}

impl RoundResult {
    pub fn verified(&self) -> bool {
        self.error.is_none() && self.verify.as_deref().is_some_and(|v| v.starts_with("OK"))
    }

    /// CRIU restore + CUDA restore.
    pub fn total_s(&self) -> Option<f64> {
        Some(self.criu_restore_s? + self.cuda_restore_s?)
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct Results {
    pub workdir: PathBuf,
    pub fs_type: String,
    pub threads: usize,
    pub workload_pid: Option<i32>,
    /// From the start of the workload to its ready file.
    pub fill_s: Option<f64>,
    pub pre_dump_verify: Option<String>,
    pub pre_dump_verify_s: Option<f64>,
    pub checkpoint_s: Option<f64>,
    pub checkpoint_driver_s: Option<f64>,
    pub dump_s: Option<f64>,
    pub image_bytes: u64,
    pub pages_bytes: u64,
    pub pages_files: usize,
    pub limit: Vec<LimitRun>,
    pub rounds: Vec<RoundResult>,
    pub notes: Vec<String>,
    /// What stopped the run, if anything did.
    pub error: Option<String>,
}

impl Results {
    /// The run finished and every round verified.
    pub fn ok(&self) -> bool {
        self.error.is_none() && !self.rounds.is_empty() && self.rounds.iter().all(|r| r.verified())
    }
}

/// What is running and must be killed and reaped if we stop early.
struct Live {
    workload: Option<Child>,
    pids: Vec<i32>,
}

impl Live {
    fn cleanup(&mut self) {
        for pid in std::mem::take(&mut self.pids) {
            if let Err(e) = procs::kill_and_wait(pid, Duration::from_secs(30)) {
                eprintln!("gpu-restore-bench: cleanup: {e}");
            }
        }
        if let Some(mut c) = self.workload.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn fs_type(dir: &Path) -> String {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return "?".into();
    };
    // SAFETY: statfs fills the zeroed struct.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and struct.
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return "?".into();
    }
    match s.f_type as u64 {
        0xEF53 => "ext4".into(),
        0x5846_5342 => "xfs".into(),
        0x0102_1994 => "tmpfs (the page cache is all there is: --cold means nothing)".into(),
        0x9123_683E => "btrfs".into(),
        0x794C_7630 => "overlayfs".into(),
        t => format!("{t:#x}"),
    }
}

/// Ask the workload to verify everything; its one-line answer and the time it took.
fn verify(pid: i32, result: &Path, timeout: Duration) -> Result<(String, f64), String> {
    let _ = fs::remove_file(result);
    let t = Instant::now();
    procs::signal(pid, libc::SIGUSR1)?;
    let line = procs::wait_for_file(result, t + timeout, "verification", || {
        if procs::alive(pid) {
            Ok(())
        } else {
            Err(format!("verification: pid {pid} died"))
        }
    })?;
    Ok((line, t.elapsed().as_secs_f64()))
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    | {l}\n")).collect()
}

/// Run cuda-toggle ACTION PID --json; its run and the driver-call seconds it reports.
fn toggle(opts: &Opts, action: &str, pid: i32, out: &Path) -> Result<(StepRun, Option<f64>), String> {
    let mut cmd = Command::new(&opts.toggle);
    cmd.arg(action).arg(pid.to_string()).arg("--json");
    if action == "checkpoint" {
        cmd.arg("--timeout-ms").arg(opts.lock_timeout_ms.to_string());
    }
    let r = procs::run_step(&mut cmd, out, opts.step_timeout, &format!("cuda-toggle {action}"))?;
    let driver_s = r
        .output
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .and_then(|l| serde_json::from_str::<Value>(l).ok())
        .and_then(|v| v["cuda_seconds"].as_f64());
    if !r.status.success() {
        let mut e = format!(
            "cuda-toggle {action} {pid} failed ({}):\n{}",
            r.status,
            indent(&r.output)
        );
        if action == "restore" && r.output.contains("is RUNNING") {
            e += "  (CRIU's cuda plugin, cuda_plugin.so with cuda-checkpoint in PATH, restores the CUDA state \
                  itself during criu restore: run the CRIUs without it)\n";
        }
        return Err(e);
    }
    Ok((r, driver_s))
}

fn criu_cmd(opts: &Opts, bin: &Path) -> Command {
    let mut c = Command::new(bin);
    c.envs(opts.criu_env.iter().map(|(k, v)| (k, v)));
    c
}

/// Empty (or create) the image directory, refusing to clear anything that is not one.
fn fresh_image_dir(img: &Path) -> Result<(), String> {
    if img.exists() {
        let looks_like_images = fs::read_dir(img)
            .map_err(|e| format!("{}: {e}", img.display()))?
            .flatten()
            .all(|e| e.file_name().to_string_lossy().ends_with(".img"));
        if !looks_like_images {
            return Err(format!("{} has files other than *.img: not clearing it", img.display()));
        }
        fs::remove_dir_all(img).map_err(|e| format!("{}: {e}", img.display()))?;
    }
    fs::create_dir_all(img).map_err(|e| format!("{}: {e}", img.display()))
}

fn gib_arg(gib: f64) -> String {
    format!("{gib}")
}

/// The whole measurement. Progress goes to stdout as it happens; the results come
/// back even when a step failed (with `error` set), after everything started was
/// killed and reaped.
pub fn run(opts: &Opts) -> Results {
    let mut res = Results {
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        ..Default::default()
    };
    let mut live = Live {
        workload: None,
        pids: vec![],
    };
    if let Err(e) = run_inner(opts, &mut res, &mut live) {
        res.error = Some(e);
    }
    live.cleanup();
    if !opts.keep && !res.workdir.as_os_str().is_empty() {
        let _ = fs::remove_dir_all(res.workdir.join("img"));
    }
    res
}

fn run_inner(opts: &Opts, res: &mut Results, live: &mut Live) -> Result<(), String> {
    procs::set_child_subreaper()?;
    fs::create_dir_all(&opts.workdir).map_err(|e| format!("{}: {e}", opts.workdir.display()))?;
    let wd = fs::canonicalize(&opts.workdir).map_err(|e| format!("{}: {e}", opts.workdir.display()))?;
    res.workdir = wd.clone();
    res.fs_type = fs_type(&wd);
    let img = wd.join("img");
    fresh_image_dir(&img)?;
    println!("workdir {} ({}), {} threads", wd.display(), res.fs_type, res.threads);

    // The workload.
    let script = match &opts.workload {
        Some(p) => p.clone(),
        None => {
            let p = wd.join("gpu_workload.py");
            fs::write(&p, WORKLOAD_PY).map_err(|e| format!("{}: {e}", p.display()))?;
            p
        }
    };
    let (ready, result, log) = (
        wd.join("workload.ready"),
        wd.join("workload.result"),
        wd.join("workload.log"),
    );
    for f in [&ready, &result] {
        let _ = fs::remove_file(f);
    }
    let logf = fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let logf2 = logf.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&opts.python);
    cmd.arg(&script)
        .args(["--gib", &gib_arg(opts.gib), "--host-mib", &opts.host_mib.to_string()])
        .args(["--seed", &opts.seed.to_string()])
        .arg("--ready")
        .arg(&ready)
        .arg("--result")
        .arg(&result)
        .current_dir(&wd)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(logf)
        .stderr(logf2);
    procs::new_session(&mut cmd);
    let t = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the workload with {}: {e}", opts.python))?;
    let child_pid = child.id() as i32;
    live.workload = Some(child);
    let line = procs::wait_for_file(&ready, t + opts.ready_timeout, "workload", || {
        match live.workload.as_mut().map(|c| c.try_wait()) {
            Some(Ok(Some(st))) => Err(format!("the workload exited ({st}) before it was ready")),
            _ => Ok(()),
        }
    })
    .map_err(|e| match procs::interrupted() {
        true => e,
        false => format!("{e}\n  workload log {}:\n{}", log.display(), procs::tail(&log, 30)),
    })?;
    res.fill_s = Some(t.elapsed().as_secs_f64());
    let pid: i32 = line
        .strip_prefix("ready ")
        .and_then(|p| p.trim().parse().ok())
        .ok_or_else(|| format!("{}: expected \"ready PID\", got {line:?}", ready.display()))?;
    if pid != child_pid {
        live.pids.push(pid);
        res.notes.push(format!(
            "the workload's ready pid {pid} is not the started pid {child_pid}"
        ));
    }
    res.workload_pid = Some(pid);
    println!(
        "workload: pid {pid}, {} GiB GPU + {} MiB host filled in {:.1} s",
        gib_arg(opts.gib),
        opts.host_mib,
        t.elapsed().as_secs_f64()
    );
    let (v, vs) = verify(pid, &result, opts.verify_timeout)?;
    println!("verification before the checkpoint: {v} ({vs:.1} s)");
    res.pre_dump_verify = Some(v.clone());
    res.pre_dump_verify_s = Some(vs);
    if !v.starts_with("OK") {
        return Err(format!(
            "the workload failed its own verification before any checkpoint: {v}"
        ));
    }

    // CUDA checkpoint.
    let (r, driver_s) = toggle(opts, "checkpoint", pid, &wd.join("toggle-checkpoint.out"))?;
    res.checkpoint_s = Some(r.seconds);
    res.checkpoint_driver_s = driver_s;
    println!(
        "CUDA checkpoint (cuda-toggle checkpoint): {:.3} s{}",
        r.seconds,
        driver_part(driver_s)
    );

    // CRIU dump.
    let dump_log = wd.join("dump.log");
    let mut cmd = criu_cmd(opts, &opts.dump_criu);
    cmd.arg("dump")
        .arg("-t")
        .arg(pid.to_string())
        .arg("-D")
        .arg(&img)
        .args(["-v4", "-o"])
        .arg(&dump_log);
    cmd.args(&opts.dump_args);
    let r = procs::run_step(&mut cmd, &wd.join("dump.out"), opts.step_timeout, "criu dump")?;
    if !r.status.success() {
        return Err(format!(
            "criu dump failed ({}):\n{}  {}:\n{}",
            r.status,
            indent(&r.output),
            dump_log.display(),
            procs::tail(&dump_log, 25)
        ));
    }
    res.dump_s = Some(r.seconds);
    // The dumped task is gone (CRIU kills it); reap it so that its PID is free.
    let t = Instant::now();
    while procs::alive(pid) && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    if procs::alive(pid) {
        res.notes.push(format!(
            "pid {pid} still ran after the dump (--leave-running?): killed it"
        ));
        let _ = procs::signal(pid, libc::SIGKILL);
    }
    if let Some(mut c) = live.workload.take() {
        let _ = c.kill();
        procs::wait_child(&mut c, Instant::now() + Duration::from_secs(60), "the dumped workload")?;
    }
    if pid != child_pid {
        procs::kill_and_wait(pid, Duration::from_secs(60))?;
        live.pids.retain(|&p| p != pid);
    }
    let files = limit::pages_files(&img)?;
    res.pages_files = files.len();
    res.pages_bytes = files.iter().map(|(_, l)| l).sum();
    res.image_bytes = limit::dir_bytes(&img);
    println!(
        "CRIU dump: {:.3} s; image {:.3} GB, pages files {:.3} GB in {} file(s)",
        r.seconds,
        res.image_bytes as f64 / 1e9,
        res.pages_bytes as f64 / 1e9,
        res.pages_files
    );
    if files.is_empty() {
        return Err(format!("no pages-*.img in {}", img.display()));
    }

    // The machine's limit for this image.
    if opts.limit_runs > 0 {
        limit::warm(&files)?;
        for _ in 0..opts.limit_runs {
            if procs::interrupted() {
                return Err("interrupted".into());
            }
            // Into 4 KiB pages and into huge pages, alternating.
            for huge in [false, true] {
                res.limit.push(limit::memcpy_limit(&files, res.threads, huge)?);
            }
        }
        for huge in [false, true] {
            let m = crate::report::limit_median_s(res, huge).unwrap_or(0.0);
            println!(
                "limit: {:.3} GB copied from the page cache into fresh memory ({}) in {:.3} s = {:.2} GB/s ({} threads, median of {})",
                res.pages_bytes as f64 / 1e9,
                if huge { "huge pages" } else { "4 KiB pages" },
                m,
                res.pages_bytes as f64 / m / 1e9,
                res.threads,
                opts.limit_runs
            );
        }
    }

    // The restores.
    for round in 1..=opts.rounds {
        for (position, idx) in opts.order(round).into_iter().enumerate() {
            if procs::interrupted() {
                return Err("interrupted".into());
            }
            let rr = restore_round(opts, &wd, &img, pid, round, position, idx, live);
            println!("{}", round_line(&rr));
            res.rounds.push(rr);
        }
    }
    Ok(())
}

fn driver_part(s: Option<f64>) -> String {
    s.map(|s| format!(" (driver calls {s:.3} s)")).unwrap_or_default()
}

fn round_line(r: &RoundResult) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.3} s"));
    let mut s = format!(
        "round {} {}: criu restore {}, cuda restore {}{}, verify: {}",
        r.round,
        r.name,
        f(r.criu_restore_s),
        f(r.cuda_restore_s),
        driver_part(r.cuda_restore_driver_s),
        r.verify.as_deref().unwrap_or("-")
    );
    for n in &r.notes {
        s += &format!("\n  note: {n}");
    }
    if let Some(e) = &r.error {
        s += &format!("\n  FAILED: {e}");
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn restore_round(
    opts: &Opts,
    wd: &Path,
    img: &Path,
    dumped_pid: i32,
    round: u32,
    position: usize,
    idx: usize,
    live: &mut Live,
) -> RoundResult {
    let (name, bin) = &opts.criu[idx];
    let mut rr = RoundResult {
        round,
        name: name.clone(),
        position,
        ..Default::default()
    };
    let r = (|| -> Result<(), String> {
        if opts.cold {
            procs::drop_caches()?;
        }
        let pidfile = wd.join("restore.pid");
        let _ = fs::remove_file(&pidfile);
        let log = wd.join(format!("restore-{name}-{round}.log"));
        let mut cmd = criu_cmd(opts, bin);
        cmd.arg("restore")
            .arg("-D")
            .arg(img)
            .args(["-d", "-v4", "-o"])
            .arg(&log)
            .arg("--pidfile")
            .arg(&pidfile);
        cmd.args(&opts.restore_args);
        let out = wd.join(format!("restore-{name}-{round}.out"));
        let r = procs::run_step(&mut cmd, &out, opts.step_timeout, &format!("criu restore ({name})"))?;
        // Whatever it restored is ours to kill, even when it failed half-way.
        let pid = fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if let Some(p) = pid {
            rr.restored_pid = Some(p);
            live.pids.push(p);
        }
        if !r.status.success() {
            return Err(format!(
                "criu restore ({name}) failed ({}):\n{}  {}:\n{}",
                r.status,
                indent(&r.output),
                log.display(),
                procs::tail(&log, 25)
            ));
        }
        rr.criu_restore_s = Some(r.seconds);
        let pid = match pid {
            Some(p) => p,
            None if procs::alive(dumped_pid) => {
                rr.notes
                    .push(format!("no pid in {}: using the dumped pid", pidfile.display()));
                rr.restored_pid = Some(dumped_pid);
                live.pids.push(dumped_pid);
                dumped_pid
            }
            None => return Err(format!("criu restore left no pid in {}", pidfile.display())),
        };
        if pid != dumped_pid {
            rr.notes
                .push(format!("restored pid {pid} is not the dumped pid {dumped_pid}"));
        }
        let (t, driver_s) = toggle(
            opts,
            "restore",
            pid,
            &wd.join(format!("toggle-restore-{name}-{round}.out")),
        )?;
        rr.cuda_restore_s = Some(t.seconds);
        rr.cuda_restore_driver_s = driver_s;
        let (v, vs) = verify(pid, &wd.join("workload.result"), opts.verify_timeout)?;
        rr.verify = Some(v.clone());
        rr.verify_s = Some(vs);
        if !v.starts_with("OK") {
            return Err(format!("verification failed: {v}"));
        }
        Ok(())
    })();
    if let Err(e) = r {
        rr.error = Some(e);
    }
    // Gone before the next restore: its PID must be free.
    if let Some(pid) = rr.restored_pid {
        if let Err(e) = procs::kill_and_wait(pid, Duration::from_secs(60)) {
            let msg = format!("cannot get rid of the restored pid {pid}: {e}");
            rr.error = Some(rr.error.take().map_or(msg.clone(), |old| format!("{old}; {msg}")));
        } else {
            live.pids.retain(|&p| p != pid);
        }
    }
    rr
}

/// The median of some numbers (the mean of the middle two for an even count).
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn round_verification() {
        let mut r = RoundResult {
            verify: Some("OK 1 2".into()),
            criu_restore_s: Some(1.0),
            ..Default::default()
        };
        assert!(r.verified());
        assert_eq!(r.total_s(), None);
        r.cuda_restore_s = Some(0.5);
        assert_eq!(r.total_s(), Some(1.5));
        r.verify = Some("BAD gpu element 7".into());
        assert!(!r.verified());
        r.verify = Some("OK".into());
        r.error = Some("x".into());
        assert!(!r.verified());
    }

    #[test]
    fn image_dir_is_only_cleared_when_it_is_one() {
        let d = std::env::temp_dir().join(format!("pie-gpu-img-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fresh_image_dir(&d).unwrap();
        fs::write(d.join("pages-1.img"), b"x").unwrap();
        fresh_image_dir(&d).unwrap();
        assert!(fs::read_dir(&d).unwrap().next().is_none());
        fs::write(d.join("precious.txt"), b"x").unwrap();
        assert!(fresh_image_dir(&d).is_err());
        assert!(d.join("precious.txt").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_workload_is_built_in() {
        assert!(WORKLOAD_PY.contains("SIGUSR1") && WORKLOAD_PY.contains("ready"));
    }
}
