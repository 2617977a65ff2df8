//! `criu-pie compact` on synthetic dumps (written with the `criu-image` crate): every
//! rule, checked against a model of what a restore shows, page by page, before and after;
//! crit's decoding of the result; refusals that touch nothing; and a run killed after
//! each of its steps (and failed by a full disk at several points), the directory
//! restoring the same every time.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use criu_image::image::ImageWriter;
use criu_image::magic::{INVENTORY_MAGIC, PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT};
use criu_image::mm::{
    read_mm, write_mm, MmEntry, VmaEntry, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, VMA_ANON_PRIVATE, VMA_ANON_SHARED,
    VMA_AREA_HEAP, VMA_AREA_REGULAR, VMA_AREA_VDSO, VMA_FILE_PRIVATE,
};
use criu_image::pagemap::{pages_path, read_pagemap, write_pagemap, Pagemap, PagemapEntry};
use criu_image::pstree::{read_pstree, write_pstree, PstreeEntry};

const P: u64 = PAGE_SIZE;
const ANON: u32 = MAP_PRIVATE | MAP_ANONYMOUS;
const ANON_ST: u32 = VMA_AREA_REGULAR | VMA_ANON_PRIVATE;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_criu-pie")
}

fn tmp(tag: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("compact-{tag}"));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// A page's content in a spec: zeros, or data made from a tag.
#[derive(Clone, Copy, Debug)]
enum C {
    Z,
    D(u8),
}

fn page_bytes(c: C, addr: u64) -> Vec<u8> {
    match c {
        C::Z => vec![0; P as usize],
        C::D(t) => {
            let mut v = vec![t; P as usize];
            v[..8].copy_from_slice(&addr.to_le_bytes());
            v
        }
    }
}

/// A task: VMAs `(start, pages, status, flags)` and pagemap entries `(vaddr, flags,
/// contents)` (contents only for present entries; a PE_PARENT entry lists `n` pages as
/// `C::Z` placeholders).
struct TaskSpec {
    pid: u32,
    ppid: u32,
    vmas: Vec<(u64, u64, u32, u32)>,
    entries: Vec<(u64, u32, Vec<C>)>,
}

