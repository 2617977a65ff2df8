//! gpu-restore-bench's command line.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub const USAGE: &str = "\
usage: gpu-restore-bench --criu NAME=PATH [--criu NAME=PATH ...] [options]

  --criu NAME=PATH       a CRIU binary to restore with (repeatable; NAME in the table, e.g. stock, engine)
  --dump-criu PATH       the CRIU that dumps (default: the one named stock, else the first --criu)
  --gib N                GiB of GPU memory the workload fills (default 8; fractions allowed)
  --host-mib M           MiB of host memory the workload fills (default 1024)
  --rounds R             restore rounds per binary, alternating the order (default 3)
  --cold                 drop the page cache before every restore
  --workdir DIR          images, logs and workload files (default /var/tmp/gpu-restore-bench)
  --python PATH          interpreter of the workload (default python3)
  --workload PATH        workload script (default: the built-in gpu_workload.py, written to the workdir)
  --seed N               the workload's pattern seed (default 1)
  --toggle PATH          cuda-toggle (default: next to this binary)
  --lock-timeout-ms N    cuda-toggle checkpoint --timeout-ms (default 10000)
  --criu-env K=V         environment for every CRIU run (repeatable), e.g. LD_LIBRARY_PATH=...
  --dump-args ARGS       extra arguments of criu dump (split at whitespace)
  --restore-args ARGS    extra arguments of criu restore (split at whitespace)
  --limit-runs N         runs of the memcpy limit (default 3; 0 = skip)
  --ready-timeout S      seconds for the workload to fill its memory (default 600)
  --step-timeout S       seconds for each criu and cuda-toggle run (default 600)
  --verify-timeout S     seconds for each verification (default 300)
  --json FILE            write every raw number as JSON
  --keep                 keep the image directory (default: removed at the end)
exit status: 0 all verified, 1 a step or a verification failed, 2 usage";

#[derive(Debug, Clone, PartialEq)]
pub struct Opts {
    pub gib: f64,
    pub host_mib: u64,
    pub rounds: u32,
    pub dump_criu: PathBuf,
    /// (name, path) in the order given.
    pub criu: Vec<(String, PathBuf)>,
    pub workdir: PathBuf,
    pub python: String,
    pub workload: Option<PathBuf>,
    pub seed: u64,
    pub toggle: PathBuf,
    pub lock_timeout_ms: u32,
    pub criu_env: Vec<(String, String)>,
    pub dump_args: Vec<String>,
    pub restore_args: Vec<String>,
    pub limit_runs: u32,
    pub cold: bool,
    pub ready_timeout: Duration,
    pub step_timeout: Duration,
    pub verify_timeout: Duration,
    pub json: Option<PathBuf>,
    pub keep: bool,
}

#[derive(Debug)]
pub enum Parsed {
    Run(Box<Opts>),
    Help,
}

fn num<T: std::str::FromStr>(opt: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{opt}: not a valid number: {v}"))
}

fn secs(opt: &str, v: &str) -> Result<Duration, String> {
    let s: f64 = num(opt, v)?;
    if !(s > 0.0 && s.is_finite()) {
        return Err(format!("{opt}: must be a positive number of seconds: {v}"));
    }
    Ok(Duration::from_secs_f64(s))
}

fn pair(opt: &str, v: &str) -> Result<(String, String), String> {
    match v.split_once('=') {
        Some((k, val)) if !k.is_empty() => Ok((k.to_string(), val.to_string())),
        _ => Err(format!("{opt}: expected NAME=VALUE, got {v}")),
    }
}

