//! Running tests: for each test, each CRIU binary in turn (the order alternating from one
//! test to the next), each run in a fresh [`Sandbox`]: start, dump, wait for the task to
//! go, restore, stop the test, read its verdict.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::hugepages::Reservation;
use crate::list::{self, Test};
use crate::sandbox::{self, Sandbox};
use crate::step::{self, Ran};

/// A CRIU binary under test, by the name the table shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binary {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// zdtm's `test/zdtm/static`, built.
    pub static_dir: PathBuf,
    pub binaries: Vec<Binary>,
    /// `None`: every test of the directory.
    pub tests: Option<Vec<String>>,
    pub dump_args: Vec<String>,
    pub restore_args: Vec<String>,
    /// Deadline of each step (a test's `.desc` may ask for more).
    pub step_timeout: Duration,
    /// Images and logs go to `WORKDIR/TEST/BINARY/`.
    pub workdir: PathBuf,
    /// Huge pages to reserve for the run (0: leave `vm.nr_hugepages` alone).
    pub hugepages: u64,
    /// A line on stderr after each test.
    pub progress: bool,
}

/// Where a run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Start,
    Dump,
    Restore,
    Check,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Start => "start",
            Stage::Dump => "dump",
            Stage::Restore => "restore",
            Stage::Check => "check",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub stage: Stage,
    /// The stage's deadline passed (the stage's command or wait was killed).
    pub timed_out: bool,
    pub message: String,
    /// The end of the log that says why: CRIU's log for dump and restore, the test's
    /// output for start and check.
    pub log_tail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Pass { secs: f64 },
    Fail { failure: Failure, secs: f64 },
    Skip(String),
}

impl Outcome {
    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass { .. })
    }
}

#[derive(Debug, Clone)]
pub struct TestResult {
    pub name: String,
    /// One per binary, in the config's order (not the order they ran in).
    pub outcomes: Vec<Outcome>,
    /// The binaries' indices in the order they ran.
    pub order: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub binaries: Vec<Binary>,
    pub results: Vec<TestResult>,
    pub secs: f64,
}

impl Report {
    /// The tests that passed with binary `b`.
    pub fn passed(&self, b: usize) -> Vec<&str> {
        self.results
            .iter()
            .filter(|r| r.outcomes[b].is_pass())
            .map(|r| r.name.as_str())
            .collect()
    }
}

/// Lines of a log a failure keeps.
const TAIL: usize = 12;
/// How long the sandbox gets to kill what a test left.
const REAP: Duration = Duration::from_secs(10);