fn write_dump(dir: &Path, tasks: &[TaskSpec]) {
    fs::create_dir_all(dir).unwrap();
    ImageWriter::create(dir.join("inventory.img"), INVENTORY_MAGIC)
        .unwrap()
        .finish()
        .unwrap();
    let pst: Vec<PstreeEntry> = tasks
        .iter()
        .map(|t| PstreeEntry {
            pid: t.pid,
            ppid: t.ppid,
            pgid: t.pid,
            sid: 1,
            threads: vec![t.pid],
        })
        .collect();
    write_pstree(dir, &pst).unwrap();
    for (k, t) in tasks.iter().enumerate() {
        let mm = MmEntry {
            exe_file_id: 1,
            vmas: t
                .vmas
                .iter()
                .map(|&(start, pages, status, flags)| VmaEntry {
                    start,
                    end: start + pages * P,
                    status,
                    flags,
                    prot: 3,
                    fd: -1,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        write_mm(dir, t.pid, &mm).unwrap();
        let pages_id = 1 + k as u32;
        let mut data = Vec::new();
        let entries = t
            .entries
            .iter()
            .map(|(va, flags, cs)| {
                if flags & PE_PRESENT != 0 {
                    for (i, c) in cs.iter().enumerate() {
                        data.extend(page_bytes(*c, va + i as u64 * P));
                    }
                }
                PagemapEntry {
                    vaddr: *va,
                    nr_pages: cs.len() as u64,
                    in_parent: false,
                    flags: *flags,
                }
            })
            .collect();
        write_pagemap(dir, t.pid, &Pagemap { pages_id, entries }).unwrap();
        fs::write(pages_path(dir, pages_id), data).unwrap();
    }
}

/// What a restore shows, page by page, for every VMA of every task: the bytes, or
/// `FILE` where a private file mapping's page would be read from its file. Absent pages
/// of private anonymous VMAs show, in this order: the previous snapshot's page (an
/// incremental dump's `parent` link), the parent task's page (a copy-on-write VMA of the
/// same bounds), else zeros: the most any restorer could show there.
fn restored(dir: &Path) -> BTreeMap<(u32, u64), Vec<u8>> {
    let mut m = Model::default();
    let mut out = BTreeMap::new();
    for t in read_pstree(dir).unwrap() {
        let mm = read_mm(dir, t.pid).unwrap();
        for v in &mm.vmas {
            for a in (v.start..v.end).step_by(P as usize) {
                out.insert((t.pid, a), m.view(dir, t.pid, a, 0));
            }
        }
    }
    out
}

/// A task's images as the model uses them: pagemap, each entry's offset in the pages
/// file, the pages, the VMAs, the parent's PID.
type TaskImages = (Pagemap, Vec<u64>, Vec<u8>, MmEntry, u32);

/// The images of the directories a model reads, read once.
#[derive(Default)]
struct Model {
    tasks: BTreeMap<(PathBuf, u32), TaskImages>,
}

impl Model {
    fn task(&mut self, dir: &Path, pid: u32) -> Option<&TaskImages> {
        let key = (dir.to_path_buf(), pid);
        if !self.tasks.contains_key(&key) {
            let pm = read_pagemap(dir, pid).ok()?;
            let mut offs = Vec::new();
            let mut off = 0;
            for e in &pm.entries {
                offs.push(off);
                if e.is_present() {
                    off += e.nr_pages * P;
                }
            }
            let data = fs::read(pages_path(dir, pm.pages_id)).unwrap_or_default();
            let mm = read_mm(dir, pid).unwrap();
            let ppid = read_pstree(dir)
                .unwrap()
                .into_iter()
                .find(|t| t.pid == pid)
                .unwrap()
                .ppid;
            self.tasks.insert(key.clone(), (pm, offs, data, mm, ppid));
        }
        self.tasks.get(&key)
    }

    fn view(&mut self, dir: &Path, pid: u32, addr: u64, depth: usize) -> Vec<u8> {
        assert!(depth < 16);
        let (pm, offs, data, mm, ppid) = self.task(dir, pid).unwrap();
        let i = pm.entries.partition_point(|e| e.vaddr + e.nr_pages * P <= addr);
        if let Some(e) = pm.entries.get(i).filter(|e| e.vaddr <= addr) {
            if e.is_in_parent() {
                return self.view(&dir.join("parent"), pid, addr, depth + 1);
            }
            let at = (offs[i] + addr - e.vaddr) as usize;
            return data[at..at + P as usize].to_vec();
        }
        let v = *mm.vmas.iter().find(|v| (v.start..v.end).contains(&addr)).unwrap();
        let ppid = *ppid;
        if v.status & VMA_FILE_PRIVATE != 0 || v.flags & MAP_SHARED != 0 {
            return b"FILE".to_vec();
        }
        let prev = dir.join("parent");
        if prev.exists() {
            if let Some((ppm, ..)) = self.task(&prev, pid) {
                if ppm
                    .entries
                    .iter()
                    .any(|e| (e.vaddr..e.vaddr + e.nr_pages * P).contains(&addr))
                {
                    return self.view(&prev, pid, addr, depth + 1);
                }
            }
        }
        if let Some((_, _, _, pmm, _)) = self.task(dir, ppid) {
            if pmm.vmas.iter().any(|p| p.start == v.start && p.end == v.end) {
                return self.view(dir, ppid, addr, depth + 1);
            }
        }
        vec![0; P as usize]
    }
}

fn compact(dir: &Path, extra: &[&str], env: Option<&str>) -> std::process::Output {
    let mut c = Command::new(bin());
    c.arg("compact").arg(dir).args(extra);
    match env {
        Some(v) => c.env("CRIU_PIE_COMPACT_FAULT", v),
        None => c.env_remove("CRIU_PIE_COMPACT_FAULT"),
    };
    c.output().unwrap()
}

fn compact_ok(dir: &Path, extra: &[&str]) -> String {
    let out = compact(dir, extra, None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "compact failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Only images: no journal, no temporary pagemap, and each pages file one a pagemap names.
fn assert_clean(dir: &Path) {
    let names: Vec<String> = snapshot(dir).into_keys().collect();
    assert!(
        !names.iter().any(|n| n.contains("compact")),
        "leftovers in {}: {names:?}",
        dir.display()
    );
    for n in names.iter().filter(|n| n.starts_with("pages-")) {
        let id: u32 = n[6..n.len() - 4].parse().unwrap();
        let named = read_pstree(dir)
            .unwrap()
            .iter()
            .any(|t| read_pagemap(dir, t.pid).unwrap().pages_id == id);
        assert!(named, "{n} is named by no pagemap");
    }
}

fn entries(dir: &Path, pid: u32) -> Vec<(u64, u64, u32)> {
    read_pagemap(dir, pid)
        .unwrap()
        .entries
        .iter()
        .map(|e| (e.vaddr, e.nr_pages, e.flags))
        .collect()
}

const LP: u32 = PE_LAZY | PE_PRESENT;

/// One task: anonymous memory (lazy-flagged, zero runs inside and at the ends), the
/// heap, a private file mapping, shared anonymous memory and the vDSO, each with zeros.
fn one_task() -> Vec<TaskSpec> {
    use C::*;
    vec![TaskSpec {
        pid: 10,
        ppid: 0,
        vmas: vec![
            (0x10000, 16, ANON_ST, ANON),
            (0x40000, 4, ANON_ST | VMA_AREA_HEAP, ANON),
            (0x50000, 4, VMA_AREA_REGULAR | VMA_FILE_PRIVATE, MAP_PRIVATE),
            (
                0x60000,
                2,
                VMA_AREA_REGULAR | VMA_ANON_SHARED,
                MAP_SHARED | MAP_ANONYMOUS,
            ),
            (0x70000, 2, ANON_ST | VMA_AREA_VDSO, ANON),
        ],
        entries: vec![
            (0x10000, LP, vec![Z, D(1), D(2), Z, Z, D(3), Z]),
            (0x18000, PE_PRESENT, vec![Z, Z]),
            (0x1c000, LP, vec![D(4), Z]),
            (0x40000, PE_PRESENT, vec![Z, D(5), Z, Z]),
            (0x50000, PE_PRESENT, vec![Z, D(6)]),
            (0x60000, PE_PRESENT, vec![Z]),
            (0x70000, PE_PRESENT, vec![Z, D(7)]),
        ],
    }]
}

#[test]
fn zero_pages_of_private_anonymous_memory_go_and_nothing_else() {
    let dir = tmp("one");
    write_dump(&dir, &one_task());
    let before = restored(&dir);
    let text = compact_ok(&dir, &[]);
    assert!(text.contains("compacted:"), "{text}");
    assert_eq!(restored(&dir), before);
    assert_clean(&dir);
    assert_eq!(
        entries(&dir, 10),
        vec![
            (0x11000, 2, LP),
            (0x15000, 1, LP),
            (0x1c000, 1, LP),
            (0x41000, 1, PE_PRESENT),
            (0x50000, 2, PE_PRESENT),
            (0x60000, 1, PE_PRESENT),
            (0x70000, 2, PE_PRESENT),
        ]
    );
    // The pages file: exactly the remaining pages, in pagemap order.
    let pm = read_pagemap(&dir, 10).unwrap();
    assert_ne!(pm.pages_id, 1, "a new pages id");
    let data = fs::read(pages_path(&dir, pm.pages_id)).unwrap();
    let mut want = Vec::new();
    for (va, c) in [
        (0x11000, C::D(1)),
        (0x12000, C::D(2)),
        (0x15000, C::D(3)),
        (0x1c000, C::D(4)),
        (0x41000, C::D(5)),
        (0x50000, C::Z),
        (0x51000, C::D(6)),
        (0x60000, C::Z),
        (0x70000, C::Z),
        (0x71000, C::D(7)),
    ] {
        want.extend(page_bytes(c, va));
    }
    assert!(data == want, "pages file content");
    // crit reads the result and agrees.
    assert_crit_agrees(&dir, 10);
    // Again: nothing left to remove, nothing changes.
    let snap = snapshot(&dir);
    let text = compact_ok(&dir, &[]);
    assert!(text.contains("(0 bytes"), "{text}");
    assert_eq!(snapshot(&dir), snap);
}

fn assert_crit_agrees(dir: &Path, pid: u32) {
    let out = Command::new("crit")
        .args(["decode", "-i"])
        .arg(dir.join(format!("pagemap-{pid}.img")))
        .output()
        .expect("crit (Debian package criu) runs");
    assert!(out.status.success(), "crit: {}", String::from_utf8_lossy(&out.stderr));
    let json = String::from_utf8(out.stdout).unwrap();
    let pm = read_pagemap(dir, pid).unwrap();
    assert!(json.contains(&format!("{{\"pages_id\": {}}}", pm.pages_id)), "{json}");
    // Without --pretty crit prints every field as a number: vaddr, nr_pages, flags.
    let field = |name: &str| -> Vec<u64> {
        json.split(&format!("\"{name}\": "))
            .skip(1)
            .map(|s| s.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(field("vaddr"), pm.entries.iter().map(|e| e.vaddr).collect::<Vec<_>>());
    assert_eq!(
        field("nr_pages"),
        pm.entries.iter().map(|e| e.nr_pages).collect::<Vec<_>>()
    );
    assert_eq!(
        field("flags"),
        pm.entries.iter().map(|e| u64::from(e.flags)).collect::<Vec<_>>()
    );
}

#[test]
fn dry_run_reports_the_same_saving_and_writes_nothing() {
    let dir = tmp("dry");
    write_dump(&dir, &one_task());
    let snap = snapshot(&dir);
    let dry = compact_ok(&dir, &["--dry-run"]);
    assert_eq!(snapshot(&dir), snap, "a dry run changed the directory");
    let real = compact_ok(&dir, &["--threads", "3"]);
    let last = |t: &str| t.lines().last().unwrap().split(" in ").next().unwrap().to_string();
    assert!(dry.contains("would compact:"), "{dry}");
    assert_eq!(
        last(&dry).replace("would compact:", "").replace("would be saved", ""),
        last(&real).replace("compacted:", "").replace("saved", "")
    );
    // 20 pages, of which the 10 zero ones of private anonymous memory (not the vDSO's)
    // go.
    assert!(real.contains("81920 -> 40960 bytes"), "{real}");
}

/// A forked child's VMAs of its parent's bounds restore copy-on-write from the parent:
/// a zero page of the child goes only where the parent shows zeros too.
#[test]
fn a_child_keeps_zero_pages_over_its_parents_data() {
    use C::*;
    let dir = tmp("cow");
    let vmas = vec![(0x10000, 8, ANON_ST, ANON), (0x30000, 2, ANON_ST, ANON)];
    let tasks = vec![
        TaskSpec {
            pid: 20,
            ppid: 0,
            vmas: vmas.clone(),
            // Page 6 absent in the parent (zero there), page 7 absent too.
            entries: vec![
                (0x10000, LP, vec![D(1), D(2), Z, Z, D(3), Z]),
                (0x30000, LP, vec![D(9)]),
            ],
        },
        TaskSpec {
            pid: 21,
            ppid: 20,
            // 0x30000 differs in bounds from the parent's: not copy-on-write.
            vmas: vec![(0x10000, 8, ANON_ST, ANON), (0x30000, 1, ANON_ST, ANON)],
            entries: vec![
                (0x10000, LP, vec![Z, D(2), Z, D(4), Z, Z, Z, Z]),
                (0x30000, LP, vec![Z]),
            ],
        },
        TaskSpec {
            pid: 22,
            ppid: 21,
            vmas: vec![(0x10000, 8, ANON_ST, ANON)],
            // Over 21's pages, which show through 22's holes in turn.
            entries: vec![(0x10000, LP, vec![Z, Z, Z, Z])],
        },
    ];
    write_dump(&dir, &tasks);
    let before = restored(&dir);
    compact_ok(&dir, &[]);
    assert_eq!(restored(&dir), before);
    assert_clean(&dir);
    // Parent: its zero pages go.
    assert_eq!(
        entries(&dir, 20),
        vec![(0x10000, 2, LP), (0x14000, 1, LP), (0x30000, 1, LP)]
    );
    // Child: page 0 (over data 1) stays, page 2 and 3's neighbour... 2 (over zero) goes, 4
    // (over data 3) stays, 5 (over zero), 6 and 7 (over absent) go; 0x30000 not COW: goes.
    assert_eq!(entries(&dir, 21), vec![(0x10000, 2, LP), (0x13000, 2, LP)]);
    // Grandchild: page 0 over 21's kept zero page (which shows zero): goes; page 1 over
    // 21's data 2: stays; page 2 over zero: goes; page 3 over 21's data 4: stays.
    assert_eq!(entries(&dir, 22), vec![(0x11000, 1, LP), (0x13000, 1, LP)]);
}

/// An incremental dump: `PE_PARENT` entries stay as they are; a zero page goes only
/// where the previous images hold zeros or nothing.
#[test]
fn an_incremental_dump_keeps_zero_pages_over_older_data() {
    use C::*;
    let root = tmp("incr");
    let prev = root.join("1");
    let cur = root.join("2");
    let vmas = vec![(0x10000, 8, ANON_ST, ANON)];
    write_dump(
        &prev,
        &[TaskSpec {
            pid: 30,
            ppid: 0,
            vmas: vmas.clone(),
            entries: vec![(0x10000, PE_PRESENT, vec![D(1), Z, D(2), D(3)])],
        }],
    );
    write_dump(
        &cur,
        &[TaskSpec {
            pid: 30,
            ppid: 0,
            vmas,
            entries: vec![
                (0x10000, PE_PRESENT, vec![Z, Z]),    // over data 1: stays; over zero: goes
                (0x12000, PE_PARENT, vec![Z]),        // data 2, in the parent
                (0x13000, PE_PRESENT, vec![Z, Z, Z]), // over data 3: stays; over nothing: go
            ],
        }],
    );
    std::os::unix::fs::symlink("../1", cur.join("parent")).unwrap();
    let before = restored(&cur);
    let prev_snap = snapshot(&prev);
    compact_ok(&cur, &[]);
    assert_eq!(restored(&cur), before);
    assert_eq!(snapshot(&prev), prev_snap, "the previous images are never touched");
    assert_eq!(
        entries(&cur, 30),
        vec![
            (0x10000, 1, PE_PRESENT),
            (0x12000, 1, PE_PARENT),
            (0x13000, 1, PE_PRESENT)
        ]
    );
}

#[test]
fn what_it_does_not_understand_is_refused_untouched() {
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Damage, &str)> = vec![
        (
            "magic",
            Box::new(|d: &Path| {
                let p = d.join("pagemap-10.img");
                let mut b = fs::read(&p).unwrap();
                b[4] ^= 0xff;
                fs::write(&p, b).unwrap();
            }),
            "bad magic",
        ),
        (
            "flag",
            Box::new(|d: &Path| {
                let mut pm = read_pagemap(d, 10).unwrap();
                pm.entries[1].flags |= 1 << 5;
                write_pagemap(d, 10, &pm).unwrap();
            }),
            "unknown",
        ),
        (
            "compressed",
            Box::new(|d: &Path| {
                let p = pages_path(d, 1);
                let b = fs::read(&p).unwrap();
                fs::write(&p, &b[..b.len() - 100]).unwrap();
            }),
            "compressed or damaged",
        ),
        (
            "comp-file",
            Box::new(|d: &Path| fs::write(d.join("pages-1.comp.img"), b"x").unwrap()),
            "compressed",
        ),
        (
            "stream",
            Box::new(|d: &Path| fs::remove_file(d.join("inventory.img")).unwrap()),
            "--stream",
        ),
        (
            "journal",
            Box::new(|d: &Path| fs::write(d.join(".criu-pie-compact.journal"), b"something else\n").unwrap()),
            "not a journal",
        ),
    ];
    for (tag, damage, says) in cases {
        let dir = tmp(&format!("refuse-{tag}"));
        write_dump(&dir, &one_task());
        damage(&dir);
        let snap = snapshot(&dir);
        for extra in [&[][..], &["--dry-run"][..]] {
            let out = compact(&dir, extra, None);
            let err = String::from_utf8_lossy(&out.stderr);
            if tag == "journal" && !extra.is_empty() {
                // A dry run does not clean up; it says so and goes on.
                assert!(out.status.success(), "{tag}: {err}");
                continue;
            }
            assert!(!out.status.success(), "{tag} {extra:?}: accepted");
            assert!(err.contains(says), "{tag}: {err}");
            assert_eq!(snapshot(&dir), snap, "{tag}: the directory changed");
        }
    }
}

/// Two tasks (a parent and its copy-on-write child) and 65 MiB of data in the parent, so
/// that the new pages file's writes count as steps too.
fn crash_dump(dir: &Path) {
    use C::*;
    let big = 65 * 256; // pages
    let mut parent_pages: Vec<C> = (0..big)
        .map(|i| if i % 5 == 0 { Z } else { D(1 + (i % 7) as u8) })
        .collect();
    parent_pages.extend([Z; 300]);
    let vmas = vec![
        (0x1000_0000, big as u64 + 300, ANON_ST, ANON),
        (0x4000_0000, 4, ANON_ST, ANON),
    ];
    write_dump(
        dir,
        &[
            TaskSpec {
                pid: 40,
                ppid: 0,
                vmas: vmas.clone(),
                entries: vec![
                    (0x1000_0000, LP, parent_pages),
                    (0x4000_0000, LP, vec![D(3), Z, Z, D(4)]),
                ],
            },
            TaskSpec {
                pid: 41,
                ppid: 40,
                vmas,
                entries: vec![
                    (0x1000_0000, LP, vec![Z, Z, D(9), Z]),
                    (0x4000_0000, LP, vec![Z, Z, Z, Z]),
                ],
            },
        ],
    );
}

#[test]
fn a_run_killed_after_any_step_leaves_a_directory_that_restores_the_same() {
    let orig = tmp("crash-orig");
    crash_dump(&orig);
    let want = restored(&orig);
    let work = tmp("crash-work");
    let copy = |from: &Path, to: &Path| {
        let _ = fs::remove_dir_all(to);
        fs::create_dir_all(to).unwrap();
        for (n, b) in snapshot(from) {
            fs::write(to.join(n), b).unwrap();
        }
    };
    let mut stopped = 0;
    for n in 1.. {
        copy(&orig, &work);
        let out = compact(&work, &[], Some(&format!("stop:{n}")));
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            break;
        }
        assert!(err.contains(&format!("stopped after step {n}")), "step {n}: {err}");
        stopped += 1;
        assert!(
            restored(&work) == want,
            "after a kill at step {n}: not the same process"
        );
        // The next run cleans up and finishes.
        compact_ok(&work, &[]);
        assert!(restored(&work) == want, "step {n}, then a full run");
        assert_clean(&work);
        assert!(n < 100, "no end to the steps");
    }
    assert!(stopped >= 12, "only {stopped} steps");
    // A full disk: the directory is left exactly as it was.
    // The journal (80 bytes), the kept pages (13314 of the parent's, 5 of the child's),
    // then 10 bytes into the first new pagemap.
    let at_commit = 80 + (13314 + 5) * P + 10;
    for budget in [0u64, 100, 4096, 10 << 20, 40 << 20, at_commit] {
        copy(&orig, &work);
        let snap = snapshot(&work);
        let out = compact(&work, &[], Some(&format!("enospc:{budget}")));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "enospc:{budget} succeeded");
        assert!(err.contains("No space left") && err.contains("as it was"), "{err}");
        assert!(snapshot(&work) == snap, "enospc:{budget}: the directory changed");
        if budget == at_commit {
            assert!(err.contains("pagemap-40.img.compact-tmp"), "not at the commit: {err}");
        }
    }
}
