//! Deciding page by page what stays, and the pagemap that describes what stayed.
//!
//! A present page is dropped when it is all zeros, its VMA restores an absent page as
//! zero ([`classify::zero_when_absent`]) and no other content can show through the hole:
//! - copy-on-write from the parent task (a child's VMA with the parent's bounds): the
//!   page the parent restores there ([`uncover`]) must be zero or absent-and-zero too;
//! - an incremental dump (a `parent` link): the previous images' page at that address
//!   ([`ParentChain`]) must be absent or zero.
//!
//! CRIU 4.1.1 itself shows neither through a hole (it drops a child's inherited pages
//! that the child's image lacks with MADV_DONTNEED, and reads the previous images only
//! for `PE_PARENT` entries), so these rules cost nothing there; they keep the result
//! right for any restorer that does. Whatever cannot be decided keeps the page.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use criu_image::magic::PAGE_SIZE;
use criu_image::pagemap::{pagemap_path, pages_path, read_pagemap_strict, Pagemap, PagemapEntry};

use super::classify::{cow_source, vma_at, zero_when_absent};
use super::load::{Dump, Task};
use super::scan::is_zero;

/// What a restore shows at an address of a task where its child has a hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shows {
    Zero,
    Data,
    Unknown,
}

/// The zero bits of the tasks scanned so far, by pid, indexed by pages-file page.
pub type ZeroMaps = HashMap<u32, Vec<bool>>;

/// Conservative chain length: deeper trees keep their pages.
const MAX_DEPTH: usize = 64;

/// What `pid`'s restore shows at `addr`, assuming a hole shows what the task's parent
/// shows (the copy-on-write chain), and that `pid` was scanned.
pub fn uncover(dump: &Dump, zeros: &ZeroMaps, pid: u32, addr: u64, depth: usize) -> Shows {
    let (Some(t), Some(z)) = (dump.task(pid), zeros.get(&pid)) else {
        return Shows::Unknown;
    };
    if depth > MAX_DEPTH {
        return Shows::Unknown;
    }
    if let Some((i, k)) = t.entry_at(addr) {
        let e = &t.pagemap.entries[i];
        if !e.is_present() {
            return Shows::Unknown; // in a previous snapshot, or served lazily from elsewhere
        }
        return match z.get((t.file_first[i] + k) as usize) {
            Some(true) => Shows::Zero,
            Some(false) => Shows::Data,
            None => Shows::Unknown,
        };
    }
    let Some(mm) = &t.mm else {
        return Shows::Unknown;
    };
    match vma_at(&mm.vmas, addr) {
        Some(v) if zero_when_absent(v) => match cow_parent(dump, t, v) {
            Some(ppid) => uncover(dump, zeros, ppid, addr, depth + 1),
            None => Shows::Zero,
        },
        _ => Shows::Unknown,
    }
}

/// The parent task `v` of `t` may be copy-on-write inherited from.
fn cow_parent(dump: &Dump, t: &Task, v: &criu_image::mm::VmaEntry) -> Option<u32> {
    let p = dump.task(t.ppid).filter(|p| p.pid != t.pid)?;
    match &p.mm {
        Some(pmm) => cow_source(&pmm.vmas, v).map(|_| p.pid),
        // A parent whose layout is unknown: assume the worst, a link.
        None => Some(p.pid),
    }
}

/// For each page of `t`'s pages file: whether it may go if it is zero (VMA rule and
/// copy-on-write rule; the incremental rule comes later, for zero pages only).
pub fn droppable(dump: &Dump, zeros: &ZeroMaps, t: &Task) -> Vec<bool> {
    let mut out = vec![false; t.file_pages as usize];
    let Some(mm) = &t.mm else {
        return out;
    };
    for (i, e) in t.pagemap.entries.iter().enumerate() {
        if !e.is_present() {
            continue;
        }
        for k in 0..e.nr_pages {
            let addr = e.vaddr + k * PAGE_SIZE;
            let ok = match vma_at(&mm.vmas, addr) {
                Some(v) if zero_when_absent(v) => match cow_parent(dump, t, v) {
                    Some(ppid) => uncover(dump, zeros, ppid, addr, 0) == Shows::Zero,
                    None => true,
                },
                _ => false,
            };
            out[(t.file_first[i] + k) as usize] = ok;
        }
    }
    out
}

/// The address of pages-file page `page` of `t`.
pub fn addr_of(t: &Task, page: u64) -> Option<u64> {
    let es = &t.pagemap.entries;
    let i = t.file_first.partition_point(|&f| f <= page).checked_sub(1)?;
    // Non-present entries share the index of the next present one: step back to it.
    let i = (0..=i).rev().find(|&j| es[j].is_present() && t.file_first[j] <= page)?;
    let k = page - t.file_first[i];
    (k < es[i].nr_pages).then(|| es[i].vaddr + k * PAGE_SIZE)
}

/// One level of an incremental dump's previous images.
struct Level {
    dir: PathBuf,
    pagemap: Pagemap,
    first: Vec<u64>,
    pages: Option<File>,
}

