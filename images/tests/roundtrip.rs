//! Synthetic images: writer -> reader -> records -> parse, against hand-computed records.

mod common;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use common::{Rng, TempDir};
use criu_image::magic::{IOV_MAX, MAX_IOVS_PER_RECORD, PAGE_SIZE as P, PE_LAZY, PE_PRESENT};
use criu_image::pagemap::{pagemap_bytes, parse_pagemap, read_pagemap, PagemapEntry};
use criu_image::records::{check_criu_rules, rio_size};
use criu_image::synth::{
    check_pattern, pattern_byte, verify_pages, write_images_with, Content, SynthVma, WriteOptions,
};
use criu_image::{build_for_vmas, build_from_pagemap, parse, write_images, Pagemap, Record, SynthSpec, VmaIos, VmaMap};

fn rec(off: u64, iovs: &[(u64, u64)]) -> Record {
    Record {
        off: off as i64,
        iovs: iovs.to_vec(),
    }
}

/// Write `spec`, read it back, check the pagemap and contents, and build identity records
/// both ways (which must agree and obey CRIU's rules).
fn round_trip(spec: &SynthSpec, id: u32) -> (TempDir, Pagemap, VmaIos, Vec<Record>) {
    let dir = TempDir::new("rt");
    let img = write_images(dir.path(), id, spec).unwrap();
    assert_eq!(img.pagemap_path, dir.path().join(format!("pagemap-{id}.img")));
    assert_eq!(img.pages_path, dir.path().join(format!("pages-{id}.img")));
    assert_eq!(img.total_bytes, spec.present_bytes());
    assert_eq!(std::fs::metadata(&img.pages_path).unwrap().len(), img.total_bytes);
    let pm = read_pagemap(dir.path(), id).unwrap();
    assert_eq!(pm, spec.pagemap(id).unwrap());
    assert_eq!(pm, img.pagemap);
    assert_eq!(pm.check_pages_file(dir.path()).unwrap(), img.total_bytes);
    verify_pages(&pm, &img.pages_path, spec.seed, false).unwrap();
    let ios = build_from_pagemap(&pm, |v| v).unwrap();
    assert_eq!(build_for_vmas(&pm, &img.vmas).unwrap(), ios);
    let recs = parse(&ios.bytes, ios.count).unwrap();
    assert_eq!(
        ios.bytes.len(),
        recs.iter().map(|r| rio_size(r.iovs.len())).sum::<usize>()
    );
    assert_eq!(ios.iovs, recs.iter().map(|r| r.iovs.len()).sum::<usize>());
    assert_eq!(ios.total_len, img.total_bytes);
    check_criu_rules(&recs).unwrap();
    (dir, pm, ios, recs)
}

/// Apply `recs` as the restorer would, reading the pages file into a buffer standing for
/// `[lo, hi)`, then check it holds the pattern on every present page and zeros elsewhere.
fn apply_and_check(dir: &TempDir, pm: &Pagemap, spec: &SynthSpec, recs: &[Record], lo: u64, hi: u64) {
    let mut mem = vec![0u8; (hi - lo) as usize];
    let mut f = File::open(pm.pages_path(dir.path())).unwrap();
    for r in recs {
        f.seek(SeekFrom::Start(r.off as u64)).unwrap();
        for &(base, len) in &r.iovs {
            let at = (base - lo) as usize;
            f.read_exact(&mut mem[at..at + len as usize]).unwrap();
        }
    }
    for v in &spec.vmas {
        let mut present = vec![false; v.pages as usize];
        for &(first, n) in &v.present {
            present[first as usize..(first + n) as usize].fill(true);
        }
        for (p, is) in present.iter().enumerate() {
            let va = v.start + p as u64 * P;
            let page = &mem[(va - lo) as usize..(va - lo + P) as usize];
            if *is {
                assert_eq!(check_pattern(spec.seed, va, page), None, "page {va:#x}");
            } else {
                assert!(page.iter().all(|&b| b == 0), "hole {va:#x} was written");
            }
        }
    }
}

#[test]
fn sparse_layout_hand_computed() {
    // Pages 0-2 and 5-7 of ten: file offsets continue, destinations do not.
    let spec = SynthSpec::sparse(0x10000, 10, 3, 2, 7);
    let (dir, pm, ios, recs) = round_trip(&spec, 42);
    assert_eq!(
        pm.entries,
        vec![PagemapEntry::present(0x10000, 3), PagemapEntry::present(0x15000, 3)]
    );
    assert_eq!(recs, vec![rec(0, &[(0x10000, 3 * P), (0x15000, 3 * P)])]);
    assert_eq!((ios.count, ios.bytes.len()), (1, rio_size(2)));
    apply_and_check(&dir, &pm, &spec, &recs, 0x10000, 0x10000 + 10 * P);
}

