//! Reading a dump directory for compaction: the process tree, each task's VMAs and
//! pagemap, and the checks that refuse what this tool does not understand before
//! anything is touched.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use criu_image::image::ImageReader;
use criu_image::magic::{INVENTORY_MAGIC, PAGE_SIZE};
use criu_image::mm::{mm_path, read_mm, MmEntry};
use criu_image::pagemap::{pagemap_path, pages_path, read_pagemap_file, read_pagemap_strict, Pagemap};
use criu_image::pstree::read_pstree;

use super::error::{Error, Result};

/// One task of the tree that has memory in the images.
pub struct Task {
    pub pid: u32,
    pub ppid: u32,
    /// `None` when the directory has no `mm-<pid>.img`: nothing of the task is removed.
    pub mm: Option<MmEntry>,
    pub pagemap: Pagemap,
    pub pages_path: PathBuf,
    /// Pages in the pages file (its size / 4 KiB).
    pub file_pages: u64,
    /// For each pagemap entry, the pages-file page index of its first page (present
    /// entries; others get the index the next present one would have).
    pub file_first: Vec<u64>,
}

impl Task {
    /// The entry holding `addr` and the page's index in it.
    pub fn entry_at(&self, addr: u64) -> Option<(usize, u64)> {
        let es = &self.pagemap.entries;
        // Entries are ascending and disjoint (checked at load), so ends are ascending too.
        let i = es.partition_point(|e| e.vaddr + e.nr_pages * PAGE_SIZE <= addr);
        let e = es.get(i)?;
        (e.vaddr <= addr).then(|| (i, (addr - e.vaddr) / PAGE_SIZE))
    }
}

/// A dump directory, read and checked.
pub struct Dump {
    pub dir: PathBuf,
    /// Tasks with a pagemap, every parent before its children.
    pub tasks: Vec<Task>,
    /// Where the `parent` link (an incremental dump's previous images) leads.
    pub parent_dir: Option<PathBuf>,
    /// The lowest pages id no file or pagemap of the directory uses.
    pub next_pages_id: u64,
}

impl Dump {
    pub fn task(&self, pid: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.pid == pid)
    }
}

/// The number in `prefix<N>.img`.
fn numbered(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.strip_suffix(".img")?.parse().ok()
}

/// Read `dir`: refuses (touching nothing) what it does not understand.
pub fn load(dir: &Path) -> Result<Dump> {
    let meta = fs::metadata(dir).map_err(|e| Error::io(dir, "cannot read", e))?;
    if !meta.is_dir() {
        return Err(Error::new(format!("{} is not a directory", dir.display())));
    }
    let inv = dir.join("inventory.img");
    if !inv.is_file() {
        return Err(Error::new(format!(
            "{}: no inventory.img: not a CRIU dump directory (streamed images, --stream, never reach the disk)",
            dir.display()
        )));
    }
    ImageReader::open(&inv, INVENTORY_MAGIC).map_err(|e| Error::new(format!("{e}")))?;
    let pstree = read_pstree(dir)?;
    if pstree.is_empty() {
        return Err(Error::new(format!("{}: pstree.img lists no task", dir.display())));
    }

    let mut names = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot list", e))? {
        let e = e.map_err(|e| Error::io(dir, "cannot list", e))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    // Compressed pages (CRIU's LZ4 work, or forks' `pages-N.comp.img`) are not ours to parse.
    if let Some(n) = names
        .iter()
        .find(|n| n.starts_with("pages-") && !n.ends_with(".img") || n.ends_with(".lz4") || n.contains(".comp."))
    {
        return Err(Error::new(format!(
            "{}: {n} looks like compressed pages: compressed images are not supported",
            dir.display()
        )));
    }

    let parent_dir = match fs::symlink_metadata(dir.join("parent")) {
        Ok(_) => Some(fs::canonicalize(dir.join("parent")).map_err(|e| {
            Error::io(
                &dir.join("parent"),
                "the incremental dump's parent link does not resolve:",
                e,
            )
        })?),
        Err(_) => None,
    };

    // Every pages id in use: file names and what every pagemap (shmem ones too) names.
    let mut max_id = 0u64;
    let mut claimed: HashMap<u32, String> = HashMap::new();
    for n in &names {
        if let Some(id) = numbered(n, "pages-") {
            max_id = max_id.max(u64::from(id));
        }
        if n.starts_with("pagemap-") && n.ends_with(".img") {
            let pm = read_pagemap_file(dir.join(n))?;
            max_id = max_id.max(u64::from(pm.pages_id));
            if let Some(other) = claimed.insert(pm.pages_id, n.clone()) {
                return Err(Error::new(format!(
                    "{}: {n} and {other} both name pages-{}.img",
                    dir.display(),
                    pm.pages_id
                )));
            }
        }
    }

    let mut tasks = Vec::new();
    for p in &pstree {
        let pm_path = pagemap_path(dir, p.pid);
        if !pm_path.is_file() {
            continue; // a zombie or a helper: no memory
        }
        let pagemap = read_pagemap_strict(&pm_path)?;
        let mm = if mm_path(dir, p.pid).is_file() {
            Some(read_mm(dir, p.pid)?)
        } else {
            None
        };
        tasks.push(check_task(dir, p.pid, p.ppid, mm, pagemap)?);
    }
    order_parents_first(&mut tasks);
    Ok(Dump {
        dir: dir.to_path_buf(),
        tasks,
        parent_dir,
        next_pages_id: max_id + 1,
    })
}

