//! A real CRIU 4.2 dump (tests/fixtures/pattern-task, see its README): a static task with
//! three anonymous mappings holding the synthetic pattern.

mod common;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use common::{crit_flags, crit_pagemap};
use criu_image::magic::{PAGE_SIZE as P, PE_LAZY, PE_PRESENT};
use criu_image::mm::{identity_maps, read_mm, VMA_ANON_PRIVATE};
use criu_image::records::check_criu_rules;
use criu_image::synth::check_pattern;
use criu_image::{build_for_vmas, build_for_vmas_with, build_from_pagemap, read_pagemap, BuildOptions, Lazy, Pagemap};

const SEED: u64 = 0xc0ff_ee15_c0ff_ee15;
const A: u64 = 0x1_0000_0000;
const B: u64 = 0x2_0000_0000;
const C: u64 = 0x3_0000_0000;
const RUNS: u64 = 1030;

fn fixture() -> (PathBuf, u32) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pattern-task/images");
    let mut ids = std::fs::read_dir(&dir)
        .expect("fixture directory")
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_prefix("pagemap-")?.strip_suffix(".img")?.parse::<u32>().ok()
        })
        .collect::<Vec<_>>();
    assert_eq!(ids.len(), 1, "one task in the fixture");
    (dir, ids.pop().unwrap())
}

/// Our regions' entries, as `(vaddr, nr_pages)`.
fn expected_regions() -> Vec<(u64, u64)> {
    let mut v = vec![(A, 32)];
    v.extend((0..RUNS).map(|r| (B + 2 * r * P, 1)));
    v.extend([(C, 4), (C + 8 * P, 2), (C + 15 * P, 1)]);
    v
}

fn in_regions(va: u64) -> bool {
    (A..A + 32 * P).contains(&va) || (B..B + 2 * RUNS * P).contains(&va) || (C..C + 16 * P).contains(&va)
}

#[test]
fn reads_pagemap_and_mm() {
    let (dir, id) = fixture();
    let pm = read_pagemap(&dir, id).unwrap();
    let ours: Vec<(u64, u64)> = pm
        .entries
        .iter()
        .filter(|e| in_regions(e.vaddr))
        .map(|e| (e.vaddr, e.nr_pages))
        .collect();
    assert_eq!(ours, expected_regions());
    // A plain dump marks anonymous private pages lazy and present.
    for e in pm.entries.iter().filter(|e| in_regions(e.vaddr)) {
        assert_eq!(e.flags, PE_LAZY | PE_PRESENT);
    }
    assert!(pm.entries.iter().all(|e| e.is_present() && !e.is_in_parent()));
    assert_eq!(pm.check_pages_file(&dir).unwrap(), pm.present_bytes().unwrap());

    let mm = read_mm(&dir, id).unwrap();
    for (start, pages) in [(A, 32), (B, 2 * RUNS - 1), (C, 16)] {
        let v = mm.vmas.iter().find(|v| v.start == start).expect("our VMA is in mm");
        assert_eq!(v.end, start + pages * P);
        assert_eq!(v.prot, 3);
        assert!(v.status & VMA_ANON_PRIVATE != 0);
    }
}

#[test]
fn pages_hold_the_pattern() {
    let (dir, id) = fixture();
    let pm = read_pagemap(&dir, id).unwrap();
    let mut f = File::open(pm.pages_path(&dir)).unwrap();
    let mut page = vec![0u8; P as usize];
    for (vaddr, n) in expected_regions() {
        for k in 0..n {
            let va = vaddr + k * P;
            f.seek(SeekFrom::Start(pm.file_offset_of(va).unwrap())).unwrap();
            f.read_exact(&mut page).unwrap();
            assert_eq!(check_pattern(SEED, va, &page), None, "page {va:#x}");
        }
    }
    // The zero page that was only read is not dumped.
    assert_eq!(pm.file_offset_of(C + 5 * P), None);
}

