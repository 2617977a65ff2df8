//! The phases as text (one line a phase: duration and share) or as JSON.

use std::fmt::Write;

use serde_json::{json, Value};

use super::phases::{Phase, Restorer, Timings};

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// GB/s (10^9 bytes a second); None for an empty or instant phase.
pub fn gb_per_s(bytes: u64, us: u64) -> Option<f64> {
    (bytes > 0 && us > 0).then(|| bytes as f64 / us as f64 / 1000.0)
}

fn restorer_name(r: Restorer) -> &'static str {
    match r {
        Restorer::Rust => "Rust (criu-pie)",
        Restorer::Stock => "CRIU's own (stock)",
        Restorer::Unknown => "unknown (no page-restore lines)",
    }
}

fn phase_line(out: &mut String, p: &Phase, whole: u64, extra: &str) {
    let _ = writeln!(
        out,
        "  {:<14} {:>10.3} ms {:>6.1}%{extra}",
        p.name,
        ms(p.us()),
        share(p.us(), whole)
    );
}

/// The text report.
pub fn text(t: &Timings) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "CRIU {}, restorer {}: {:.3} ms in all",
        t.version.as_deref().unwrap_or("(version not logged)"),
        restorer_name(t.restorer),
        ms(t.total_us)
    );
    let _ = writeln!(out, "CRIU's stages (share of the whole log):");
    for s in &t.stages {
        phase_line(&mut out, s, t.total_us, "");
    }
    for task in &t.tasks {
        let _ = writeln!(out, "task {} in the restorer: {:.3} ms", task.pid, ms(task.us()));
        for p in &task.phases {
            let extra = match (&task.pages, p.name) {
                (Some(pg), "pages") => match pg.bytes {
                    Some(b) => match gb_per_s(b, p.us()) {
                        Some(r) => format!("  {b} bytes, {r:.2} GB/s"),
                        None => format!("  {b} bytes"),
                    },
                    None => "  bytes unknown".into(),
                },
                _ => String::new(),
            };
            phase_line(&mut out, p, task.us(), &extra);
        }
    }
    out
}

fn phase_json(p: &Phase, whole: u64) -> Value {
    json!({ "name": p.name, "start_us": p.start_us, "end_us": p.end_us, "us": p.us(), "share": share(p.us(), whole) })
}

/// The JSON report: the same numbers, times in microseconds.
pub fn json(t: &Timings) -> Value {
    json!({
        "version": t.version,
        "restorer": match t.restorer { Restorer::Rust => "rust", Restorer::Stock => "stock", Restorer::Unknown => "unknown" },
        "total_us": t.total_us,
        "stages": t.stages.iter().map(|s| phase_json(s, t.total_us)).collect::<Vec<_>>(),
        "tasks": t.tasks.iter().map(|task| json!({
            "pid": task.pid,
            "us": task.us(),
            "phases": task.phases.iter().map(|p| phase_json(p, task.us())).collect::<Vec<_>>(),
            "pages": task.pages.as_ref().map(|pg| json!({
                "bytes": pg.bytes,
                "us": pg.phase.us(),
                "gb_per_s": pg.bytes.and_then(|b| gb_per_s(b, pg.phase.us())),
            })),
        })).collect::<Vec<_>>(),
    })
}