pub fn run(cfg: &Config) -> Result<Report, String> {
    if cfg.binaries.is_empty() {
        return Err("no CRIU binary to run the tests with".into());
    }
    for b in &cfg.binaries {
        if !b.path.is_file() {
            return Err(format!("CRIU binary {}={} does not exist", b.name, b.path.display()));
        }
    }
    let tests = match &cfg.tests {
        None => list::all(&cfg.static_dir),
        Some(names) => list::named(&cfg.static_dir, names),
    }
    .map_err(|e| format!("zdtm tests in {}: {e}", cfg.static_dir.display()))?;
    let _huge = match cfg.hugepages {
        0 => None,
        n => Some(Reservation::at_least(n).map_err(|e| format!("reserve {n} huge pages: {e}"))?),
    };
    fs::create_dir_all(&cfg.workdir).map_err(|e| format!("mkdir {}: {e}", cfg.workdir.display()))?;
    // Steps run in the tests' directory: a relative workdir would point elsewhere there.
    let workdir = fs::canonicalize(&cfg.workdir).map_err(|e| format!("{}: {e}", cfg.workdir.display()))?;
    let cfg = &Config { workdir, ..cfg.clone() };

    let started = Instant::now();
    let mut features = Features::default();
    let mut results = Vec::new();
    for (i, t) in tests.iter().enumerate() {
        let mut order: Vec<usize> = (0..cfg.binaries.len()).collect();
        if i % 2 == 1 {
            order.reverse();
        }
        let mut outcomes = vec![None; cfg.binaries.len()];
        for &b in &order {
            outcomes[b] = Some(run_one(cfg, t, &cfg.binaries[b], &mut features));
        }
        let r = TestResult {
            name: t.name.clone(),
            outcomes: outcomes.into_iter().map(Option::unwrap).collect(),
            order,
        };
        if cfg.progress {
            // Straight to stderr, past a test harness's capture: a suite takes minutes.
            let line = format!(
                "[{}/{}] {}\n",
                i + 1,
                tests.len(),
                crate::report::progress_line(&cfg.binaries, &r)
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        }
        results.push(r);
    }
    Ok(Report {
        binaries: cfg.binaries.clone(),
        results,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// `criu check --feature` answers, per binary and feature.
#[derive(Default)]
struct Features(HashMap<(PathBuf, String), bool>);

impl Features {
    fn has(&mut self, criu: &Path, feature: &str, timeout: Duration, log: &Path) -> bool {
        *self
            .0
            .entry((criu.to_path_buf(), feature.to_owned()))
            .or_insert_with(|| {
                let mut cmd = std::process::Command::new(criu);
                cmd.args(["check", "--feature", feature]);
                // Not our own cwd: CRIU (or a fake of it) may write there.
                if let Some(dir) = log.parent() {
                    cmd.current_dir(dir);
                }
                step::run(cmd, log, timeout).success()
            })
    }
}

/// Why `t` does not run with `b`, if it does not.
fn skip_reason(cfg: &Config, t: &Test, b: &Binary, features: &mut Features, dir: &Path) -> Option<String> {
    let d = match &t.desc {
        Ok(d) => d,
        Err(e) => return Some(format!("unreadable desc: {e}")),
    };
    if d.has_flag("noauto") {
        return Some("noauto".into());
    }
    if !d.runs_on_host() {
        return Some(format!(
            "flavor {} only",
            d.flavors.as_deref().unwrap_or_default().join(" ")
        ));
    }
    if let Some(a) = &d.arch {
        if a != std::env::consts::ARCH {
            return Some(format!("arch {a}"));
        }
    }
    for f in &d.features {
        if !features.has(&b.path, f, cfg.step_timeout, &dir.join("check.log")) {
            return Some(format!("feature {f} missing"));
        }
    }
    if let Some(cs) = &t.checkskip {
        let mut cmd = std::process::Command::new(cs);
        cmd.current_dir(zdtm_dir(&cfg.static_dir));
        if !step::run(cmd, &dir.join("checkskip.log"), cfg.step_timeout).success() {
            return Some("checkskip".into());
        }
    }
    None
}

fn run_one(cfg: &Config, t: &Test, b: &Binary, features: &mut Features) -> Outcome {
    let dir = cfg.workdir.join(&t.name).join(&b.name);
    let _ = fs::remove_dir_all(&dir);
    let img = dir.join("img");
    if let Err(e) = fs::create_dir_all(&img) {
        return Outcome::Skip(format!("cannot make {}: {e}", img.display()));
    }
    if let Some(why) = skip_reason(cfg, t, b, features, &dir) {
        return Outcome::Skip(why);
    }
    let started = Instant::now();
    let mut pids = Vec::new();
    let r = match Sandbox::new() {
        Ok(mut sb) => {
            let r = Run {
                cfg,
                t,
                b,
                dir: &dir,
                img: &img,
                sb: &sb,
            }
            .go(&mut pids);
            let left = sb.kill_all(&pids, REAP);
            if let Some(h) = &t.hook {
                let mut cmd = std::process::Command::new(h);
                cmd.arg("--clean").current_dir(zdtm_dir(&cfg.static_dir));
                step::run(cmd, &dir.join("hook.log"), cfg.step_timeout);
            }
            match (r, left.is_empty()) {
                (Ok(()), false) => Err(fail(
                    Stage::Check,
                    false,
                    format!("processes left unkillable: {left:?}"),
                    "",
                )),
                (r, _) => r,
            }
        }
        Err(e) => Err(fail(Stage::Start, false, format!("sandbox: {e}"), "")),
    };
    let secs = started.elapsed().as_secs_f64();
    match r {
        Ok(()) => Outcome::Pass { secs },
        Err(failure) => Outcome::Fail { failure, secs },
    }
}

fn fail(stage: Stage, timed_out: bool, message: impl Into<String>, log_tail: &str) -> Failure {
    Failure {
        stage,
        timed_out,
        message: message.into(),
        log_tail: log_tail.to_owned(),
    }
}

struct Run<'a> {
    cfg: &'a Config,
    t: &'a Test,
    b: &'a Binary,
    dir: &'a Path,
    img: &'a Path,
    sb: &'a Sandbox,
}

impl Run<'_> {
    fn desc(&self) -> crate::desc::Desc {
        self.t.desc.clone().unwrap_or_default()
    }

    fn timeout(&self) -> Duration {
        let own = self.desc().timeout_s.map(Duration::from_secs).unwrap_or_default();
        self.cfg.step_timeout.max(own)
    }

    fn test_file(&self, ext: &str) -> PathBuf {
        self.cfg.static_dir.join(format!("{}.{ext}", self.t.name))
    }

    fn out_tail(&self) -> String {
        read_tail(&self.test_file("out"))
    }

    /// The whole run; PIDs worth killing afterwards go to `pids`.
    fn go(&self, pids: &mut Vec<i32>) -> Result<(), Failure> {
        let desc = self.desc();
        let name = &self.t.name;
        self.remove_leftovers();

        // Start: the test daemonizes and writes its pid file.
        let mut make = self.command("make")?;
        make.args(["-s", &format!("{name}.pid")]);
        for k in ["MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"] {
            make.env_remove(k);
        }
        // zdtm.py would run tests without the 'suid' flag as uid 18943; here CRIU lacks
        // CAP_SYS_RESOURCE and cannot read another user's rlimits ("Can't get rlimit 0"),
        // so every test runs as root, as the suid ones do anyway.
        make.env("ZDTM_THREAD_BOMB", "5");
        let start_log = self.dir.join("start.log");
        let ran = step::run(make, &start_log, self.timeout());
        let start_tail = || {
            format!("{}\n{}", read_tail(&start_log), self.out_tail())
                .trim()
                .to_owned()
        };
        match ran {
            Ran::Exited(s) if s.success() => {}
            Ran::TimedOut => {
                return Err(fail(
                    Stage::Start,
                    true,
                    "the test did not start in time",
                    &start_tail(),
                ))
            }
            other => {
                return Err(fail(
                    Stage::Start,
                    false,
                    format!("make {name}.pid: {other:?}"),
                    &start_tail(),
                ))
            }
        }
        let pid = read_pid(&self.test_file("pid")).map_err(|e| fail(Stage::Start, false, e, &start_tail()))?;
        pids.push(pid);
        if !sandbox::alive(pid) {
            return Err(fail(
                Stage::Start,
                false,
                format!("test process {pid} is not running"),
                &start_tail(),
            ));
        }
        self.hook("--post-start", Stage::Start)?;

        // Dump: CRIU kills the tree when done; its IDs must be free before the restore.
        let ids = sandbox::tree_of(pid);
        let mut dump = self.criu("dump")?;
        dump.arg("-t").arg(pid.to_string());
        dump.args(&desc.opts).args(&desc.dump_opts).args(&self.cfg.dump_args);
        let dump_log = self.img.join("dump.log");
        let ran = step::run(dump, &self.dir.join("criu-dump.out"), self.timeout());
        let crfail = desc.has_flag("crfail");
        match ran {
            Ran::Exited(s) if s.success() => {
                if crfail {
                    return Err(fail(
                        Stage::Dump,
                        false,
                        "dump succeeded, but the test is marked crfail",
                        "",
                    ));
                }
            }
            // The test says CRIU must refuse it: a refusal is its pass.
            Ran::Exited(_) if crfail => return Ok(()),
            Ran::TimedOut => {
                return Err(fail(
                    Stage::Dump,
                    true,
                    "criu dump did not finish in time",
                    &criu_tail(&dump_log),
                ))
            }
            other => {
                return Err(fail(
                    Stage::Dump,
                    false,
                    format!("criu dump: {other:?}"),
                    &criu_tail(&dump_log),
                ))
            }
        }
        if !sandbox::wait_free(&ids, self.timeout()) {
            let left: Vec<i32> = ids.iter().copied().filter(|&i| sandbox::alive(i)).collect();
            return Err(fail(
                Stage::Dump,
                true,
                format!("IDs of the dumped tree still taken (alive: {left:?})"),
                "",
            ));
        }

        // Restore, detached: CRIU exits once the tree runs.
        let rpid_file = self.img.join("restore.pid");
        let mut restore = self.criu("restore")?;
        restore.arg("-d").arg("--pidfile").arg(&rpid_file);
        restore
            .args(&desc.opts)
            .args(&desc.restore_opts)
            .args(&self.cfg.restore_args);
        let restore_log = self.img.join("restore.log");
        match step::run(restore, &self.dir.join("criu-restore.out"), self.timeout()) {
            Ran::Exited(s) if s.success() => {}
            Ran::TimedOut => {
                return Err(fail(
                    Stage::Restore,
                    true,
                    "criu restore did not finish in time",
                    &criu_tail(&restore_log),
                ))
            }
            other => {
                return Err(fail(
                    Stage::Restore,
                    false,
                    format!("criu restore: {other:?}"),
                    &criu_tail(&restore_log),
                ))
            }
        }
        let rpid = read_pid(&rpid_file).map_err(|e| fail(Stage::Restore, false, e, &criu_tail(&restore_log)))?;
        pids.push(rpid);
        self.hook("--post-restore", Stage::Restore)?;

        // Check: the test compares what it sees with what it set up, and says so.
        // SAFETY: kill(2) of the restored test's PID; no memory is passed.
        unsafe { libc::kill(rpid, libc::SIGTERM) };
        if !sandbox::wait_exit(rpid, self.timeout()) {
            return Err(fail(
                Stage::Check,
                true,
                format!("test {rpid} did not exit after SIGTERM"),
                &self.out_tail(),
            ));
        }
        let out = fs::read_to_string(self.test_file("out")).unwrap_or_default();
        if out.split_whitespace().any(|w| w == "PASS") {
            Ok(())
        } else {
            Err(fail(
                Stage::Check,
                false,
                "the test did not report PASS",
                &self.out_tail(),
            ))
        }
    }

    /// `program` in the sandbox, in the static directory (the Makefile and the tests
    /// expect to run there).
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Result<std::process::Command, Failure> {
        self.sb
            .command(program, &self.cfg.static_dir)
            .map_err(|e| fail(Stage::Start, false, format!("sandbox: {e}"), ""))
    }

    /// What an earlier run of the test left in the static directory: its pid and out
    /// files and the `.test` files it creates (a test that finds them fails to start).
    fn remove_leftovers(&self) {
        let prefix = format!("{}.", self.t.name);
        let Ok(rd) = fs::read_dir(&self.cfg.static_dir) else {
            return;
        };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = n.strip_prefix(&prefix) else { continue };
            if rest == "pid" || rest.starts_with("out") || rest.starts_with("test") || rest.contains(".test") {
                let p = e.path();
                let _ = fs::remove_file(&p).or_else(|_| fs::remove_dir_all(&p));
            }
        }
    }

    fn criu(&self, action: &str) -> Result<std::process::Command, Failure> {
        let mut c = self.command(&self.b.path)?;
        c.arg(action)
            .arg("-D")
            .arg(self.img)
            .arg("-o")
            .arg(format!("{action}.log"))
            .args(["-v4", "--shell-job"]);
        Ok(c)
    }

    fn hook(&self, action: &str, stage: Stage) -> Result<(), Failure> {
        let Some(h) = &self.t.hook else { return Ok(()) };
        let mut cmd = self
            .sb
            .command(h, &zdtm_dir(&self.cfg.static_dir))
            .map_err(|e| fail(stage, false, e.to_string(), ""))?;
        cmd.arg(action);
        let log = self.dir.join("hook.log");
        match step::run(cmd, &log, self.timeout()) {
            r if r.success() => Ok(()),
            r => Err(fail(
                stage,
                matches!(r, Ran::TimedOut),
                format!("hook {action}: {r:?}"),
                &read_tail(&log),
            )),
        }
    }
}

/// Where zdtm.py runs hooks and checkskip scripts: `test/`, two levels above the static
/// directory (hooks name their files as `zdtm/static/...`).
fn zdtm_dir(static_dir: &Path) -> PathBuf {
    static_dir
        .parent()
        .and_then(Path::parent)
        .filter(|d| d.join("zdtm").is_dir())
        .unwrap_or(static_dir)
        .to_path_buf()
}

fn read_pid(path: &Path) -> Result<i32, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    match text.trim().parse::<i32>() {
        Ok(p) if p > 1 => Ok(p),
        _ => Err(format!("{} holds no PID: {:?}", path.display(), text.trim())),
    }
}

fn read_tail(path: &Path) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    criu_src::tail_lines(&text, TAIL)
}

/// A CRIU log's error lines (they say why; the last lines often only unwind), then its
/// last lines.
fn criu_tail(path: &Path) -> String {
    let text = fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("Error (")).take(TAIL / 2).collect();
    let last = criu_src::tail_lines(&text, TAIL / 2);
    let mut out = errors.join("\n");
    for l in last.lines() {
        if !errors.contains(&l) {
            out.push('\n');
            out.push_str(l);
        }
    }
    out.trim().to_owned()
}
