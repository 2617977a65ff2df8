//! criu-restore-bench: the restore of a large patterned process by stock CRIU 4.1.1 and
//! by the same CRIU with the Rust restorer installed (`criu_pie::testbed`).
//!
//! Each round starts the workload (`tests/harness/big_workload.c`) once per binary,
//! dumps it with that binary, restores it with `criu restore -d` and times the restore
//! (its wall time, and the restorer's phases from restore.log), then checks every byte
//! of the restored process against the pattern and kills it. The binaries alternate
//! which goes first from round to round. Images live under target/, on one disk.
//!
//! With `--zeros PCT`, that share of the workload's 2 MiB runs is zeros; after each
//! restore of the full image, a hard-linked copy of it is compacted (`criu-pie compact`,
//! timed) and restored too, in a sandbox of its own, every byte checked again.
//!
//! `criu-restore-bench [--gib N] [--rounds R] [--cold] [--zeros PCT] [--note TEXT] [--out FILE.json]`

#[path = "../../../tests/harness/workloads.rs"]
mod workloads;

mod report;
mod restore_log;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use restore_log::Phases;
use workloads::{check_pattern_range, compile, hex, MIB};
use zdtm::roundtrip::{self, Criu};
use zdtm::sandbox::Sandbox;

/// A dump or a restore of a few GiB on a busy 2-core machine.
const STEP: Duration = Duration::from_secs(300);
/// Filling a few GiB with the pattern.
const READY: Duration = Duration::from_secs(300);
const KILL: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restorer {
    Stock,
    Ours,
}

impl Restorer {
    pub fn name(self) -> &'static str {
        match self {
            Restorer::Stock => "stock",
            Restorer::Ours => "ours",
        }
    }
}

/// What the run was, for the report.
pub struct Config {
    pub gib: u64,
    pub rounds: usize,
    pub cold: bool,
    /// Percentage of the workload's 2 MiB runs that are zeros; compacted restores too.
    pub zeros: Option<u64>,
    pub note: String,
    pub out: Option<PathBuf>,
    pub cpus: usize,
    pub kernel: String,
    pub stock: PathBuf,
    pub ours: PathBuf,
    /// /proc/loadavg before the first round and after the last: how busy the machine was.
    pub load_before: String,
    pub load_after: String,
}

/// One restore, measured and verified.
pub struct Sample {
    pub round: usize,
    pub restorer: Restorer,
    pub restore_wall_s: f64,
    pub phases: Phases,
    pub dump_wall_s: f64,
    pub image_bytes: u64,
    pub verified_bytes: u64,
    /// A restore of the compacted image, and how long `compact` took.
    pub compacted: bool,
    pub compact_s: f64,
}

const USAGE: &str =
    "usage: criu-restore-bench [--gib N] [--rounds R] [--cold] [--zeros PCT] [--note TEXT] [--out FILE.json]";

fn parse_args(cfg: &mut Config) -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "--gib" => {
                let v = value("--gib")?;
                cfg.gib = v.parse().map_err(|e| format!("--gib {v}: {e}"))?;
                if cfg.gib == 0 {
                    return Err("--gib must be at least 1".into());
                }
            }
            "--rounds" => {
                let v = value("--rounds")?;
                cfg.rounds = v.parse().map_err(|e| format!("--rounds {v}: {e}"))?;
                if cfg.rounds == 0 {
                    return Err("--rounds must be at least 1".into());
                }
            }
            "--cold" => cfg.cold = true,
            "--zeros" => {
                let v = value("--zeros")?;
                let pct: u64 = v.parse().map_err(|e| format!("--zeros {v}: {e}"))?;
                if pct >= 100 {
                    return Err("--zeros must be below 100".into());
                }
                cfg.zeros = Some(pct);
            }
            "--note" => cfg.note = value("--note")?,
            "--out" => cfg.out = Some(PathBuf::from(value("--out")?)),
            "-h" | "--help" => return Err(USAGE.into()),
            _ => return Err(format!("unknown argument {a:?}\n{USAGE}")),
        }
    }
    Ok(())
}