/// The previous images of an incremental dump, for one task (its pagemap id), followed
/// through `parent` links as CRIU does for `PE_PARENT` entries.
pub struct ParentChain {
    levels: Vec<Option<Level>>,
    start: PathBuf,
    id: u32,
}

impl ParentChain {
    pub fn new(parent_dir: PathBuf, id: u32) -> ParentChain {
        ParentChain {
            levels: Vec::new(),
            start: parent_dir,
            id,
        }
    }

    /// Level `n` (0: the first parent), opened on first use; `None` where it cannot be
    /// read (then nothing that depends on it is dropped).
    fn level(&mut self, n: usize) -> Option<&mut Level> {
        while self.levels.len() <= n {
            let dir = match self.levels.last() {
                None => Some(self.start.clone()),
                Some(Some(l)) => std::fs::canonicalize(l.dir.join("parent")).ok(),
                Some(None) => None,
            };
            let level = dir.and_then(|dir| {
                let pagemap = read_pagemap_strict(pagemap_path(&dir, self.id)).ok()?;
                let mut first = Vec::with_capacity(pagemap.entries.len());
                let mut acc = 0u64;
                for e in &pagemap.entries {
                    first.push(acc);
                    if e.is_present() {
                        acc = acc.checked_add(e.nr_pages)?;
                    }
                }
                let pages = File::open(pages_path(&dir, pagemap.pages_id)).ok();
                Some(Level {
                    dir,
                    pagemap,
                    first,
                    pages,
                })
            });
            self.levels.push(level);
        }
        self.levels[n].as_mut()
    }

    /// Whether the previous images hold nothing but zeros at `addr` (absent, or a zero
    /// page); false when unsure.
    pub fn zero_or_absent(&mut self, addr: u64) -> bool {
        for n in 0..MAX_DEPTH {
            let Some(l) = self.level(n) else {
                return false;
            };
            let es = &l.pagemap.entries;
            let i = es.partition_point(|e| e.end().is_some_and(|end| end <= addr));
            let Some(e) = es.get(i).filter(|e| e.vaddr <= addr) else {
                return true; // not in that snapshot: it restores nothing there
            };
            if e.is_in_parent() {
                continue;
            }
            if !e.is_present() {
                return false;
            }
            let off = (l.first[i] + (addr - e.vaddr) / PAGE_SIZE) * PAGE_SIZE;
            let mut page = vec![0u8; PAGE_SIZE as usize];
            return match &l.pages {
                Some(f) => f.read_exact_at(&mut page, off).is_ok() && is_zero(&page),
                None => false,
            };
        }
        false
    }
}

/// `pm` with only the pages-file pages `keep` marks, naming `pages_id`: each present
/// entry split around the dropped runs, each piece with the entry's flags; other entries
/// as they were. Pieces of different entries are not merged: the entry boundaries are
/// CRIU's.
pub fn rewrite(pm: &Pagemap, keep: &[bool], pages_id: u32) -> Pagemap {
    let mut entries = Vec::with_capacity(pm.entries.len());
    let mut page = 0usize;
    for e in &pm.entries {
        if !e.is_present() {
            entries.push(*e);
            continue;
        }
        let mut run: Option<(u64, u64)> = None;
        for k in 0..e.nr_pages {
            if keep[page] {
                run = Some(match run {
                    Some((s, n)) => (s, n + 1),
                    None => (k, 1),
                });
            } else if let Some((s, n)) = run.take() {
                entries.push(piece(e, s, n));
            }
            page += 1;
        }
        if let Some((s, n)) = run {
            entries.push(piece(e, s, n));
        }
    }
    Pagemap { pages_id, entries }
}

fn piece(e: &PagemapEntry, first: u64, n: u64) -> PagemapEntry {
    PagemapEntry {
        vaddr: e.vaddr + first * PAGE_SIZE,
        nr_pages: n,
        ..*e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use criu_image::magic::{PE_LAZY, PE_PARENT, PE_PRESENT};

    fn entry(vaddr: u64, nr_pages: u64, flags: u32) -> PagemapEntry {
        PagemapEntry {
            vaddr,
            nr_pages,
            in_parent: false,
            flags,
        }
    }

    #[test]
    fn rewrite_splits_and_keeps_flags() {
        let pm = Pagemap {
            pages_id: 1,
            entries: vec![
                entry(0x10000, 4, PE_PRESENT | PE_LAZY),
                entry(0x20000, 2, PE_PARENT),
                entry(0x30000, 3, PE_PRESENT),
            ],
        };
        let keep = [true, false, false, true, false, false, false];
        let out = rewrite(&pm, &keep, 9);
        assert_eq!(out.pages_id, 9);
        assert_eq!(
            out.entries,
            vec![
                entry(0x10000, 1, PE_PRESENT | PE_LAZY),
                entry(0x13000, 1, PE_PRESENT | PE_LAZY),
                entry(0x20000, 2, PE_PARENT),
            ]
        );
        let all = rewrite(&pm, &[true; 7], 2);
        assert_eq!(all.entries, pm.entries);
    }
}
