//! gpu-restore-bench's table and JSON.

use crate::bench::{median, Results, RoundResult};
use crate::opts::Opts;
use serde_json::{json, Value};
use std::fmt::Write;

/// One restore binary's medians over its verified rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub name: String,
    pub rounds: usize,
    pub verified: usize,
    pub criu_s: Option<f64>,
    pub cuda_s: Option<f64>,
    pub total_s: Option<f64>,
    /// Pages bytes over the median CRIU restore, GB/s.
    pub criu_gbps: Option<f64>,
    /// The baseline's median CRIU restore over this one's (> 1: faster than stock).
    pub x_stock: Option<f64>,
    /// The memcpy limit's seconds over this one's median CRIU restore (1: at the limit).
    pub limit_over_ours: Option<f64>,
    /// The same against the copy into huge pages.
    pub huge_limit_over_ours: Option<f64>,
}

/// The median memcpy limit, into huge pages or into 4 KiB pages.
pub fn limit_median_s(r: &Results, huge: bool) -> Option<f64> {
    median(
        &r.limit
            .iter()
            .filter(|l| l.huge == huge)
            .map(|l| l.seconds)
            .collect::<Vec<_>>(),
    )
}

pub fn summaries(opts: &Opts, r: &Results) -> Vec<Summary> {
    let of = |name: &str| -> Vec<&RoundResult> { r.rounds.iter().filter(|x| x.name == name).collect() };
    let med = |rs: &[&RoundResult], f: &dyn Fn(&RoundResult) -> Option<f64>| {
        median(
            &rs.iter()
                .filter(|x| x.verified())
                .filter_map(|x| f(x))
                .collect::<Vec<_>>(),
        )
    };
    let base = med(&of(&opts.criu[opts.baseline()].0), &|x| x.criu_restore_s);
    let (limit, huge_limit) = (limit_median_s(r, false), limit_median_s(r, true));
    opts.criu
        .iter()
        .map(|(name, _)| {
            let rs = of(name);
            let criu_s = med(&rs, &|x| x.criu_restore_s);
            Summary {
                name: name.clone(),
                rounds: rs.len(),
                verified: rs.iter().filter(|x| x.verified()).count(),
                criu_s,
                cuda_s: med(&rs, &|x| x.cuda_restore_s),
                total_s: med(&rs, &|x| x.total_s()),
                criu_gbps: criu_s.map(|s| r.pages_bytes as f64 / s / 1e9),
                x_stock: base.zip(criu_s).map(|(b, s)| b / s),
                limit_over_ours: limit.zip(criu_s).map(|(l, s)| l / s),
                huge_limit_over_ours: huge_limit.zip(criu_s).map(|(l, s)| l / s),
            }
        })
        .collect()
}

fn f3(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.3}"))
}

