//! The run as a person reads it (a table, then each failure with its log) and as JSON.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::run::{Binary, Outcome, Report, TestResult};

fn cell(o: &Outcome) -> String {
    match o {
        Outcome::Pass { secs } => format!("PASS {secs:.1}s"),
        Outcome::Fail { failure, .. } if failure.timed_out => format!("FAIL {} (timeout)", failure.stage.as_str()),
        Outcome::Fail { failure, .. } => format!("FAIL {}", failure.stage.as_str()),
        Outcome::Skip(_) => "skip".into(),
    }
}

/// `name: stock PASS 3.1s, ours FAIL restore`
pub fn progress_line(binaries: &[Binary], r: &TestResult) -> String {
    let cells: Vec<String> = r
        .order
        .iter()
        .map(|&b| format!("{} {}", binaries[b].name, cell(&r.outcomes[b])))
        .collect();
    let skip = r.outcomes.iter().find_map(|o| match o {
        Outcome::Skip(why) => Some(format!(" ({why})")),
        _ => None,
    });
    format!("{}: {}{}", r.name, cells.join(", "), skip.unwrap_or_default())
}

/// Counts of (pass, fail, skip) for binary `b`.
pub fn counts(report: &Report, b: usize) -> (usize, usize, usize) {
    let mut c = (0, 0, 0);
    for r in &report.results {
        match r.outcomes[b] {
            Outcome::Pass { .. } => c.0 += 1,
            Outcome::Fail { .. } => c.1 += 1,
            Outcome::Skip(_) => c.2 += 1,
        }
    }
    c
}

pub fn table(report: &Report) -> String {
    let w = report.results.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let cols: Vec<usize> = report.binaries.iter().map(|b| b.name.len().max(22)).collect();
    let mut s = String::new();
    let _ = write!(s, "{:w$}", "test");
    for (b, c) in report.binaries.iter().zip(&cols) {
        let _ = write!(s, " | {:c$}", b.name);
    }
    s.push('\n');
    s.push_str(&"-".repeat(w));
    for c in &cols {
        let _ = write!(s, "-+-{}", "-".repeat(*c));
    }
    s.push('\n');
    for r in &report.results {
        let _ = write!(s, "{:w$}", r.name);
        for (o, c) in r.outcomes.iter().zip(&cols) {
            let _ = write!(s, " | {:c$}", cell(o));
        }
        s.push('\n');
    }
    s.push('\n');
    for (i, b) in report.binaries.iter().enumerate() {
        let (p, f, k) = counts(report, i);
        let _ = writeln!(
            s,
            "{}: {p} passed, {f} failed, {k} skipped ({})",
            b.name,
            b.path.display()
        );
    }
    let _ = writeln!(s, "{} tests in {:.0} s", report.results.len(), report.secs);

    let mut failures = String::new();
    for r in &report.results {
        for (o, b) in r.outcomes.iter().zip(&report.binaries) {
            if let Outcome::Fail { failure, .. } = o {
                let _ = writeln!(
                    failures,
                    "\n== {} with {}: {}: {}",
                    r.name,
                    b.name,
                    cell(o),
                    failure.message
                );
                for l in failure.log_tail.lines() {
                    let _ = writeln!(failures, "   {l}");
                }
            }
        }
    }
    if !failures.is_empty() {
        s.push_str("\nFailures:");
        s.push_str(&failures);
    }
    s
}

fn outcome_json(o: &Outcome) -> Value {
    match o {
        Outcome::Pass { secs } => json!({ "result": "PASS", "secs": secs }),
        Outcome::Fail { failure, secs } => json!({
            "result": "FAIL",
            "stage": failure.stage.as_str(),
            "timed_out": failure.timed_out,
            "message": failure.message,
            "log_tail": failure.log_tail,
            "secs": secs,
        }),
        Outcome::Skip(why) => json!({ "result": "SKIP", "reason": why }),
    }
}

pub fn json(report: &Report) -> Value {
    let binaries: Vec<Value> = report
        .binaries
        .iter()
        .map(|b| json!({ "name": b.name, "path": b.path.display().to_string() }))
        .collect();
    let tests: Vec<Value> = report
        .results
        .iter()
        .map(|r| {
            let by: serde_json::Map<String, Value> = r
                .outcomes
                .iter()
                .zip(&report.binaries)
                .map(|(o, b)| (b.name.clone(), outcome_json(o)))
                .collect();
            let order: Vec<&str> = r.order.iter().map(|&b| report.binaries[b].name.as_str()).collect();
            json!({ "name": r.name, "order": order, "results": by })
        })
        .collect();
    let summary: serde_json::Map<String, Value> = report
        .binaries
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (p, f, k) = counts(report, i);
            (b.name.clone(), json!({ "passed": p, "failed": f, "skipped": k }))
        })
        .collect();
    json!({ "binaries": binaries, "secs": report.secs, "summary": summary, "tests": tests })
}
