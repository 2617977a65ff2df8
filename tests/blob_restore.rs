//! The engine inside the blob, loaded as CRIU loads it (relocated by Debian's
//! libcompel), restoring CRIU-format images into fresh mappings: every strategy, every
//! byte checked against the pages file, nothing written outside the iovecs.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::{field, run_loader, stdout};
use criu_image::magic::PAGE_SIZE;
use criu_image::records::build_from_pagemap;
use criu_image::synth::{write_images, SynthSpec};

const START: u64 = 0x7f12_0000_0000;
/// serial, prefetch, parallel, io_uring, direct, aio, aio direct, auto
const STRATEGIES: [u32; 8] = [1, 2, 3, 4, 5, 6, 7, 0];

struct Case {
    dir: PathBuf,
    pages: PathBuf,
    records: PathBuf,
    count: usize,
    span: u64,
    bytes: u64,
}

/// Write `spec` as CRIU images and its records (destinations relative to the span's
/// start, which the loader rebases onto its mapping).
fn case(name: &str, spec: &SynthSpec) -> Case {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("restore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let img = write_images(&dir, 1, spec).unwrap();
    let (lo, hi) = spec.span();
    let ios = build_from_pagemap(&img.pagemap, |vaddr| vaddr - lo).unwrap();
    let records = dir.join("records.bin");
    let bytes: Vec<u8> = ios.bytes.words().iter().flat_map(|w| w.to_le_bytes()).collect();
    std::fs::write(&records, bytes).unwrap();
    Case {
        pages: img.pages_path.clone(),
        dir,
        records,
        count: ios.count,
        span: hi - lo,
        bytes: img.total_bytes,
    }
}

fn restore(c: &Case, strategy: u32, workers: u32, dedup: u64, trap: bool) -> String {
    let o = run_loader([
        if trap { "trap-restore" } else { "restore" }.to_string(),
        c.pages.display().to_string(),
        c.records.display().to_string(),
        c.count.to_string(),
        c.span.to_string(),
        strategy.to_string(),
        workers.to_string(),
        dedup.to_string(),
    ]);
    let out = stdout(&o);
    assert!(
        o.status.success(),
        "strategy {strategy}: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(field(&out, "bytes").unwrap().parse::<u64>().unwrap(), c.bytes, "{out}");
    out
}

fn every_strategy(name: &str, spec: &SynthSpec) {
    let c = case(name, spec);
    for s in STRATEGIES {
        for w in [0, 2, 3] {
            restore(&c, s, w, 0, false);
        }
    }
    restore(&c, 0, 0, 0, true);
    let _ = std::fs::remove_dir_all(&c.dir);
}

#[test]
fn one_large_vma() {
    every_strategy("large", &SynthSpec::one_large(START, 8192, 11));
}

#[test]
fn many_small_vmas() {
    every_strategy("small", &SynthSpec::many_small(START, 300, 3, 2, 12));
}

#[test]
fn holes_in_memory_and_file() {
    every_strategy("sparse", &SynthSpec::sparse(START, 6000, 7, 5, 13));
}

#[test]
fn records_straddling_iov_max() {
    let spec = SynthSpec::iov_max_straddle(START, SynthSpec::straddle_runs(2, 5), 14);
    let c = case("straddle", &spec);
    assert_eq!(c.count, 3, "1023 + 1023 + 5 iovecs");
    for s in STRATEGIES {
        restore(&c, s, 2, 0, false);
    }
    let _ = std::fs::remove_dir_all(&c.dir);
}

#[test]
fn auto_dedup_punches_holes_in_every_strategy() {
    for s in STRATEGIES {
        let c = case(&format!("dedup{s}"), &SynthSpec::one_large(START, 4096, 15));
        let f = std::fs::File::open(&c.pages).unwrap();
        f.sync_all().unwrap();
        let before = f.metadata().unwrap().blocks();
        restore(&c, s, 2, 1 << 20, false);
        let after = std::fs::metadata(&c.pages).unwrap();
        assert!(
            after.blocks() < before / 8,
            "strategy {s}: {before} -> {} blocks",
            after.blocks()
        );
        assert_eq!(after.len(), c.bytes, "size kept");
        let _ = std::fs::remove_dir_all(&c.dir);
    }
}

#[test]
fn truncated_pages_file_is_enodata_with_the_record() {
    let c = case("trunc", &SynthSpec::many_small(START, 40, 4, 1, 16));
    // Cut the file in the middle of the data: a record past the cut must fail.
    let len = c.bytes / 2 + PAGE_SIZE;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&c.pages)
        .unwrap()
        .set_len(len)
        .unwrap();
    for s in STRATEGIES {
        let o = run_loader([
            "restore".to_string(),
            c.pages.display().to_string(),
            c.records.display().to_string(),
            c.count.to_string(),
            c.span.to_string(),
            s.to_string(),
            "2".into(),
            "0".into(),
        ]);
        let out = stdout(&o);
        assert!(!o.status.success(), "strategy {s} restored a truncated image: {out}");
        assert_eq!(field(&out, "ret").as_deref(), Some("-61"), "ENODATA: {out}");
        // The failing read is one at or past the end of the file; the serial loop meets
        // the end exactly where it is.
        let off: i64 = field(&out, "offset").unwrap().parse().unwrap();
        assert!(
            off as u64 >= len && off as u64 <= c.bytes,
            "failing offset {off}: {out}"
        );
        if s == 1 || s == 2 {
            assert_eq!(off as u64, len, "{out}");
        }
        assert!(field(&out, "record").unwrap().parse::<i64>().unwrap() >= 0, "{out}");
    }
    let _ = std::fs::remove_dir_all(&c.dir);
}
