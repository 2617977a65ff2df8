//! The measurements: variants alternated within each round, medians across rounds.

use std::time::Instant;

use page_engine::abi::{Options, Strategy, FLAG_HUGEPAGES, FLAG_HUGE_COLLAPSE, FLAG_POPULATE};
use page_engine::records::Records;

use crate::image::Image;
use crate::mem;
use crate::Config;

/// What is timed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Variant {
    /// A strategy with option flags (`FLAG_POPULATE`, `FLAG_HUGEPAGES`).
    Engine(Strategy, u32),
    /// The same bytes copied from the (cached) file's mapping into fresh memory with
    /// the thread count `auto` uses: what a warm restore cannot beat.
    MemcpyLimit,
    /// The same copy into fresh memory advised MADV_HUGEPAGE: what a warm restore with
    /// `FLAG_HUGEPAGES` cannot beat.
    MemcpyHugeLimit,
    /// One thread reading the file sequentially into a small buffer: what a cold
    /// restore cannot beat on this disk.
    ReadLimit,
}

impl Variant {
    pub fn name(&self) -> &'static str {
        match self {
            Variant::Engine(Strategy::Serial, 0) => "serial (CRIU loop)",
            Variant::Engine(Strategy::Prefetch, 0) => "prefetch",
            Variant::Engine(Strategy::Parallel, 0) => "parallel",
            Variant::Engine(Strategy::IoUring, 0) => "io_uring",
            Variant::Engine(Strategy::Direct, 0) => "direct",
            Variant::Engine(Strategy::Auto, 0) => "auto",
            Variant::Engine(Strategy::Auto, FLAG_POPULATE) => "auto+populate",
            Variant::Engine(Strategy::Auto, FLAG_HUGEPAGES) => "auto+hugepages (advice)",
            // What the Rust restorer runs by default: huge pages, no advice.
            Variant::Engine(Strategy::Auto, FLAG_HUGE_COLLAPSE) => "auto+huge (collapse)",
            // CRIU's restorer since PR #3022, and its opt-in `--image-io-mode direct`.
            Variant::Engine(Strategy::Aio, 0) => "upstream aio, buffered",
            Variant::Engine(Strategy::AioDirect, 0) => "upstream aio, direct",
            Variant::Engine(..) => "engine (other flags)",
            Variant::MemcpyLimit => "memcpy limit",
            Variant::MemcpyHugeLimit => "memcpy limit, huge pages",
            Variant::ReadLimit => "read limit",
        }
    }
}

/// One variant's figures at one size and cache state.
pub struct Figure {
    pub size_mib: u64,
    pub cold: bool,
    pub variant: Variant,
    pub seconds: Vec<f64>,
    /// The strategy that ran and its threads (engine variants).
    pub ran: Option<(u32, u32)>,
    /// Peak RSS plus page-cache growth over the image size (cold engine runs).
    pub memory_ratio: Option<f64>,
}

impl Figure {
    pub fn median(&self) -> f64 {
        let mut v = self.seconds.clone();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }
}

pub struct Results {
    pub figures: Vec<Figure>,
    pub failures: Vec<String>,
    pub cpus: usize,
    pub kernel: String,
    pub cold_skipped: Option<String>,
}

/// Upstream's path, beside ours, warm and cold.
const UPSTREAM: [Variant; 2] = [
    Variant::Engine(Strategy::Aio, 0),
    Variant::Engine(Strategy::AioDirect, 0),
];

/// The first [`COLD`] run cold too.
const ENGINE: [Variant; 9] = [
    Variant::Engine(Strategy::Serial, 0),
    Variant::Engine(Strategy::Prefetch, 0),
    Variant::Engine(Strategy::Parallel, 0),
    Variant::Engine(Strategy::IoUring, 0),
    Variant::Engine(Strategy::Direct, 0),
    Variant::Engine(Strategy::Auto, 0),
    Variant::Engine(Strategy::Auto, FLAG_HUGE_COLLAPSE),
    Variant::Engine(Strategy::Auto, FLAG_POPULATE),
    Variant::Engine(Strategy::Auto, FLAG_HUGEPAGES),
];

const COLD: usize = 7;

