//! The table and the JSON.

use std::fmt::Write;

use page_engine::abi::{Strategy, FLAG_HUGEPAGES, FLAG_HUGE_COLLAPSE};

use crate::run::{Figure, Results, Variant};

fn strategy_name(v: u32) -> &'static str {
    match Strategy::from_raw(v) {
        Some(Strategy::Serial) => "serial",
        Some(Strategy::Prefetch) => "prefetch",
        Some(Strategy::Parallel) => "parallel",
        Some(Strategy::IoUring) => "io_uring",
        Some(Strategy::Direct) => "direct",
        Some(Strategy::Aio) => "aio",
        Some(Strategy::AioDirect) => "aio-direct",
        Some(Strategy::Auto) => "auto",
        None => "?",
    }
}

pub fn find(r: &Results, size: u64, cold: bool, v: Variant) -> Option<&Figure> {
    r.figures
        .iter()
        .find(|f| f.size_mib == size && f.cold == cold && f.variant == v)
}

pub fn gbps(f: &Figure) -> f64 {
    f.size_mib as f64 * 1048576.0 / f.median() / 1e9
}

/// Ratio of `f`'s throughput to `g`'s.
fn ratio(f: &Figure, g: Option<&Figure>) -> Option<f64> {
    g.map(|g| g.median() / f.median())
}

/// The limit `f` is held against: the read limit cold; warm, the copy into memory like
/// its own (huge pages for a restore with `FLAG_HUGEPAGES` or `FLAG_HUGE_COLLAPSE`, 4 KiB
/// pages otherwise).
fn limit<'a>(r: &'a Results, f: &Figure) -> Option<&'a Figure> {
    let huge = match f.variant {
        Variant::Engine(_, flags) => flags & (FLAG_HUGEPAGES | FLAG_HUGE_COLLAPSE) != 0,
        v => v == Variant::MemcpyHugeLimit,
    };
    let l = if f.cold {
        Variant::ReadLimit
    } else if huge {
        Variant::MemcpyHugeLimit
    } else {
        Variant::MemcpyLimit
    };
    find(r, f.size_mib, f.cold, l)
}

/// Upstream CRIU's default path at `f`'s size and cache state.
fn upstream<'a>(r: &'a Results, f: &Figure) -> Option<&'a Figure> {
    find(r, f.size_mib, f.cold, UPSTREAM_BUFFERED)
}

const UPSTREAM_BUFFERED: Variant = Variant::Engine(Strategy::Aio, 0);
const UPSTREAM_DIRECT: Variant = Variant::Engine(Strategy::AioDirect, 0);

pub fn table(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "restore-bench: {} CPUs allowed, kernel {}, medians of the rounds",
        r.cpus, r.kernel
    );
    if let Some(why) = &r.cold_skipped {
        let _ = writeln!(s, "cold runs skipped: {why}");
    }
    let _ = writeln!(
        s,
        "{:>6} {:>5} {:<24} {:>8} {:>7} {:>9} {:>10} {:>9} {:<16} {:>7}",
        "MiB", "cache", "variant", "median s", "GB/s", "x serial", "x upstream", "x limit", "ran (threads)", "mem/img"
    );
    for f in &r.figures {
        let serial = find(r, f.size_mib, f.cold, Variant::Engine(Strategy::Serial, 0));
        let opt = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{v:.2}"));
        let _ = writeln!(
            s,
            "{:>6} {:>5} {:<24} {:>8.3} {:>7.2} {:>9} {:>10} {:>9} {:<16} {:>7}",
            f.size_mib,
            if f.cold { "cold" } else { "warm" },
            f.variant.name(),
            f.median(),
            gbps(f),
            opt(ratio(f, serial)),
            opt(ratio(f, upstream(r, f))),
            opt(ratio(f, limit(r, f))),
            f.ran
                .map_or("-".to_owned(), |(st, w)| format!("{} ({w})", strategy_name(st))),
            opt(f.memory_ratio),
        );
    }
    let _ = writeln!(s, "targets (2-core machine): auto >= 1.7x serial warm, >= 0.8 of the memcpy limit warm, >= 0.9 of the read limit cold, direct mem/img <= 1.1 cold");
    for f in r
        .figures
        .iter()
        .filter(|f| f.variant == Variant::Engine(Strategy::Auto, 0))
    {
        let serial = find(r, f.size_mib, f.cold, Variant::Engine(Strategy::Serial, 0));
        let (a, b) = (ratio(f, serial), ratio(f, limit(r, f)));
        let up_b = ratio(f, upstream(r, f));
        let up_d = ratio(f, find(r, f.size_mib, f.cold, UPSTREAM_DIRECT));
        let _ = writeln!(
            s,
            "  {} MiB {}: auto {:.2}x serial, {:.2}x upstream aio buffered, {:.2}x upstream aio direct, {:.2} of the limit",
            f.size_mib,
            if f.cold { "cold" } else { "warm" },
            a.unwrap_or(f64::NAN),
            up_b.unwrap_or(f64::NAN),
            up_d.unwrap_or(f64::NAN),
            b.unwrap_or(f64::NAN)
        );
    }
    for f in &r.failures {
        let _ = writeln!(s, "FAILED: {f}");
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

pub fn json(r: &Results) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "{{\"cpus\": {}, \"kernel\": \"{}\", \"cold_skipped\": ",
        r.cpus,
        esc(&r.kernel)
    );
    match &r.cold_skipped {
        Some(w) => {
            let _ = write!(s, "\"{}\"", esc(w));
        }
        None => s.push_str("null"),
    }
    s.push_str(", \"figures\": [");
    for (i, f) in r.figures.iter().enumerate() {
        let serial = find(r, f.size_mib, f.cold, Variant::Engine(Strategy::Serial, 0));
        let num = |x: Option<f64>| x.map_or("null".to_owned(), |v| format!("{v:.4}"));
        let _ = write!(
            s,
            "{}\n  {{\"size_mib\": {}, \"cache\": \"{}\", \"variant\": \"{}\", \"median_s\": {:.4}, \"gbps\": {:.3}, \"vs_serial\": {}, \"vs_upstream\": {}, \"vs_limit\": {}, \"ran\": {}, \"threads\": {}, \"memory_ratio\": {}, \"rounds_s\": [{}]}}",
            if i == 0 { "" } else { "," },
            f.size_mib,
            if f.cold { "cold" } else { "warm" },
            esc(f.variant.name()),
            f.median(),
            gbps(f),
            num(ratio(f, serial)),
            num(ratio(f, upstream(r, f))),
            num(ratio(f, limit(r, f))),
            f.ran.map_or("null".to_owned(), |(st, _)| format!("\"{}\"", strategy_name(st))),
            f.ran.map_or("null".to_owned(), |(_, w)| w.to_string()),
            num(f.memory_ratio),
            f.seconds.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", ")
        );
    }
    s.push_str("\n], \"failures\": [");
    s.push_str(
        &r.failures
            .iter()
            .map(|f| format!("\"{}\"", esc(f)))
            .collect::<Vec<_>>()
            .join(", "),
    );
    s.push_str("]}\n");
    s
}