/// Parse the arguments after the program name. `exe_dir` is where this binary lives
/// (for the default cuda-toggle).
pub fn parse(argv: &[String], exe_dir: Option<PathBuf>) -> Result<Parsed, String> {
    let mut gib: f64 = 8.0;
    let mut host_mib = 1024;
    let mut rounds = 3;
    let mut dump_criu = None;
    let mut criu: Vec<(String, PathBuf)> = vec![];
    let mut workdir = PathBuf::from("/var/tmp/gpu-restore-bench");
    let mut python = "python3".to_string();
    let mut workload = None;
    let mut seed = 1;
    let mut toggle = None;
    let mut lock_timeout_ms = 10_000;
    let mut criu_env = vec![];
    let mut dump_args = vec![];
    let mut restore_args = vec![];
    let mut limit_runs = 3;
    let mut cold = false;
    let mut ready_timeout = Duration::from_secs(600);
    let mut step_timeout = Duration::from_secs(600);
    let mut verify_timeout = Duration::from_secs(300);
    let mut json = None;
    let mut keep = false;

    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let (opt, inline) = match a.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut val = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => it.next().cloned().ok_or_else(|| format!("{opt} needs a value")),
            }
        };
        match opt {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--cold" => cold = true,
            "--keep" => keep = true,
            "--gib" => {
                gib = num(opt, &val()?)?;
                if !(gib > 0.0 && gib.is_finite()) {
                    return Err("--gib must be positive".into());
                }
            }
            "--host-mib" => host_mib = num(opt, &val()?)?,
            "--rounds" => {
                rounds = num(opt, &val()?)?;
                if rounds == 0 {
                    return Err("--rounds must be at least 1".into());
                }
            }
            "--dump-criu" => dump_criu = Some(PathBuf::from(val()?)),
            "--criu" => {
                let (name, path) = pair(opt, &val()?)?;
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                    return Err(format!("--criu: NAME may have letters, digits, _ . - only: {name}"));
                }
                if criu.iter().any(|(n, _)| *n == name) {
                    return Err(format!("--criu: {name} given twice"));
                }
                if path.is_empty() {
                    return Err(format!("--criu: empty path for {name}"));
                }
                criu.push((name, PathBuf::from(path)));
            }
            "--workdir" => workdir = PathBuf::from(val()?),
            "--python" => python = val()?,
            "--workload" => workload = Some(PathBuf::from(val()?)),
            "--seed" => seed = num(opt, &val()?)?,
            "--toggle" => toggle = Some(PathBuf::from(val()?)),
            "--lock-timeout-ms" => lock_timeout_ms = num(opt, &val()?)?,
            "--criu-env" => criu_env.push(pair(opt, &val()?)?),
            "--dump-args" => dump_args.extend(val()?.split_whitespace().map(String::from)),
            "--restore-args" => restore_args.extend(val()?.split_whitespace().map(String::from)),
            "--limit-runs" => limit_runs = num(opt, &val()?)?,
            "--ready-timeout" => ready_timeout = secs(opt, &val()?)?,
            "--step-timeout" => step_timeout = secs(opt, &val()?)?,
            "--verify-timeout" => verify_timeout = secs(opt, &val()?)?,
            "--json" => json = Some(PathBuf::from(val()?)),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    if criu.is_empty() {
        return Err("at least one --criu NAME=PATH is needed".into());
    }
    let dump_criu = dump_criu.unwrap_or_else(|| criu.iter().find(|(n, _)| n == "stock").unwrap_or(&criu[0]).1.clone());
    let toggle = match toggle {
        Some(t) => t,
        None => exe_dir
            .ok_or("cannot find this binary's directory: give --toggle")?
            .join("cuda-toggle"),
    };
    Ok(Parsed::Run(Box::new(Opts {
        gib,
        host_mib,
        rounds,
        dump_criu,
        criu,
        workdir,
        python,
        workload,
        seed,
        toggle,
        lock_timeout_ms,
        criu_env,
        dump_args,
        restore_args,
        limit_runs,
        cold,
        ready_timeout,
        step_timeout,
        verify_timeout,
        json,
        keep,
    })))
}

/// `p` against `cwd` when it is a relative path with a directory part: the workload
/// runs in the workdir, so "./criu" must not mean the workdir's. Bare names ("criu",
/// "python3") are left for the PATH lookup.
fn anchored(p: &Path, cwd: &Path) -> PathBuf {
    if p.is_relative() && p.components().count() > 1 || p.starts_with(".") {
        cwd.join(p)
    } else {
        p.to_path_buf()
    }
}

impl Opts {
    /// Make every relative path with a directory part absolute (see `anchored`); the
    /// workdir, the JSON file and the workload script always.
    pub fn anchor(&mut self, cwd: &Path) {
        self.dump_criu = anchored(&self.dump_criu, cwd);
        for (_, p) in &mut self.criu {
            *p = anchored(p, cwd);
        }
        self.toggle = anchored(&self.toggle, cwd);
        self.python = anchored(Path::new(&self.python), cwd).to_string_lossy().into_owned();
        self.workdir = cwd.join(&self.workdir);
        self.json = self.json.as_ref().map(|j| cwd.join(j));
        self.workload = self.workload.as_ref().map(|w| cwd.join(w));
    }

