//! The table and the JSON of the rounds: medians per restorer, stock over ours.

use std::fmt::Write;

use serde_json::{json, Value};

use crate::{Config, Restorer, Sample};

/// The median of `v` (the mean of the middle two for an even count).
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One measured quantity of a sample.
struct Metric {
    key: &'static str,
    label: &'static str,
    of: fn(&Sample) -> f64,
}

const METRICS: [Metric; 4] = [
    Metric {
        key: "restore_wall_s",
        label: "criu restore -d, wall",
        of: |s| s.restore_wall_s,
    },
    Metric {
        key: "restorer_s",
        label: "restorer (pie: .. Restored)",
        of: |s| s.phases.restorer_s,
    },
    Metric {
        key: "pages_s",
        label: "page reading",
        of: |s| s.phases.pages_s,
    },
    Metric {
        key: "dump_wall_s",
        label: "criu dump, wall (same code)",
        of: |s| s.dump_wall_s,
    },
];

/// The metric of the samples of restorer `r`, of the full images or the compacted ones.
fn values_of(samples: &[Sample], r: Restorer, compacted: bool, m: &Metric) -> Vec<f64> {
    samples
        .iter()
        .filter(|s| s.restorer == r && s.compacted == compacted)
        .map(m.of)
        .collect()
}

fn values(samples: &[Sample], r: Restorer, m: &Metric) -> Vec<f64> {
    values_of(samples, r, false, m)
}

/// Medians of the compacted images' restores, their size and `compact`'s time.
fn compacted_table(t: &mut String, cfg: &Config, samples: &[Sample]) {
    let Some(pct) = cfg.zeros else {
        return;
    };
    let bytes = |c: bool| samples.iter().find(|s| s.compacted == c).map_or(0, |s| s.image_bytes);
    let compact: Vec<f64> = samples.iter().filter(|s| s.compacted).map(|s| s.compact_s).collect();
    let _ = writeln!(
        t,
        "with {pct}% of the 2 MiB runs zero: pages {} bytes, compacted {} bytes; criu-pie compact median {:.3} s",
        bytes(false),
        bytes(true),
        median(compact)
    );
    let _ = writeln!(
        t,
        "{:<30} {:>9} {:>9} {:>11}",
        "compacted, seconds", "stock", "ours", "stock/ours"
    );
    for m in &METRICS[..3] {
        let (s, o) = (
            median(values_of(samples, Restorer::Stock, true, m)),
            median(values_of(samples, Restorer::Ours, true, m)),
        );
        let _ = writeln!(t, "{:<30} {s:>9.3} {o:>9.3} {:>11.2}", m.label, s / o);
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

pub fn table(cfg: &Config, samples: &[Sample]) -> String {
    let mut t = String::new();
    let cache = if cfg.cold {
        "cold (page cache dropped before each restore)"
    } else {
        "warm (images just written, fsynced, in the page cache)"
    };
    let _ = writeln!(
        t,
        "criu-restore-bench: {} GiB of patterned anonymous memory (4 KiB pages), {} rounds, {cache}",
        cfg.gib, cfg.rounds
    );
    let _ = writeln!(t, "machine: {} CPUs, kernel {}; {}", cfg.cpus, cfg.kernel, cfg.note);
    let _ = writeln!(t, "load average before: {}; after: {}", cfg.load_before, cfg.load_after);
    let _ = writeln!(t, "stock: {}", cfg.stock.display());
    let _ = writeln!(t, "ours:  {}", cfg.ours.display());
    let _ = writeln!(t, "medians of the rounds:");
    let _ = writeln!(t, "{:<30} {:>9} {:>9} {:>11}", "seconds", "stock", "ours", "stock/ours");
    for m in &METRICS {
        let (s, o) = (
            median(values(samples, Restorer::Stock, m)),
            median(values(samples, Restorer::Ours, m)),
        );
        let _ = writeln!(t, "{:<30} {s:>9.3} {o:>9.3} {:>11.2}", m.label, s / o);
    }
    for r in [Restorer::Stock, Restorer::Ours] {
        let v: Vec<String> = values(samples, r, &METRICS[0])
            .iter()
            .map(|x| format!("{x:.3}"))
            .collect();
        let _ = writeln!(t, "{:<5} restore wall per round: {}", r.name(), v.join(" "));
    }
    compacted_table(&mut t, cfg, samples);
    let full: Vec<&Sample> = samples.iter().filter(|s| !s.compacted).collect();
    let order: Vec<&str> = full
        .chunks(2)
        .map(|c| {
            if c[0].restorer == Restorer::Stock {
                "stock first"
            } else {
                "ours first"
            }
        })
        .collect();
    let _ = writeln!(t, "order: {}", order.join(", "));
    let _ = writeln!(
        t,
        "every byte of the {} restored processes checked against the pattern: all equal",
        samples.len()
    );
    t
}

pub fn json(cfg: &Config, samples: &[Sample]) -> Value {
    let mut medians = serde_json::Map::new();
    for m in &METRICS {
        let (s, o) = (
            median(values(samples, Restorer::Stock, m)),
            median(values(samples, Restorer::Ours, m)),
        );
        medians.insert(
            m.key.into(),
            json!({"stock": round4(s), "ours": round4(o), "stock_over_ours": round4(s / o)}),
        );
    }
    let rounds: Vec<Value> = samples
        .iter()
        .map(|s| {
            json!({
                "round": s.round,
                "restorer": s.restorer.name(),
                "restore_wall_s": round4(s.restore_wall_s),
                "restorer_s": round4(s.phases.restorer_s),
                "pages_s": round4(s.phases.pages_s),
                "dump_wall_s": round4(s.dump_wall_s),
                "image_bytes": s.image_bytes,
                "verified_bytes": s.verified_bytes,
                "compacted": s.compacted,
                "compact_s": round4(s.compact_s),
            })
        })
        .collect();
    let mut medians_compacted = serde_json::Map::new();
    if cfg.zeros.is_some() {
        for m in &METRICS[..3] {
            let (s, o) = (
                median(values_of(samples, Restorer::Stock, true, m)),
                median(values_of(samples, Restorer::Ours, true, m)),
            );
            medians_compacted.insert(
                m.key.into(),
                json!({"stock": round4(s), "ours": round4(o), "stock_over_ours": round4(s / o)}),
            );
        }
    }
    json!({
        "bench": "criu-restore-bench",
        "zero_percent": cfg.zeros,
        "medians_compacted": medians_compacted,
        "gib": cfg.gib,
        "rounds": cfg.rounds,
        "cache": if cfg.cold { "cold" } else { "warm" },
        "machine": {
            "cpus": cfg.cpus,
            "kernel": cfg.kernel,
            "note": cfg.note,
            "loadavg_before": cfg.load_before,
            "loadavg_after": cfg.load_after,
        },
        "stock": cfg.stock.display().to_string(),
        "ours": cfg.ours.display().to_string(),
        "phases": {
            "restore_wall_s": "wall time of `criu restore -d` (until the pidfile is read and the task is seen alive)",
            "restorer_s": "restore.log: first `pie:` line to `pie: PID: PID: Restored`",
            "pages_s": "restore.log: the restorer's last VMA `mmap(` line to its first `vdso:` line after it",
            "dump_wall_s": "wall time of `criu dump` (the same dump code in both trees)",
        },
        "medians": medians,
        "samples": rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }
}
