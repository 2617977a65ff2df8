//! criu-restore-bench: the restore of a large patterned process by stock CRIU 4.1.1 and
//! by the same CRIU with the Rust restorer installed (`criu_pie::testbed`).
//!
//! Each round starts the workload (`tests/harness/big_workload.c`) once per binary,
//! dumps it with that binary, restores it with `criu restore -d` and times the restore
//! (its wall time, and the restorer's phases from restore.log), then checks every byte
//! of the restored process against the pattern and kills it. The binaries alternate
//! which goes first from round to round. Images live under target/, on one disk.
//!
//! `criu-restore-bench [--gib N] [--rounds R] [--cold] [--note TEXT] [--out FILE.json]`

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
}

const USAGE: &str = "usage: criu-restore-bench [--gib N] [--rounds R] [--cold] [--note TEXT] [--out FILE.json]";

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
}

impl Bench<'_> {
    /// One start, dump, restore and check, in a sandbox of its own whose every process
    /// is killed afterwards, whatever happened.
    fn measure(&self, round: usize, r: Restorer, criu: &Path, check_original: bool) -> Result<Sample, String> {
        let dir = self.work.join(r.name());
        fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let mut sb = Sandbox::new().map_err(|e| format!("sandbox: {e}"))?;
        let mut restored = None;
        let res = self.measure_in(&sb, round, r, criu, &dir, check_original, &mut restored);
        let left = sb.kill_all(&restored.into_iter().collect::<Vec<_>>(), KILL);
        let sample = res.map_err(|e| format!("round {round}, {}: {e}", r.name()))?;
        if !left.is_empty() {
            return Err(format!("round {round}, {}: processes left alive: {left:?}", r.name()));
        }
        Ok(sample)
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
    ) -> Result<Sample, String> {
        let mib = self.mib.to_string();
        let mut w = roundtrip::start(sb, dir, self.exe, &[OsStr::new(&mib)], READY)?;
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
            check_pattern_range(w.pid, base, len).map_err(|e| format!("the workload before the dump: {e}"))?;
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
        check_pattern_range(pid, base, len).map_err(|e| format!("THE RESTORED PROCESS DIFFERS: {e}"))?;
        Ok(Sample {
            round,
            restorer: r,
            restore_wall_s,
            phases,
            dump_wall_s,
            image_bytes: image_bytes(&img),
            verified_bytes: len,
        })
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
            let s = bench.measure(round, r, criu, round == 0)?;
            eprintln!(
                "round {round} {:<5}: restore {:.3} s (restorer {:.3} s, pages {:.3} s), every byte checked",
                r.name(),
                s.restore_wall_s,
                s.phases.restorer_s,
                s.phases.pages_s
            );
            samples.push(s);
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