#[test]
fn many_small_vmas_hand_computed() {
    let spec = SynthSpec::many_small(0x40_0000, 3, 2, 1, 1);
    let (dir, pm, _, recs) = round_trip(&spec, 1);
    assert_eq!(
        recs,
        vec![rec(0, &[(0x40_0000, 2 * P), (0x40_3000, 2 * P), (0x40_6000, 2 * P)])]
    );
    apply_and_check(&dir, &pm, &spec, &recs, 0x40_0000, 0x40_8000);
    // Premapped back to back, the three VMAs become one iovec.
    let packed: Vec<VmaMap> = spec
        .vmas
        .iter()
        .enumerate()
        .map(|(i, v)| VmaMap {
            start: v.start,
            end: v.end(),
            dest: 0x9000_0000 + i as u64 * 2 * P,
        })
        .collect();
    let ios = build_for_vmas(&pm, &packed).unwrap();
    assert_eq!(ios.records().unwrap(), vec![rec(0, &[(0x9000_0000, 6 * P)])]);
    let f = |v: u64| {
        let i = (v - 0x40_0000) / (3 * P);
        0x9000_0000 + i * 2 * P + (v - 0x40_0000 - i * 3 * P)
    };
    assert_eq!(build_from_pagemap(&pm, f).unwrap(), ios);
}

#[test]
fn one_large_vma_is_one_iovec() {
    let spec = SynthSpec::one_large(0x7f00_0000_0000, 512, 3);
    let (_dir, _, ios, recs) = round_trip(&spec, 2);
    assert_eq!(recs, vec![rec(0, &[(0x7f00_0000_0000, 512 * P)])]);
    assert_eq!(ios.bytes.len(), 32);
}

#[test]
fn records_straddle_iov_max() {
    let runs = SynthSpec::straddle_runs(2, 5);
    assert_eq!(runs, 2 * 1023 + 5);
    let spec = SynthSpec::iov_max_straddle(0x100_0000, runs, 9);
    let (dir, pm, ios, recs) = round_trip(&spec, 3);
    assert_eq!(pm.entries.len() as u64, runs);
    assert_eq!(
        recs.iter().map(|r| r.iovs.len()).collect::<Vec<_>>(),
        vec![1023, 1023, 5]
    );
    assert!(recs.iter().all(|r| r.iovs.len() < IOV_MAX));
    for (k, r) in recs.iter().enumerate() {
        let first_run = k as u64 * MAX_IOVS_PER_RECORD as u64;
        assert_eq!(r.off as u64, first_run * P);
        for (j, &(base, len)) in r.iovs.iter().enumerate() {
            assert_eq!((base, len), (0x100_0000 + 2 * (first_run + j as u64) * P, P));
        }
    }
    assert_eq!(ios.bytes.len(), 2 * rio_size(1023) + rio_size(5));
    apply_and_check(&dir, &pm, &spec, &recs, 0x100_0000, 0x100_0000 + (2 * runs - 1) * P);
}

#[test]
fn exactly_full_record_then_offset_gap() {
    // 1023 runs fill a record; a run after a hole in the *file* (a lazy entry's room)
    // starts a new record because of the offset, not the limit.
    let mut spec = SynthSpec::iov_max_straddle(0x100_0000, 1023, 4);
    spec.vmas.push(SynthVma::full(0x200_0000, 1));
    let (_d, pm, _, recs) = round_trip(&spec, 5);
    assert_eq!(recs.iter().map(|r| r.iovs.len()).collect::<Vec<_>>(), vec![1023, 1]);
    let mut pm2 = pm.clone();
    pm2.entries.insert(
        1023,
        PagemapEntry {
            vaddr: 0x180_0000,
            nr_pages: 2,
            in_parent: false,
            flags: PE_LAZY | PE_PRESENT,
        },
    );
    let skip = criu_image::BuildOptions {
        lazy: criu_image::Lazy::Skip,
    };
    let recs2 = criu_image::build_from_pagemap_with(&pm2, |v| v, skip)
        .unwrap()
        .records()
        .unwrap();
    assert_eq!(recs2[1], rec(1025 * P, &[(0x200_0000, P)]));
    check_criu_rules(&recs2).unwrap();
}