fn f2(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

/// The human-readable report.
pub fn table(opts: &Opts, r: &Results) -> String {
    let mut s = String::new();
    let gb = |b: u64| b as f64 / 1e9;
    let _ = writeln!(
        s,
        "\n== gpu-restore-bench: {} GiB GPU + {} MiB host, {} round(s){} ==",
        opts.gib,
        opts.host_mib,
        opts.rounds,
        if opts.cold {
            ", cold page cache"
        } else {
            ", warm page cache"
        }
    );
    let _ = writeln!(
        s,
        "workload fill {} s; CUDA checkpoint {} s (driver calls {} s); CRIU dump {} s",
        f3(r.fill_s),
        f3(r.checkpoint_s),
        f3(r.checkpoint_driver_s),
        f3(r.dump_s)
    );
    let _ = writeln!(
        s,
        "image {:.3} GB; pages files {:.3} GB ({} bytes in {} file(s)); workdir {} ({})",
        gb(r.image_bytes),
        gb(r.pages_bytes),
        r.pages_bytes,
        r.pages_files,
        r.workdir.display(),
        r.fs_type
    );
    for (huge, pages) in [(false, "4 KiB pages"), (true, "huge pages")] {
        if let Some(l) = limit_median_s(r, huge) {
            let _ = writeln!(
                s,
                "limit: memcpy of the pages from the page cache into fresh memory ({pages}), {} threads: {:.3} s = {:.2} GB/s",
                r.threads,
                l,
                gb(r.pages_bytes) / l
            );
        }
    }
    if !r.rounds.is_empty() {
        let _ = writeln!(
            s,
            "\n{:<12} {:>5} {:>5} {:>12} {:>12} {:>10} {:>10}  verification",
            "restore", "round", "order", "criu rest s", "cuda rest s", "(driver s)", "total s"
        );
        for x in &r.rounds {
            let v = match (&x.verify, &x.error) {
                (_, Some(e)) => format!("FAILED: {}", e.lines().next().unwrap_or("")),
                (Some(v), None) => v.clone(),
                (None, None) => "-".into(),
            };
            let _ = writeln!(
                s,
                "{:<12} {:>5} {:>5} {:>12} {:>12} {:>10} {:>10}  {}",
                x.name,
                x.round,
                x.position + 1,
                f3(x.criu_restore_s),
                f3(x.cuda_restore_s),
                f3(x.cuda_restore_driver_s),
                f3(x.total_s()),
                v
            );
        }
        let base = &opts.criu[opts.baseline()].0;
        let _ = writeln!(
            s,
            "\n{:<12} {:>8} {:>13} {:>13} {:>14} {:>10} {:>8} {:>10} {:>10}",
            "restore",
            "verified",
            "med criu s",
            "med cuda s",
            "med total s",
            "criu GB/s",
            format!("x {base}"),
            "limit/ours",
            "huge/ours"
        );
        for m in summaries(opts, r) {
            let _ = writeln!(
                s,
                "{:<12} {:>8} {:>13} {:>13} {:>14} {:>10} {:>8} {:>10} {:>10}",
                m.name,
                format!("{}/{}", m.verified, m.rounds),
                f3(m.criu_s),
                f3(m.cuda_s),
                f3(m.total_s),
                f2(m.criu_gbps),
                f2(m.x_stock),
                f2(m.limit_over_ours),
                f2(m.huge_limit_over_ours)
            );
        }
        let _ = writeln!(
            s,
            "(medians over verified rounds; criu GB/s = pages bytes / median CRIU restore; x = median CRIU restore of \
             {base} / this one; limit/ours, huge/ours = memcpy limit time, into 4 KiB and into huge pages, / median CRIU \
             restore)"
        );
    }
    for n in &r.notes {
        let _ = writeln!(s, "note: {n}");
    }
    let failed = r.rounds.iter().filter(|x| !x.verified()).count();
    match (&r.error, failed) {
        (Some(e), _) => {
            let _ = writeln!(s, "FAILED: {e}");
        }
        (None, 0) if !r.rounds.is_empty() => {
            let _ = writeln!(s, "all {} restores verified (every GPU and host byte)", r.rounds.len());
        }
        (None, n) => {
            let _ = writeln!(s, "FAILED: {n} of {} restores did not verify", r.rounds.len());
        }
    }
    s
}

/// Every raw number.
pub fn to_json(opts: &Opts, r: &Results) -> Value {
    let rounds: Vec<Value> = r
        .rounds
        .iter()
        .map(|x| {
            json!({
                "round": x.round,
                "restore": x.name,
                "order": x.position + 1,
                "restored_pid": x.restored_pid,
                "criu_restore_s": x.criu_restore_s,
                "cuda_restore_s": x.cuda_restore_s,
                "cuda_restore_driver_s": x.cuda_restore_driver_s,
                "total_s": x.total_s(),
                "verify": x.verify,
                "verify_s": x.verify_s,
                "verified": x.verified(),
                "notes": x.notes,
                "error": x.error,
            })
        })
        .collect();
    let summary: Vec<Value> = summaries(opts, r)
        .into_iter()
        .map(|m| {
            json!({
                "restore": m.name,
                "rounds": m.rounds,
                "verified": m.verified,
                "median_criu_restore_s": m.criu_s,
                "median_cuda_restore_s": m.cuda_s,
                "median_total_s": m.total_s,
                "criu_restore_gbps": m.criu_gbps,
                "x_baseline": m.x_stock,
                "limit_over_ours": m.limit_over_ours,
                "huge_limit_over_ours": m.huge_limit_over_ours,
            })
        })
        .collect();
    let (limit_s, huge_s) = (limit_median_s(r, false), limit_median_s(r, true));
    json!({
        "ok": r.ok(),
        "error": r.error,
        "config": {
            "gib": opts.gib,
            "host_mib": opts.host_mib,
            "rounds": opts.rounds,
            "cold": opts.cold,
            "seed": opts.seed,
            "dump_criu": opts.dump_criu,
            "criu": opts.criu.iter().map(|(n, p)| json!({"name": n, "path": p})).collect::<Vec<_>>(),
            "baseline": opts.criu[opts.baseline()].0,
            "criu_env": opts.criu_env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
            "dump_args": opts.dump_args,
            "restore_args": opts.restore_args,
            "python": opts.python,
            "toggle": opts.toggle,
            "workdir": r.workdir,
            "fs_type": r.fs_type,
            "threads": r.threads,
        },
        "workload": {
            "pid": r.workload_pid,
            "fill_s": r.fill_s,
            "pre_checkpoint_verify": r.pre_dump_verify,
            "pre_checkpoint_verify_s": r.pre_dump_verify_s,
        },
        "checkpoint": { "cuda_checkpoint_s": r.checkpoint_s, "cuda_checkpoint_driver_s": r.checkpoint_driver_s },
        "dump": {
            "criu_dump_s": r.dump_s,
            "image_bytes": r.image_bytes,
            "pages_bytes": r.pages_bytes,
            "pages_files": r.pages_files,
        },
        "limit": {
            "runs": r.limit.iter().map(|l| json!({"bytes": l.bytes, "seconds": l.seconds, "gbps": l.gbps(), "threads": l.threads, "huge": l.huge})).collect::<Vec<_>>(),
            "median_s": limit_s,
            "median_gbps": limit_s.map(|s| r.pages_bytes as f64 / s / 1e9),
            "huge_median_s": huge_s,
            "huge_median_gbps": huge_s.map(|s| r.pages_bytes as f64 / s / 1e9),
        },
        "rounds": rounds,
        "summary": summary,
        "notes": r.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::LimitRun;
    use std::path::PathBuf;

    fn opts() -> Opts {
        let argv: Vec<String> = ["--criu", "stock=/s", "--criu", "engine=/e", "--rounds", "2"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        match crate::opts::parse(&argv, Some(PathBuf::from("/b"))).unwrap() {
            crate::opts::Parsed::Run(o) => *o,
            _ => unreachable!(),
        }
    }

    fn round(name: &str, n: u32, criu: f64, cuda: f64, ok: bool) -> RoundResult {
        RoundResult {
            round: n,
            name: name.into(),
            criu_restore_s: Some(criu),
            cuda_restore_s: Some(cuda),
            verify: Some(if ok {
                "OK 8 8".into()
            } else {
                "BAD gpu element 3".into()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn medians_ratios_and_failures() {
        let o = opts();
        let r = Results {
            pages_bytes: 8_000_000_000,
            limit: vec![
                LimitRun {
                    bytes: 8_000_000_000,
                    seconds: 1.0,
                    threads: 16,
                    huge: false,
                },
                LimitRun {
                    bytes: 8_000_000_000,
                    seconds: 0.5,
                    threads: 16,
                    huge: true,
                },
            ],
            rounds: vec![
                round("stock", 1, 4.0, 1.0, true),
                round("engine", 1, 2.0, 1.0, true),
                round("engine", 2, 1.0, 1.0, true),
                round("stock", 2, 100.0, 1.0, false),
            ],
            ..Default::default()
        };
        let s = summaries(&o, &r);
        assert_eq!(s[0].name, "stock");
        assert_eq!((s[0].rounds, s[0].verified), (2, 1));
        assert_eq!(s[0].criu_s, Some(4.0));
        assert_eq!(s[0].x_stock, Some(1.0));
        assert_eq!(s[1].criu_s, Some(1.5));
        assert_eq!(s[1].total_s, Some(2.5));
        assert_eq!(s[1].x_stock, Some(4.0 / 1.5));
        assert_eq!(s[1].limit_over_ours, Some(1.0 / 1.5));
        assert!((s[0].criu_gbps.unwrap() - 2.0).abs() < 1e-9);
        assert!(!r.ok());
        let t = table(&o, &r);
        assert!(t.contains("BAD gpu element 3") && t.contains("FAILED: 1 of 4"), "{t}");
        assert!(t.contains("x stock"), "{t}");
        let j = to_json(&o, &r);
        assert_eq!(j["ok"], false);
        assert_eq!(j["rounds"].as_array().unwrap().len(), 4);
        assert_eq!(j["summary"][1]["median_criu_restore_s"], 1.5);
        assert_eq!(j["limit"]["median_s"], 1.0);
        assert_eq!(j["config"]["baseline"], "stock");
    }
}
