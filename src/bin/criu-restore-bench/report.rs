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

fn values(samples: &[Sample], r: Restorer, m: &Metric) -> Vec<f64> {
    samples.iter().filter(|s| s.restorer == r).map(m.of).collect()
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
    let order: Vec<&str> = samples
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
            })
        })
        .collect();
    json!({
        "bench": "criu-restore-bench",
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
