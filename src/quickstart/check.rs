//! The self-check: a small patterned process (tests/harness/pattern_workload.c, 116 MiB)
//! dumped and restored by a `criu`, every byte checked after the restore, the restore's
//! timings read from its log. Run with the new binary, and with stock's to compare.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zdtm::roundtrip::{self, Criu};
use zdtm::sandbox::Sandbox;

use super::workloads::{check_pattern_workload, try_compile};
use crate::timings::{self, Timings};

const STEP: Duration = Duration::from_secs(120);
const READY: Duration = Duration::from_secs(60);

/// One round trip that passed.
#[derive(Debug)]
pub struct Checked {
    pub log: PathBuf,
    pub timings: Timings,
}

/// Dump and restore the workload with `criu` in `dir` (made afresh), check every byte.
pub fn round_trip(criu: &Path, dir: &Path) -> Result<Checked, String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let exe = try_compile("pattern_workload", dir)?;
    let mut sb = Sandbox::new().map_err(|e| format!("a sandbox for the check (needs root): {e}"))?;
    let backing = dir.join("backing");
    let mut w = roundtrip::start(&sb, dir, &exe, &[backing.as_os_str()], READY)?;
    let base = w
        .ready
        .get(1)
        .and_then(|b| u64::from_str_radix(b.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| format!("the workload's ready line has no base: {:?}", w.ready))?;
    check_pattern_workload(w.pid, base).map_err(|e| format!("the workload before the dump: {e}"))?;
    let c = Criu::new(criu, dir, STEP);
    c.dump(&sb, &mut w)?;
    let pid = c.restore(&sb, w.pid)?;
    let checked = check_pattern_workload(pid, base).map_err(|e| format!("THE RESTORED PROCESS DIFFERS: {e}"));
    let left = sb.kill_all(&[pid], Duration::from_secs(10));
    checked?;
    if !left.is_empty() {
        return Err(format!("restored processes left alive: {left:?}"));
    }
    let log = dir.join("img/restore.log");
    let timings = timings::of_file(&log)?;
    Ok(Checked { log, timings })
}
