//! Cross-checks with CRIU's own decoder, `crit` (Debian package `criu`). These tests fail,
//! naming the package, when crit is missing.

mod common;

use common::{crit, crit_flags, crit_pagemap, TempDir};
use criu_image::magic::{PE_LAZY, PE_PARENT, PE_PRESENT};
use criu_image::mm::{read_mm, write_mm, MmEntry, VmaEntry};
use criu_image::pagemap::{read_pagemap_file, write_pagemap, PagemapEntry};
use criu_image::{write_images, Pagemap, SynthSpec, SynthVma};

fn assert_crit_agrees(path: &std::path::Path, pm: &Pagemap) {
    let c = crit_pagemap(path);
    assert_eq!(c.magic, "PAGEMAP");
    assert_eq!(c.pages_id, u64::from(pm.pages_id));
    assert_eq!(c.entries.len(), pm.entries.len());
    for (i, (e, (vaddr, nr, flags, parent))) in pm.entries.iter().zip(&c.entries).enumerate() {
        assert_eq!(
            (e.vaddr, e.nr_pages, crit_flags(e.flags), e.in_parent),
            (*vaddr, *nr, flags.clone(), *parent),
            "entry {i}"
        );
    }
}

#[test]
fn crit_decodes_synthetic_pagemaps() {
    let dir = TempDir::new("crit");
    let specs = [
        SynthSpec::sparse(0x10000, 64, 3, 5, 1),
        SynthSpec::many_small(0x7f12_3456_0000, 50, 3, 2, 2),
        SynthSpec::iov_max_straddle(0x5555_0000_0000, 1100, 3),
        SynthSpec {
            vmas: vec![SynthVma::full(0xffff_f000, 0x10_0000)],
            seed: 4,
        },
    ];
    for (k, spec) in specs.iter().enumerate() {
        // A sparse layout keeps the big one quick; content does not matter to crit.
        let id = 100 + k as u32;
        let pm = if spec.present_bytes() > 64 << 20 {
            let pm = spec.pagemap(id).unwrap();
            (write_pagemap(dir.path(), id, &pm).unwrap(), pm)
        } else {
            let img = write_images(dir.path(), id, spec).unwrap();
            (img.pagemap_path, img.pagemap)
        };
        assert_crit_agrees(&pm.0, &pm.1);
    }
}

#[test]
fn crit_decodes_every_flag_combination() {
    let dir = TempDir::new("crit-flags");
    let mut entries = Vec::new();
    for (i, flags) in [PE_PRESENT, PE_LAZY, PE_LAZY | PE_PRESENT, PE_PARENT, 0]
        .into_iter()
        .enumerate()
    {
        entries.push(PagemapEntry {
            vaddr: 0x10_0000 * (i as u64 + 1),
            nr_pages: i as u64 + 1,
            in_parent: false,
            flags,
        });
    }
    entries.push(PagemapEntry {
        vaddr: 0x90_0000,
        nr_pages: 7,
        in_parent: true,
        flags: PE_PARENT,
    });
    let pm = Pagemap {
        pages_id: 4_000_000_000,
        entries,
    };
    let path = write_pagemap(dir.path(), 1, &pm).unwrap();
    assert_crit_agrees(&path, &pm);
}

#[test]
fn reader_reads_what_crit_encodes() {
    // crit writes only the old page-count field and leaves flags out where the JSON does:
    // the reader must apply CRIU's compatibility rules.
    let dir = TempDir::new("crit-enc");
    let json = r#"{"magic": "PAGEMAP", "entries": [
        {"pages_id": 12},
        {"vaddr": "0x400000", "nr_pages": 3, "flags": "PE_PRESENT"},
        {"vaddr": "0x500000", "nr_pages": 1},
        {"vaddr": "0x600000", "nr_pages": 2, "in_parent": true},
        {"vaddr": "0x700000", "nr_pages": 5, "flags": "PE_LAZY | PE_PRESENT"}
    ]}"#;
    let jpath = dir.path().join("pm.json");
    std::fs::write(&jpath, json).unwrap();
    let ipath = dir.path().join("pagemap-1.img");
    crit(&["encode", "-i", jpath.to_str().unwrap(), "-o", ipath.to_str().unwrap()]);
    let pm = read_pagemap_file(&ipath).unwrap();
    assert_eq!(pm.pages_id, 12);
    assert_eq!(
        pm.entries,
        vec![
            PagemapEntry::present(0x400000, 3),
            PagemapEntry::present(0x500000, 1),
            PagemapEntry {
                vaddr: 0x600000,
                nr_pages: 2,
                in_parent: true,
                flags: PE_PARENT
            },
            PagemapEntry {
                vaddr: 0x700000,
                nr_pages: 5,
                in_parent: false,
                flags: PE_LAZY | PE_PRESENT
            },
        ]
    );
}

#[test]
fn crit_decodes_our_mm_image() {
    let dir = TempDir::new("crit-mm");
    let mm = MmEntry {
        mm_start_code: 0x400000,
        mm_end_code: 0x401000,
        mm_start_stack: 0x7ffc_0000_0000,
        exe_file_id: 7,
        mm_saved_auxv: vec![33, 0x7fff_1234_5000, 0, 0],
        vmas: vec![
            VmaEntry {
                start: 0x400000,
                end: 0x401000,
                prot: 5,
                flags: 2,
                status: 0x41,
                fd: -1,
                ..Default::default()
            },
            VmaEntry {
                start: 0x7ffc_0000_0000,
                end: 0x7ffc_0002_1000,
                prot: 3,
                flags: 0x122,
                status: 0x203,
                fd: -1,
                madv: Some(0x10000),
                ..Default::default()
            },
        ],
        dumpable: Some(1),
        ..Default::default()
    };
    let path = write_mm(dir.path(), 5, &mm).unwrap();
    assert_eq!(read_mm(dir.path(), 5).unwrap(), mm);
    let json = crit(&["decode", "-i", path.to_str().unwrap()]);
    // Non-pretty crit prints integers in decimal.
    for needle in [
        "\"magic\": \"MM\"",
        "\"exe_file_id\": 7",
        "\"start\": 140720308486144",
        "\"end\": 140720308621312",
        "\"fd\": -1",
        "\"madv\": 65536",
        "\"dumpable\": 1",
    ] {
        assert!(json.contains(needle), "crit output lacks {needle}: {json}");
    }
    assert_eq!(json.matches("\"start\"").count(), 2);
}