    /// The order of the restore binaries in `round` (1-based): as given in odd rounds,
    /// reversed in even ones, so that no binary always runs first.
    pub fn order(&self, round: u32) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.criu.len()).collect();
        if round.is_multiple_of(2) {
            v.reverse();
        }
        v
    }

    /// The restore binary the others are compared with: "stock" if given, else the first.
    pub fn baseline(&self) -> usize {
        self.criu.iter().position(|(n, _)| n == "stock").unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Opts, String> {
        let argv: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        match parse(&argv, Some(PathBuf::from("/opt/bin")))? {
            Parsed::Run(o) => Ok(*o),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn defaults() {
        let o = p(&["--criu", "engine=/e/criu", "--criu", "stock=/s/criu"]).unwrap();
        assert_eq!(o.gib, 8.0);
        assert_eq!(o.host_mib, 1024);
        assert_eq!(o.rounds, 3);
        assert_eq!(o.dump_criu, PathBuf::from("/s/criu"));
        assert_eq!(o.toggle, PathBuf::from("/opt/bin/cuda-toggle"));
        assert_eq!(o.python, "python3");
        assert_eq!(o.baseline(), 1);
        assert_eq!(o.order(1), [0, 1]);
        assert_eq!(o.order(2), [1, 0]);
        assert!(!o.cold && !o.keep && o.json.is_none());
    }

    #[test]
    fn everything() {
        let o = p(&[
            "--gib=0.5",
            "--host-mib",
            "16",
            "--rounds",
            "2",
            "--criu",
            "a=/a",
            "--dump-criu",
            "/d",
            "--criu-env",
            "LD_LIBRARY_PATH=/x:/y",
            "--criu-env",
            "E=1=2",
            "--dump-args",
            "--shell-job  --tcp-established",
            "--restore-args=--shell-job",
            "--toggle",
            "/t",
            "--cold",
            "--keep",
            "--json",
            "/o.json",
            "--step-timeout",
            "1.5",
            "--limit-runs",
            "0",
        ])
        .unwrap();
        assert_eq!(o.gib, 0.5);
        assert_eq!(o.host_mib, 16);
        assert_eq!(o.dump_criu, PathBuf::from("/d"));
        assert_eq!(
            o.criu_env,
            [("LD_LIBRARY_PATH".into(), "/x:/y".into()), ("E".into(), "1=2".into())]
        );
        assert_eq!(o.dump_args, ["--shell-job", "--tcp-established"]);
        assert_eq!(o.restore_args, ["--shell-job"]);
        assert_eq!(o.step_timeout, Duration::from_millis(1500));
        assert_eq!(o.limit_runs, 0);
        assert!(o.cold && o.keep);
        assert_eq!(o.baseline(), 0);
    }

    #[test]
    fn relative_paths_are_anchored() {
        let mut o = p(&[
            "--criu",
            "a=./x/criu",
            "--criu",
            "b=criu",
            "--criu",
            "c=bin/criu",
            "--toggle",
            "t/ct",
        ])
        .unwrap();
        o.python = "venv/bin/python".into();
        o.workdir = "wd".into();
        o.json = Some("o.json".into());
        o.anchor(Path::new("/home/me"));
        let paths: Vec<_> = o.criu.iter().map(|(_, p)| p.display().to_string()).collect();
        assert_eq!(paths, ["/home/me/./x/criu", "criu", "/home/me/bin/criu"]);
        assert_eq!(o.dump_criu, PathBuf::from("/home/me/./x/criu"));
        assert_eq!(o.toggle, PathBuf::from("/home/me/t/ct"));
        assert_eq!(o.python, "/home/me/venv/bin/python");
        assert_eq!(o.workdir, PathBuf::from("/home/me/wd"));
        assert_eq!(o.json, Some(PathBuf::from("/home/me/o.json")));
        let mut o = p(&["--criu", "a=/abs/criu", "--workdir", "/w"]).unwrap();
        o.anchor(Path::new("/home/me"));
        assert_eq!(
            (o.criu[0].1.clone(), o.python.as_str(), o.workdir.clone()),
            ("/abs/criu".into(), "python3", "/w".into())
        );
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &[][..],
            &["--gib", "8"],
            &["--criu", "/no/name"],
            &["--criu", "a b=/x"],
            &["--criu", "a=/x", "--criu", "a=/y"],
            &["--criu", "a=/x", "--gib", "lots"],
            &["--criu", "a=/x", "--gib", "-1"],
            &["--criu", "a=/x", "--rounds", "0"],
            &["--criu", "a=/x", "--rounds"],
            &["--criu", "a=/x", "--criu-env", "novalue"],
            &["--criu", "a=/x", "--step-timeout", "0"],
            &["--criu", "a=/x", "--frobnicate"],
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be a usage error");
        }
        assert_eq!(p(&["--help"]), Err("help".into()));
    }
}
