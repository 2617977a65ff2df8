//! restore-soak: thousands of restores of random record layouts with every strategy and
//! option, every byte verified, for a set time. A figure, not a test: it prints the
//! count of restores and bytes, and every failure with the seed that reproduces it.
//!
//!   restore-soak [--seconds N] [--seed S] [--dir DIR]

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use page_engine::abi::{Options, Strategy, FLAG_HUGEPAGES, FLAG_HUGE_COLLAPSE, FLAG_POPULATE, IOV_MAX};
use page_engine::records::Records;
use pie_mapping::Mapping;

const PAGE: usize = vma_io::PAGE_SIZE;

/// splitmix64: a small deterministic generator, so a seed reproduces a case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One random case: a file of `file_pages` pages and records reading some of them into
/// a guarded region, page-granular like CRIU's, or byte-granular (odd lengths).
fn one(seed: u64, dir: &std::path::Path) -> Result<u64, String> {
    let mut r = Rng(seed);
    let file_pages = 1 + r.below(4096) as usize;
    let data: Vec<u8> = (0..file_pages * PAGE).map(|_| r.next() as u8).collect();
    let path = dir.join(format!("soak-{seed:x}"));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| e.to_string())?;
    f.write_all(&data).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&path);

    let region_pages = file_pages * 2 + 2;
    // Guard pages on each side: a stray write kills the soak.
    let region = Mapping::guarded(region_pages * PAGE).map_err(|e| format!("mmap: {e}"))?;
    let dst = region.as_ptr();

    // Records: walk the file with holes, destinations moving forward with gaps.
    let byte_granular = r.below(4) == 0;
    let unit = if byte_granular { 1 } else { PAGE };
    let (mut off, mut d) = (0usize, 0usize);
    let mut words = Vec::new();
    let mut count = 0;
    let mut expect = Vec::new(); // (dst offset, file offset, len)
    while off < data.len() && count < 200 {
        // Now and then a record of up to IOV_MAX iovecs, past CRIU's IOV_MAX - 1 (the
        // engine reads any count the kernel's preadv takes).
        let most = if r.below(8) == 0 { IOV_MAX as u64 } else { 6 };
        let n_iovs = 1 + r.below(most) as usize;
        let rec_off = off;
        let mut iovs = Vec::new();
        for _ in 0..n_iovs {
            let len = ((1 + r.below(8)) as usize * unit + if byte_granular { r.below(5000) as usize } else { 0 })
                .min(data.len() - off);
            if len == 0 || d + len > region_pages * PAGE {
                break;
            }
            iovs.push((d, len));
            expect.push((d, off, len));
            off += len;
            d += len + unit * r.below(3) as usize;
        }
        if iovs.is_empty() {
            break;
        }
        words.push(iovs.len() as u64);
        words.push(rec_off as u64);
        for (dd, len) in iovs {
            // SAFETY: dd + len is inside the region.
            words.push(unsafe { dst.add(dd) } as u64);
            words.push(len as u64);
        }
        count += 1;
        off += unit * r.below(3) as usize; // a hole in the file
    }
    let strategies = [
        Strategy::Serial,
        Strategy::Prefetch,
        Strategy::Parallel,
        Strategy::IoUring,
        Strategy::Direct,
        Strategy::Aio,
        Strategy::AioDirect,
        Strategy::Auto,
    ];
    let mut opts = Options::new(strategies[r.below(strategies.len() as u64) as usize]);
    opts.workers = r.below(9) as u32;
    opts.dedup_chunk = if r.below(4) == 0 {
        (1 + r.below(64)) * PAGE as u64
    } else {
        0
    };
    opts.flags = [
        0,
        FLAG_POPULATE,
        FLAG_HUGEPAGES,
        FLAG_POPULATE | FLAG_HUGEPAGES,
        FLAG_HUGE_COLLAPSE,
    ][r.below(5) as usize];
    // SAFETY: `words` holds `count` records into the region, which outlives the call.
    let records = unsafe { Records::new(words.as_ptr() as *const u8, words.len() * 8, count) };
    let (res, out) = page_engine::restore(&f, &records, &opts);
    let verdict = (|| {
        res.map_err(|e| format!("restore failed: {e:?} {out:?}"))?;
        let got = region.bytes();
        let mut written = vec![false; got.len()];
        for &(d, o, len) in &expect {
            if got[d..d + len] != data[o..o + len] {
                return Err(format!(
                    "wrong bytes at region offset {d:#x} (file {o:#x}, {len} bytes) {out:?}"
                ));
            }
            written[d..d + len].iter_mut().for_each(|w| *w = true);
        }
        if let Some(i) = (0..got.len()).find(|&i| !written[i] && got[i] != 0) {
            return Err(format!("byte {i:#x} outside the iovecs was written {out:?}"));
        }
        Ok(out.bytes)
    })();
    verdict
}

fn main() -> ExitCode {
    let mut secs = 60u64;
    let mut seed = 0x50a_c0de_u64;
    let mut dir = std::env::temp_dir();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next();
        match (a.as_str(), v) {
            ("--seconds", Some(v)) => secs = v.parse().unwrap_or(secs),
            ("--seed", Some(v)) => seed = v.parse().unwrap_or(seed),
            ("--dir", Some(v)) => dir = v.into(),
            _ => {
                eprintln!("usage: restore-soak [--seconds N] [--seed S] [--dir DIR]");
                return ExitCode::from(2);
            }
        }
    }
    let end = Instant::now() + Duration::from_secs(secs);
    let (mut n, mut bytes, mut failures) = (0u64, 0u64, Vec::new());
    while Instant::now() < end {
        let case = seed.wrapping_add(n);
        match one(case, &dir) {
            Ok(b) => bytes += b,
            Err(e) => failures.push(format!("seed {case}: {e}")),
        }
        n += 1;
    }
    println!(
        "restore-soak: {n} restores, {} MiB verified, {} failures in {secs} s",
        bytes >> 20,
        failures.len()
    );
    for f in &failures {
        println!("FAILED {f}");
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
