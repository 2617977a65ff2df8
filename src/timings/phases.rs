//! Phases derived from the timestamps of known lines. CRIU logs no phase boundaries,
//! so each boundary is the first line known to start the next phase; a phase whose
//! line is missing from the log is left out rather than guessed.

use super::parse::Line;

/// A stretch of the restore between two logged lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub name: &'static str,
    pub start_us: u64,
    pub end_us: u64,
}

impl Phase {
    pub fn us(&self) -> u64 {
        self.end_us.saturating_sub(self.start_us)
    }
}

/// Which restorer wrote the log's `pie:` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restorer {
    /// Ours: "Restored N bytes of pages".
    Rust,
    /// CRIU's C restorer: one "Preadv" and one "`- returned N" a record.
    Stock,
    /// No page-restore lines at all.
    Unknown,
}

/// The page phase of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pages {
    pub phase: Phase,
    /// None when the log does not say.
    pub bytes: Option<u64>,
}

/// One task's time inside the restorer (`__export_restore_task`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub pid: u32,
    /// "map" (VMAs, up to the page restore), "pages", "finish" (vDSO, threads,
    /// credentials, up to the task's "Restored"); "restorer" alone without page lines.
    pub phases: Vec<Phase>,
    pub pages: Option<Pages>,
}

impl Task {
    pub fn us(&self) -> u64 {
        match (self.phases.first(), self.phases.last()) {
            (Some(a), Some(b)) => b.end_us.saturating_sub(a.start_us),
            _ => 0,
        }
    }
}

/// Everything read from one restore log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timings {
    /// CRIU's "Version: X" line.
    pub version: Option<String>,
    pub restorer: Restorer,
    /// First to last timestamp.
    pub total_us: u64,
    /// CRIU's own stages around the restorer, in order.
    pub stages: Vec<Phase>,
    pub tasks: Vec<Task>,
}

/// CRIU's stages and the line that starts each (the first such line of any task).
const STAGES: &[(&str, &str)] = &[
    ("forking", "Forking task with "),
    ("memory premap", "Opened local page read"),
    ("files", "Restoring resources"),
    ("restorer", "Restore via sigreturn"),
];

/// Read the phases out of `lines`; an error when the log shows no restore at all.
pub fn derive(lines: &[Line<'_>]) -> Result<Timings, String> {
    let (first, last) = match (lines.first(), lines.last()) {
        (Some(a), Some(b)) => (a.us, b.us),
        _ => return Err("no timestamped lines: not a CRIU -v4 log".into()),
    };
    let version = lines
        .iter()
        .find_map(|l| l.text.strip_prefix("Version: "))
        .map(|v| v.split_whitespace().next().unwrap_or(v).to_string());
    let tasks: Vec<Task> = lines
        .iter()
        .filter_map(|l| {
            let pid = l.pie?;
            l.text.strip_prefix("Switched to the restorer").map(|_| pid)
        })
        .map(|pid| task(lines, pid))
        .collect();
    if tasks.is_empty() && !lines.iter().any(|l| l.text.starts_with("Forking task with ")) {
        return Err("no restore in this log (no \"Forking task\" line): is it a restore log?".into());
    }
    let restorer = if lines.iter().any(|l| l.pie.is_some() && rust_pages(l.text).is_some()) {
        Restorer::Rust
    } else if lines.iter().any(|l| l.pie.is_some() && l.text.starts_with("Preadv ")) {
        Restorer::Stock
    } else {
        Restorer::Unknown
    };
    Ok(Timings {
        version,
        restorer,
        total_us: last.saturating_sub(first),
        stages: stages(lines, first, last, &tasks),
        tasks,
    })
}

fn stages(lines: &[Line<'_>], first: u64, last: u64, tasks: &[Task]) -> Vec<Phase> {
    let first_of = |pat: &str| {
        lines
            .iter()
            .find(|l| l.pie.is_none() && l.text.contains(pat))
            .map(|l| l.us)
    };
    let mut marks: Vec<(&'static str, u64)> = vec![("setup", first)];
    marks.extend(STAGES.iter().filter_map(|(n, pat)| first_of(pat).map(|t| (*n, t))));
    // After the restorer: from the last task's "Restored" to the end.
    if let Some(t) = tasks.iter().filter_map(|t| t.phases.last()).map(|p| p.end_us).max() {
        marks.push(("after", t));
    }
    let end = first_of("Restore finished successfully").unwrap_or(last);
    // Out-of-order marks (a stage's line logged before the previous stage's) are dropped:
    // the stages must tile the log.
    let mut kept: Vec<(&'static str, u64)> = Vec::new();
    for m in marks {
        if kept.last().is_none_or(|k| m.1 >= k.1) && m.1 <= end {
            kept.push(m);
        }
    }
    let ends = kept.iter().skip(1).map(|m| m.1).chain(std::iter::once(end));
    kept.iter()
        .zip(ends)
        .map(|(&(name, start_us), end_us)| Phase { name, start_us, end_us })
        .collect()
}

/// "Restored N bytes of pages ..." of ours: N.
fn rust_pages(text: &str) -> Option<u64> {
    text.strip_prefix("Restored ")?
        .split_once(" bytes of pages")?
        .0
        .parse()
        .ok()
}

fn task(lines: &[Line<'_>], pid: u32) -> Task {
    let own: Vec<&Line<'_>> = lines.iter().filter(|l| l.pie == Some(pid)).collect();
    let start = own
        .iter()
        .position(|l| l.text.starts_with("Switched to the restorer"))
        .unwrap_or(0);
    let own = &own[start..];
    let t0 = own[0].us;
    let restored = format!("{pid}: Restored");
    let end = own
        .iter()
        .find(|l| l.text == restored)
        .unwrap_or(own.last().expect("one line"))
        .us;
    let pages = pages(own);
    let phases = match &pages {
        Some(p) => vec![
            Phase {
                name: "map",
                start_us: t0,
                end_us: p.phase.start_us,
            },
            p.phase.clone(),
            Phase {
                name: "finish",
                start_us: p.phase.end_us,
                end_us: end,
            },
        ],
        None => vec![Phase {
            name: "restorer",
            start_us: t0,
            end_us: end,
        }],
    };
    Task { pid, phases, pages }
}

/// The page phase of one task's lines: ours logs only its end (the line before it is
/// the last VMA mapped, so its start); stock logs each record's read.
fn pages(own: &[&Line<'_>]) -> Option<Pages> {
    if let Some(i) = own.iter().position(|l| rust_pages(l.text).is_some()) {
        let start = own[..i].last().map_or(own[i].us, |l| l.us);
        return Some(Pages {
            phase: Phase {
                name: "pages",
                start_us: start,
                end_us: own[i].us,
            },
            bytes: rust_pages(own[i].text),
        });
    }
    let first = own.iter().position(|l| l.text.starts_with("Preadv "))?;
    let read = |t: &str| {
        t.starts_with("Preadv ") || t.starts_with("`- returned ") || t.trim_start().starts_with("`- skip pagemap")
    };
    let run = own[first..].iter().take_while(|l| read(l.text)).collect::<Vec<_>>();
    let bytes = run
        .iter()
        .filter_map(|l| l.text.strip_prefix("`- returned ")?.trim().parse::<u64>().ok())
        .sum();
    Some(Pages {
        phase: Phase {
            name: "pages",
            start_us: own[first].us,
            end_us: run.last().map_or(own[first].us, |l| l.us),
        },
        bytes: Some(bytes),
    })
}
