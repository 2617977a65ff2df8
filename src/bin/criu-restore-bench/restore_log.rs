//! The restorer's phases, timed from a `criu restore -v4` log: every line starts with
//! `(SECONDS.MICROS)` since CRIU started, and the restorer blob's lines carry `pie:`.

/// Seconds the restorer blob spent, from its log lines.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Phases {
    /// First `pie:` line to the `pie: PID: PID: Restored` line.
    pub restorer_s: f64,
    /// The page-reading phase: the last VMA `mmap(` line to the first `vdso:` line after
    /// it (both restorers read the pages between mapping the VMAs and the vDSO work).
    pub pages_s: f64,
}

/// What follows `pie: PID: ` on a restorer line, with its timestamp in seconds (the
/// line parser of `criu-pie timings`).
fn pie_line(line: &str) -> Option<(f64, &str)> {
    let l = criu_pie::timings::parse::line(line)?;
    l.pie.map(|_| (l.us as f64 / 1e6, l.text))
}

/// The phases of `log`, or which mark is missing.
pub fn phases(log: &str) -> Result<Phases, String> {
    let mut first = None;
    let mut restored = None;
    let mut last_mmap = None;
    let mut pages_end = None;
    for (t, msg) in log.lines().filter_map(pie_line) {
        first.get_or_insert(t);
        if msg.contains("\tmmap(") {
            last_mmap = Some(t);
            pages_end = None;
        } else if msg.contains("vdso:") && last_mmap.is_some() && pages_end.is_none() {
            pages_end = Some(t);
        }
        if msg.ends_with(": Restored") {
            restored = Some(t);
        }
    }
    let first = first.ok_or("no `pie:` line in restore.log")?;
    let restored = restored.ok_or("no `pie: ... Restored` line in restore.log")?;
    let mapped = last_mmap.ok_or("no restorer `mmap(` line in restore.log")?;
    let pages_end = pages_end.ok_or("no `vdso:` line after the restorer's mmaps in restore.log")?;
    Ok(Phases {
        restorer_s: restored - first,
        pages_s: pages_end - mapped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phases_of_a_restore_log() {
        let log = "(00.001000) Opened local page read 1\n\
                   (00.010000) pie: 7: Switched to the restorer 7\n\
                   (00.010500) pie: 7: vdso: Using gettimeofday() on vdso at 0x43810\n\
                   (00.011000) pie: 7: \tmmap(0x1000 -> 0x2000, 0x3 0x32 -1)\n\
                   (00.012000) pie: 7: \tmmap(0x2000 -> 0x3000, 0x3 0x32 -1)\n\
                   (00.512000) pie: 7: Restored 4096 bytes of pages (strategy 3, 2 threads)\n\
                   (00.612000) pie: 7: vdso: Parsing at 0x1 0x2\n\
                   (00.700000) pie: 7: 7: Restored\n\
                   (00.800000) Restore finished successfully. Tasks resumed.\n";
        let p = phases(log).unwrap();
        assert!((p.restorer_s - 0.69).abs() < 1e-9, "{p:?}");
        assert!((p.pages_s - 0.6).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn a_log_without_the_restorer_is_an_error() {
        let e = phases("(00.001000) Error (criu/cr-restore.c:1): nope\n").unwrap_err();
        assert!(e.contains("pie:"), "{e}");
    }
}