#[test]
fn write_options_and_content_checks() {
    let spec = SynthSpec {
        vmas: vec![SynthVma {
            start: 0x5000,
            pages: 8,
            present: vec![(1, 2), (6, 1)],
        }],
        seed: 11,
    };
    let dir = TempDir::new("opts");
    let img = write_images_with(
        dir.path(),
        77,
        &spec,
        WriteOptions {
            pages_id: Some(3),
            content: Content::Sparse,
        },
    )
    .unwrap();
    assert_eq!(img.pages_path, dir.path().join("pages-3.img"));
    assert_eq!(read_pagemap(dir.path(), 77).unwrap().pages_id, 3);
    verify_pages(&img.pagemap, &img.pages_path, 11, true).unwrap();
    assert!(verify_pages(&img.pagemap, &img.pages_path, 11, false).is_err());

    let img = write_images(dir.path(), 78, &spec).unwrap();
    let pm = &img.pagemap;
    // Any byte can be checked through the pagemap without the image in memory.
    let mut f = File::open(&img.pages_path).unwrap();
    for va in [0x6000u64, 0x6001, 0x7fff, 0xb000, 0xbabc] {
        let off = pm.file_offset_of(va).unwrap();
        let mut b = [0u8];
        f.seek(SeekFrom::Start(off)).unwrap();
        f.read_exact(&mut b).unwrap();
        assert_eq!(b[0], pattern_byte(11, va));
    }
    assert_eq!(pm.file_offset_of(0x5000), None);
    // A flipped byte is found.
    let mut f = std::fs::OpenOptions::new().write(true).open(&img.pages_path).unwrap();
    f.seek(SeekFrom::Start(2 * P + 17)).unwrap();
    f.write_all(&[pattern_byte(11, 0xb011) ^ 1]).unwrap();
    drop(f);
    let e = verify_pages(pm, &img.pages_path, 11, false).unwrap_err().to_string();
    assert!(e.contains("0xb011"), "{e}");
    // A pages file of the wrong size.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&img.pages_path)
        .unwrap()
        .set_len(P)
        .unwrap();
    assert!(pm.check_pages_file(dir.path()).is_err());
    assert!(verify_pages(pm, &img.pages_path, 11, false).is_err());
}

#[test]
fn big_sparse_file_is_quick() {
    // 4 GiB of pages as a sparse file, and its records, in well under a second.
    let spec = SynthSpec::one_large(0x10_0000_0000, 1 << 20, 0);
    let dir = TempDir::new("big");
    let t = std::time::Instant::now();
    let img = write_images_with(
        dir.path(),
        1,
        &spec,
        WriteOptions {
            content: Content::Sparse,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(img.total_bytes, 4 << 30);
    let ios = build_for_vmas(&img.pagemap, &img.vmas).unwrap();
    assert_eq!(ios.records().unwrap(), vec![rec(0, &[(0x10_0000_0000, 4 << 30)])]);
    assert!(t.elapsed().as_secs() < 10);
}

#[test]
fn malformed_pagemap_files_never_panic() {
    let spec = SynthSpec::sparse(0x10000, 40, 2, 3, 5);
    let bytes = pagemap_bytes(&spec.pagemap(1).unwrap());
    let dir = TempDir::new("bad");
    // Truncations: a file cut inside the header, a size or an entry is an error.
    for n in 0..bytes.len() {
        let r = parse_pagemap(&bytes[..n]);
        if let Ok(pm) = &r {
            assert!(spec.pagemap(1).unwrap().entries.starts_with(&pm.entries));
        }
    }
    std::fs::write(dir.path().join("pagemap-9.img"), &bytes[..bytes.len() - 1]).unwrap();
    let e = read_pagemap(dir.path(), 9).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(read_pagemap(dir.path(), 10).is_err()); // missing file
                                                    // Random mutations: parse, and if that works, build records; errors are fine.
    let mut rng = Rng(1);
    for _ in 0..20_000 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            if b.is_empty() {
                break;
            }
            let i = rng.below(b.len() as u64) as usize;
            match rng.below(3) {
                0 => b[i] = rng.next() as u8,
                1 => b[i] ^= 1 << rng.below(8),
                _ => b.truncate(i),
            }
        }
        if let Ok(pm) = parse_pagemap(&b) {
            // Bound the work a mutated page count may claim before per-page building.
            if pm.present_bytes().is_ok_and(|n| n <= 1 << 30) {
                let _ = build_from_pagemap(&pm, |v| v);
            }
            let _ = build_for_vmas(&pm, &[VmaMap::identity(0x10000, 0x40000)]);
        }
    }
}

#[test]
fn entries_written_with_old_and_new_page_counts() {
    // Field 5 wins over field 2; flags PE_LAZY|PE_PRESENT as a plain dump writes them.
    let pm = Pagemap {
        pages_id: 1,
        entries: vec![
            PagemapEntry {
                vaddr: 0x1000,
                nr_pages: 1 << 33,
                in_parent: false,
                flags: PE_LAZY | PE_PRESENT,
            },
            PagemapEntry::present(0x1000 + (1 << 45), 1),
        ],
    };
    let back = parse_pagemap(&pagemap_bytes(&pm)).unwrap();
    assert_eq!(back, pm);
    assert_eq!(back.present_bytes().unwrap(), ((1 << 33) + 1) * P);
    assert_eq!(PE_PRESENT, 4);
}