/// Write the images in `img` back to disk (fsync), so no writeback of them runs during
/// the restore; with `drop`, then drop the clean page cache too (cold).
fn settle_cache(img: &Path, drop: bool) -> Result<(), String> {
    let entries = fs::read_dir(img).map_err(|e| format!("{}: {e}", img.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_file() {
            fs::File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(|e| format!("fsync {}: {e}", p.display()))?;
        }
    }
    if drop {
        fs::write("/proc/sys/vm/drop_caches", "1\n")
            .map_err(|e| format!("drop the page cache (/proc/sys/vm/drop_caches; root needed): {e}"))?;
    }
    Ok(())
}

/// Total size of the pages-*.img files in `img`.
fn image_bytes(img: &Path) -> u64 {
    fs::read_dir(img)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("pages-"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The pieces of one measurement that do not change between rounds.
struct Bench<'a> {
    exe: &'a Path,
    work: &'a Path,
    mib: u64,
    cold: bool,
    zeros: Option<u64>,
}

/// Whether 2 MiB run `k` of the workload is zeros (big_workload.c's rule).
fn zero_run(k: u64, pct: u64) -> bool {
    k * pct % 100 < pct
}

/// Every byte of the workload: the pattern, zeros in the zero runs.
fn check_workload(pid: i32, base: u64, len: u64, zeros: Option<u64>) -> Result<(), String> {
    let Some(pct) = zeros else {
        return check_pattern_range(pid, base, len);
    };
    const RUN: u64 = 2 * MIB;
    let mem = fs::File::open(format!("/proc/{pid}/mem")).map_err(|e| format!("/proc/{pid}/mem: {e}"))?;
    let mut buf = vec![0u8; RUN as usize];
    for k in 0..len / RUN {
        let at = base + k * RUN;
        if zero_run(k, pct) {
            std::os::unix::fs::FileExt::read_exact_at(&mem, &mut buf, at).map_err(|e| format!("read {at:#x}: {e}"))?;
            if let Some(i) = buf.iter().position(|&b| b != 0) {
                return Err(format!("byte at {:#x} of a zero run is {:#04x}", at + i as u64, buf[i]));
            }
        } else {
            check_pattern_range(pid, at, RUN)?;
        }
    }
    Ok(())
}

/// `to/img` made of hard links to the files of `from`: `compact` writes only files it
/// creates, so the original images stay as they were.
fn link_copy(from: &Path, to: &Path) -> Result<(), String> {
    let img = to.join("img");
    let _ = fs::remove_dir_all(&img);
    fs::create_dir_all(&img).map_err(|e| format!("mkdir {}: {e}", img.display()))?;
    for e in fs::read_dir(from)
        .map_err(|e| format!("{}: {e}", from.display()))?
        .flatten()
    {
        // Not the first restore's pidfile (CRIU refuses to overwrite one) nor its log.
        let restore_output = e.file_name().to_string_lossy().starts_with("restore.");
        if e.file_type().is_ok_and(|t| t.is_file()) && !restore_output {
            fs::hard_link(e.path(), img.join(e.file_name())).map_err(|e| format!("link: {e}"))?;
        }
    }
    Ok(())
}

impl Bench<'_> {
    /// One start, dump, restore and check, in a sandbox of its own whose every process
    /// is killed afterwards, whatever happened.
    fn measure(&self, round: usize, r: Restorer, criu: &Path, check_original: bool) -> Result<Vec<Sample>, String> {
        let dir = self.work.join(r.name());
        fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let mut sb = Sandbox::new().map_err(|e| format!("sandbox: {e}"))?;
        let mut restored = None;
        let res = self.measure_in(&sb, round, r, criu, &dir, check_original, &mut restored);
        let pid = restored;
        let left = sb.kill_all(&restored.into_iter().collect::<Vec<_>>(), KILL);
        let (sample, base) = res.map_err(|e| format!("round {round}, {}: {e}", r.name()))?;
        if !left.is_empty() {
            return Err(format!("round {round}, {}: processes left alive: {left:?}", r.name()));
        }
        let mut out = vec![sample];
        if let (Some(_), Some(pid)) = (self.zeros, pid) {
            let c = self
                .measure_compacted(round, r, criu, &dir, pid, base, &out[0])
                .map_err(|e| format!("round {round}, {}, compacted: {e}", r.name()))?;
            out.push(c);
        }
        Ok(out)
    }

    /// Compact a copy of the images in `dir` and restore it (in a sandbox of its own).
    #[allow(clippy::too_many_arguments)]
    fn measure_compacted(
        &self,
        round: usize,
        r: Restorer,
        criu: &Path,
        dir: &Path,
        pid: i32,
        base: u64,
        full: &Sample,
    ) -> Result<Sample, String> {
        if !zdtm::sandbox::wait_free(&[pid], KILL) {
            return Err(format!("PID {pid} still taken"));
        }
        let cdir = dir.join("compacted");
        link_copy(&dir.join("img"), &cdir)?;
        let img = cdir.join("img");
        let t = Instant::now();
        criu_pie::compact::compact(&img, &criu_pie::compact::Options::default()).map_err(|e| e.to_string())?;
        let compact_s = t.elapsed().as_secs_f64();
        settle_cache(&img, self.cold)?;
        let mut sb = Sandbox::new().map_err(|e| format!("sandbox: {e}"))?;
        let c = Criu::new(criu, &cdir, STEP);
        let t = Instant::now();
        let res = c.restore(&sb, pid).and_then(|pid| {
            let restore_wall_s = t.elapsed().as_secs_f64();
            let log = img.join("restore.log");
            let log = fs::read_to_string(&log).map_err(|e| format!("{}: {e}", log.display()))?;
            let phases = restore_log::phases(&log)?;
            check_workload(pid, base, full.verified_bytes, self.zeros)
                .map_err(|e| format!("THE RESTORED PROCESS DIFFERS: {e}"))?;
            Ok(Sample {
                round,
                restorer: r,
                restore_wall_s,
                phases,
                dump_wall_s: full.dump_wall_s,
                image_bytes: image_bytes(&img),
                verified_bytes: full.verified_bytes,
                compacted: true,
                compact_s,
            })
        });
        let left = sb.kill_all(&[pid], KILL);
        let s = res?;
        if !left.is_empty() {
            return Err(format!("processes left alive: {left:?}"));
        }
        Ok(s)
    }

    #[allow(clippy::too_many_arguments)]
    fn measure_in(
        &self,
        sb: &Sandbox,
        round: usize,
        r: Restorer,
        criu: &Path,
        dir: &Path,
        check_original: bool,
        restored: &mut Option<i32>,
    ) -> Result<(Sample, u64), String> {
        let mib = self.mib.to_string();
        let pct = self.zeros.map(|p| p.to_string());
        let mut args = vec![OsStr::new(&mib)];
        args.extend(pct.as_deref().map(OsStr::new));
        let mut w = roundtrip::start(sb, dir, self.exe, &args, READY)?;
        let (base, len) = (
            hex(&w.ready[0]),
            w.ready[1]
                .parse::<u64>()
                .map_err(|e| format!("ready line {:?}: {e}", w.ready))?,
        );
        if len != self.mib * MIB {
            return Err(format!("the workload mapped {len} bytes, asked for {} MiB", self.mib));
        }
        if check_original {
            check_workload(w.pid, base, len, self.zeros).map_err(|e| format!("the workload before the dump: {e}"))?;
        }
        let c = Criu::new(criu, dir, STEP);
        let t = Instant::now();
        c.dump(sb, &mut w)?;
        let dump_wall_s = t.elapsed().as_secs_f64();
        let img = dir.join("img");
        settle_cache(&img, self.cold)?;
        let t = Instant::now();
        let pid = c.restore(sb, w.pid)?;
        let restore_wall_s = t.elapsed().as_secs_f64();
        *restored = Some(pid);
        let log = img.join("restore.log");
        let log = fs::read_to_string(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let phases = restore_log::phases(&log)?;
        check_workload(pid, base, len, self.zeros).map_err(|e| format!("THE RESTORED PROCESS DIFFERS: {e}"))?;
        let sample = Sample {
            round,
            restorer: r,
            restore_wall_s,
            phases,
            dump_wall_s,
            image_bytes: image_bytes(&img),
            verified_bytes: len,
            compacted: false,
            compact_s: 0.0,
        };
        Ok((sample, base))
    }
}

fn run(cfg: &mut Config) -> Result<Vec<Sample>, String> {
    eprintln!("criu-restore-bench: the CRIU trees (the first run copies and builds ours)...");
    let trees = criu_pie::testbed::trees()?;
    cfg.stock = trees.stock();
    cfg.ours = trees.ours();
    let work = criu_pie::testbed::target().join("criu-restore-bench");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(|e| format!("mkdir {}: {e}", work.display()))?;
    let exe = compile("big_workload", &work);
    let bench = Bench {
        exe: &exe,
        work: &work,
        mib: cfg.gib * 1024,
        cold: cfg.cold,
        zeros: cfg.zeros,
    };
    cfg.load_before = loadavg();
    let mut samples = Vec::new();
    for round in 0..cfg.rounds {
        let order = if round % 2 == 0 {
            [Restorer::Stock, Restorer::Ours]
        } else {
            [Restorer::Ours, Restorer::Stock]
        };
        for r in order {
            let criu = match r {
                Restorer::Stock => &cfg.stock,
                Restorer::Ours => &cfg.ours,
            };
            for s in bench.measure(round, r, criu, round == 0)? {
                eprintln!(
                    "round {round} {:<5}{}: restore {:.3} s (restorer {:.3} s, pages {:.3} s), {} bytes of pages{}, every byte checked",
                    r.name(),
                    if s.compacted { " compacted" } else { "" },
                    s.restore_wall_s,
                    s.phases.restorer_s,
                    s.phases.pages_s,
                    s.image_bytes,
                    if s.compacted { format!(" (compact {:.3} s)", s.compact_s) } else { String::new() }
                );
                samples.push(s);
            }
        }
    }
    cfg.load_after = loadavg();
    Ok(samples)
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        fs::create_dir_all(d).map_err(|e| format!("mkdir {}: {e}", d.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn main() -> ExitCode {
    let mut cfg = Config {
        gib: 2,
        rounds: 5,
        cold: false,
        zeros: None,
        note: "other work may share the machine".into(),
        out: None,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        stock: PathBuf::new(),
        ours: PathBuf::new(),
        load_before: String::new(),
        load_after: String::new(),
    };
    if let Err(e) = parse_args(&mut cfg) {
        eprintln!("criu-restore-bench: {e}");
        return ExitCode::from(2);
    }
    let samples = match run(&mut cfg) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("criu-restore-bench: FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    let table = report::table(&cfg, &samples);
    print!("{table}");
    let json = format!("{:#}\n", report::json(&cfg, &samples));
    let mut outs = vec![criu_pie::testbed::target().join("criu-restore-bench.json")];
    outs.extend(cfg.out.clone());
    for p in &outs {
        if let Err(e) = write(p, &json) {
            eprintln!("criu-restore-bench: {e}");
            return ExitCode::FAILURE;
        }
        println!("json: {}", p.display());
    }
    if let Some(p) = &cfg.out {
        let txt = p.with_extension("txt");
        if let Err(e) = write(&txt, &table) {
            eprintln!("criu-restore-bench: {e}");
            return ExitCode::FAILURE;
        }
        println!("table: {}", txt.display());
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::workloads::{check_pattern_range, PAGE, SEED};

    #[test]
    fn the_check_reads_a_live_process_and_names_the_first_differing_byte() {
        let mut buf = vec![0u8; 64 * PAGE as usize];
        let at = buf.as_ptr() as u64;
        criu_image::synth::fill_pattern(SEED, at, &mut buf);
        let me = std::process::id() as i32;
        assert_eq!(check_pattern_range(me, at, buf.len() as u64), Ok(()));
        let bad = 5 * PAGE as usize + 17;
        buf[bad] ^= 1;
        let e = check_pattern_range(me, at, buf.len() as u64).unwrap_err();
        let page = (at + bad as u64) & !(PAGE - 1);
        assert_eq!(
            e,
            format!("page at {page:#x} differs at byte {}", (at + bad as u64) - page)
        );
    }
}
