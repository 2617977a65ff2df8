//! Fault points for the crash-safety tests: a run stops dead (SIGABRT, nothing flushed
//! or cleaned, as under `kill -9`) after its Nth step, or its writes fail with ENOSPC
//! after a byte budget. Set by `CRIU_PIE_COMPACT_FAULT=stop:N` or `enospc:BYTES`;
//! unset, every check is one relaxed atomic load. Not a user option.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The variable the tests set.
pub const ENV: &str = "CRIU_PIE_COMPACT_FAULT";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    None,
    StopAfter(u64),
    NoSpaceAfter(u64),
}

fn fault() -> Fault {
    static F: OnceLock<Fault> = OnceLock::new();
    *F.get_or_init(|| {
        let Ok(v) = std::env::var(ENV) else {
            return Fault::None;
        };
        let parse = |s: &str| s.parse::<u64>().ok();
        match v.split_once(':') {
            Some(("stop", n)) => parse(n).map_or(Fault::None, Fault::StopAfter),
            Some(("enospc", n)) => parse(n).map_or(Fault::None, Fault::NoSpaceAfter),
            _ => Fault::None,
        }
    })
}

static STEPS: AtomicU64 = AtomicU64::new(0);
static WRITTEN: AtomicU64 = AtomicU64::new(0);

/// One step of the on-disk protocol is done: under `stop:N`, the Nth one kills the run.
pub fn step(what: &str) {
    let n = STEPS.fetch_add(1, Ordering::Relaxed) + 1;
    if fault() == Fault::StopAfter(n) {
        eprintln!("criu-pie compact: fault injection: stopped after step {n} ({what})");
        std::process::abort();
    }
}

/// Bytes of `want` that may be written now; under `enospc:B`, fewer once B bytes in all
/// were written (the caller then fails with ENOSPC, as a full disk would).
pub fn write_allowance(want: usize) -> usize {
    let Fault::NoSpaceAfter(budget) = fault() else {
        return want;
    };
    let done = WRITTEN.fetch_add(want as u64, Ordering::Relaxed);
    budget.saturating_sub(done).min(want as u64) as usize
}