/// Entries ascending, disjoint and inside the address space; the pages file exactly as
/// long as the present entries (anything else is a compressed or damaged image).
fn check_task(dir: &Path, pid: u32, ppid: u32, mm: Option<MmEntry>, pagemap: Pagemap) -> Result<Task> {
    let what = format!("pagemap-{pid}.img");
    let mut prev_end = 0u64;
    let mut file_first = Vec::with_capacity(pagemap.entries.len());
    let mut pages = 0u64;
    for (i, e) in pagemap.entries.iter().enumerate() {
        let end = e.end().filter(|_| e.nr_pages > 0).ok_or_else(|| {
            Error::new(format!(
                "{what}: entry {i} at {:#x} has {} pages: invalid",
                e.vaddr, e.nr_pages
            ))
        })?;
        if e.vaddr % PAGE_SIZE != 0 || e.vaddr < prev_end {
            return Err(Error::new(format!(
                "{what}: entry {i} at {:#x} is unaligned or not after the previous one",
                e.vaddr
            )));
        }
        prev_end = end;
        file_first.push(pages);
        if e.is_present() {
            pages += e.nr_pages;
        }
    }
    let pages_path = pages_path(dir, pagemap.pages_id);
    let have = match fs::metadata(&pages_path) {
        Ok(m) => m.len(),
        Err(_) if pages == 0 => 0,
        Err(e) => return Err(Error::io(&pages_path, "cannot read", e)),
    };
    if have != pages * PAGE_SIZE {
        return Err(Error::new(format!(
            "{}: {have} bytes, but {what} names {} present pages ({} bytes): compressed or damaged pages",
            pages_path.display(),
            pages,
            pages * PAGE_SIZE
        )));
    }
    if let Some(mm) = &mm {
        if mm.vmas.windows(2).any(|w| w[0].end > w[1].start) || mm.vmas.iter().any(|v| v.end <= v.start) {
            return Err(Error::new(format!("mm-{pid}.img: VMAs not sorted and disjoint")));
        }
    }
    Ok(Task {
        pid,
        ppid,
        mm,
        pagemap,
        pages_path,
        file_pages: pages,
        file_first,
    })
}

/// Sort so that a task's parent (when it has memory) comes first: a child's decisions
/// read what its parent's pages are.
fn order_parents_first(tasks: &mut [Task]) {
    let ppid: HashMap<u32, u32> = tasks.iter().map(|t| (t.pid, t.ppid)).collect();
    let depth = |mut pid: u32| {
        let mut d = 0usize;
        while let Some(&p) = ppid.get(&pid) {
            if d > ppid.len() {
                break; // a cycle in a damaged pstree: any order, decisions stay conservative
            }
            d += 1;
            pid = p;
        }
        d
    };
    let depths: HashMap<u32, usize> = tasks.iter().map(|t| (t.pid, depth(t.pid))).collect();
    tasks.sort_by_key(|t| depths[&t.pid]);
}
