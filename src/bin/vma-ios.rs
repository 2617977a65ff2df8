//! vma-ios: CRIU's `restore_vma_io` records for part of a dumped task, and a check of its
//! pages against the test pattern. Used by the restore scenarios (in QEMU guests too).
//!
//!   vma-ios DIR PID LO HI OUT          write the records of pages in [LO, HI), their
//!                                      destinations relative to LO, to OUT; print
//!                                      `count=N span=S pages=PATH bytes=B`
//!   vma-ios DIR PID LO HI --check SEED check every dumped page in [LO, HI) of the pages
//!                                      file against the word pattern; print `pages=N`

use std::path::Path;
use std::process::ExitCode;

use criu_image::magic::PAGE_SIZE;
use criu_image::pagemap::read_pagemap;
use criu_image::records::{build_from_pagemap, parse, VmaIoBuilder};
use criu_image::synth::pattern_word;

fn num(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s}: {e}"))
}

fn run(args: &[String]) -> Result<String, String> {
    let [dir, pid, lo, hi, what, rest @ ..] = args else {
        return Err("usage: vma-ios DIR PID LO HI (OUT | --check SEED)".into());
    };
    let (dir, pid, lo, hi) = (Path::new(dir), num(pid)? as u32, num(lo)?, num(hi)?);
    let pm = read_pagemap(dir, pid).map_err(|e| e.to_string())?;
    let pages = dir.join(format!("pages-{}.img", pm.pages_id));
    // All records as CRIU queues them (in place), then only the pages in the window,
    // rebased; file offsets of the pages outside still count.
    let all = build_from_pagemap(&pm, |v| v).map_err(|e| e.to_string())?;
    let records = parse(&all.bytes, all.count).map_err(|e| e.to_string())?;
    let mut b = VmaIoBuilder::new();
    let mut window = Vec::new();
    for r in &records {
        let mut off = r.off as u64;
        for &(base, len) in &r.iovs {
            let mut p = 0;
            while p < len {
                let v = base + p;
                if v >= lo && v < hi {
                    b.push(off + p, v - lo, PAGE_SIZE);
                    window.push((off + p, v));
                }
                p += PAGE_SIZE;
            }
            off += len;
        }
    }
    if what == "--check" {
        let seed = num(rest.first().ok_or("--check needs a seed")?)?;
        let data = std::fs::read(&pages).map_err(|e| format!("{}: {e}", pages.display()))?;
        for &(off, v) in &window {
            let page = data
                .get(off as usize..(off + PAGE_SIZE) as usize)
                .ok_or(format!("page {v:#x} past the file"))?;
            for (k, w) in page.chunks_exact(8).enumerate() {
                let a = v + 8 * k as u64;
                if u64::from_le_bytes(w.try_into().unwrap()) != pattern_word(seed, a) {
                    return Err(format!(
                        "word at {a:#x} (file offset {:#x}) is not the pattern",
                        off + 8 * k as u64
                    ));
                }
            }
        }
        return Ok(format!("pages={}", window.len()));
    }
    let ios = b.finish();
    std::fs::write(what, &ios.bytes[..]).map_err(|e| format!("{what}: {e}"))?;
    Ok(format!(
        "count={} span={} pages={} bytes={}",
        ios.count,
        hi - lo,
        pages.display(),
        ios.total_len
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vma-ios: {e}");
            ExitCode::FAILURE
        }
    }
}