/// Apply the records as the restorer would, checking every page of our regions lands
/// with its pattern and counting them.
fn apply(pm: &Pagemap, dir: &Path, recs: &[criu_image::Record]) -> u64 {
    let mut f = File::open(pm.pages_path(dir)).unwrap();
    let mut seen = 0;
    let mut page = vec![0u8; P as usize];
    for r in recs {
        f.seek(SeekFrom::Start(r.off as u64)).unwrap();
        for &(base, len) in &r.iovs {
            for k in 0..len / P {
                f.read_exact(&mut page).unwrap();
                let va = base + k * P;
                if in_regions(va) {
                    assert_eq!(check_pattern(SEED, va, &page), None, "page {va:#x}");
                    seen += 1;
                }
            }
        }
    }
    seen
}

#[test]
fn records_by_criu_rules() {
    let (dir, id) = fixture();
    let pm = read_pagemap(&dir, id).unwrap();
    let mm = read_mm(&dir, id).unwrap();
    let ios = build_for_vmas(&pm, &identity_maps(&mm)).unwrap();
    assert_eq!(build_from_pagemap(&pm, |v| v).unwrap(), ios);
    let recs = ios.records().unwrap();
    check_criu_rules(&recs).unwrap();
    assert_eq!(ios.total_len, pm.present_bytes().unwrap());
    // Region B's 1030 single pages continue each other in the file but not in memory:
    // some record is full, the records split at 1023 iovecs.
    assert!(
        recs.iter().any(|r| r.iovs.len() == 1023),
        "{:?}",
        recs.iter().map(|r| r.iovs.len()).collect::<Vec<_>>()
    );
    let region_pages: u64 = expected_regions().iter().map(|r| r.1).sum();
    assert_eq!(apply(&pm, &dir, &recs), region_pages);

    // A lazy restore leaves every lazy entry to userfaultfd.
    let skip = build_for_vmas_with(&pm, &identity_maps(&mm), BuildOptions { lazy: Lazy::Skip }).unwrap();
    let lazy_pages: u64 = pm.entries.iter().filter(|e| e.is_lazy()).map(|e| e.nr_pages).sum();
    assert_eq!(skip.skipped_lazy_pages, lazy_pages);
    assert_eq!(skip.total_len, pm.present_bytes().unwrap() - lazy_pages * P);
    check_criu_rules(&skip.records().unwrap()).unwrap();
}

#[test]
fn crit_agrees_on_the_real_pagemap() {
    let (dir, id) = fixture();
    let pm = read_pagemap(&dir, id).unwrap();
    let c = crit_pagemap(&dir.join(format!("pagemap-{id}.img")));
    assert_eq!(c.magic, "PAGEMAP");
    assert_eq!(c.pages_id, u64::from(pm.pages_id));
    assert_eq!(c.entries.len(), pm.entries.len());
    for (e, (vaddr, nr, flags, parent)) in pm.entries.iter().zip(&c.entries) {
        assert_eq!(
            (e.vaddr, crit_flags(e.flags), e.in_parent),
            (*vaddr, flags.clone(), *parent)
        );
        // CRIU 4.x keeps the count in field 5, which crit 3.x does not know: it shows the
        // old field 2, which CRIU 4.x leaves 0.
        assert!(*nr == 0 || *nr == e.nr_pages, "{e:?} vs crit {nr}");
    }
}

#[test]
fn records_match_what_criu_rendered() {
    // criu-render.txt: CRIU 4.2's own restore of this dump logged, per record it built,
    // its iovec count and first iovec. (With local images and no parent, CRIU restores
    // private VMAs in place, so the destinations are the dumped addresses.)
    let (dir, id) = fixture();
    let txt = std::fs::read_to_string(dir.parent().unwrap().join("criu-render.txt")).unwrap();
    let criu: Vec<(usize, u64, u64)> = txt
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].parse().unwrap(),
                u64::from_str_radix(f[1].trim_start_matches("0x"), 16).unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    assert!(!criu.is_empty());
    let pm = read_pagemap(&dir, id).unwrap();
    let mm = read_mm(&dir, id).unwrap();
    let recs = build_for_vmas(&pm, &identity_maps(&mm)).unwrap().records().unwrap();
    let ours: Vec<(usize, u64, u64)> = recs.iter().map(|r| (r.iovs.len(), r.iovs[0].0, r.iovs[0].1)).collect();
    assert_eq!(ours, criu);
}