pub fn all(cfg: &Config) -> Result<Results, String> {
    let mut res = Results {
        figures: Vec::new(),
        failures: Vec::new(),
        cpus: pie_sys::sched::cpus_allowed().unwrap_or(1),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        cold_skipped: None,
    };
    if cfg.cold && !mem::drop_caches() {
        res.cold_skipped = Some("dropping the page cache needs root".into());
    }
    for &size in &cfg.sizes_mib {
        let img = Image::prepare(&cfg.dir, size)?;
        eprintln!("restore-bench: {} MiB image at {}", size, img.pages_path.display());
        if cfg.warm {
            let mut vs = ENGINE.to_vec();
            vs.extend(UPSTREAM);
            vs.extend([Variant::MemcpyLimit, Variant::MemcpyHugeLimit]);
            measure(&img, size, false, &vs, cfg.rounds, &mut res);
        }
        if cfg.cold && res.cold_skipped.is_none() {
            let mut vs = ENGINE[..COLD].to_vec();
            vs.extend(UPSTREAM);
            vs.push(Variant::ReadLimit);
            measure(&img, size, true, &vs, cfg.rounds, &mut res);
        }
        if !cfg.keep {
            img.remove();
        }
    }
    Ok(res)
}

fn measure(img: &Image, size: u64, cold: bool, variants: &[Variant], rounds: usize, res: &mut Results) {
    let first = res.figures.len();
    for &v in variants {
        res.figures.push(Figure {
            size_mib: size,
            cold,
            variant: v,
            seconds: Vec::new(),
            ran: None,
            memory_ratio: None,
        });
    }
    if !cold {
        img.warm_up();
    }
    for round in 0..rounds {
        // Alternate the order so that no variant always runs right after another.
        for k in 0..variants.len() {
            let i = (k + round) % variants.len();
            let v = variants[i];
            if cold {
                mem::drop_caches();
            }
            match once(img, v, cold) {
                Ok((secs, ran, ratio)) => {
                    let f = &mut res.figures[first + i];
                    f.seconds.push(secs);
                    f.ran = ran.or(f.ran);
                    if let Some(r) = ratio {
                        f.memory_ratio = Some(f.memory_ratio.map_or(r, |m: f64| m.max(r)));
                    }
                }
                Err(e) => res.failures.push(format!(
                    "{size} MiB {} {}: {e}",
                    if cold { "cold" } else { "warm" },
                    v.name()
                )),
            }
        }
    }
    res.figures.retain(|f| !f.seconds.is_empty());
}

type Once = (f64, Option<(u32, u32)>, Option<f64>);

fn once(img: &Image, v: Variant, cold: bool) -> Result<Once, String> {
    match v {
        Variant::Engine(s, flags) => {
            let region = mem::region(img.span as usize);
            let (words, count) = img.records(region.as_ptr());
            // SAFETY: the records were just built for `region`, which outlives the call.
            let records = unsafe { Records::new(words.as_ptr() as *const u8, words.len() * 8, count) };
            let mut opts = Options::new(s);
            opts.workers = 0;
            opts.flags = flags;
            let file = img.open()?;
            let cache0 = mem::page_cache_bytes();
            mem::reset_peak_rss();
            let t = Instant::now();
            let (r, out) = page_engine::restore(&file, &records, &opts);
            let secs = t.elapsed().as_secs_f64();
            r.map_err(|f| format!("restore failed: {f:?} {out:?}"))?;
            let ratio = cold.then(|| {
                let grown = mem::page_cache_bytes().saturating_sub(cache0);
                (mem::peak_rss_bytes() + grown) as f64 / img.bytes as f64
            });
            img.verify(&region)?;
            Ok((secs, Some((out.strategy, out.workers)), ratio))
        }
        Variant::MemcpyLimit | Variant::MemcpyHugeLimit => {
            let region = mem::region(img.span as usize);
            if v == Variant::MemcpyHugeLimit {
                region.advise_hugepages().map_err(|e| format!("madvise: {e}"))?;
            }
            let threads = page_engine::auto_workers(img.bytes);
            let src = img.map_cached()?;
            let t = Instant::now();
            img.copy_like_restore(&src, &region, threads);
            let secs = t.elapsed().as_secs_f64();
            img.verify(&region)?;
            Ok((secs, None, None))
        }
        Variant::ReadLimit => {
            use std::io::Read;
            let mut f = img.open()?;
            let mut buf = vec![0u8; 16 << 20];
            let t = Instant::now();
            let mut n = 0u64;
            loop {
                match f.read(&mut buf) {
                    Ok(0) => break,
                    Ok(k) => n += k as u64,
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
            let secs = t.elapsed().as_secs_f64();
            if n != img.bytes {
                return Err(format!("read {n} of {} bytes", img.bytes));
            }
            Ok((secs, None, None))
        }
    }
}
