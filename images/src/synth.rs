//! Synthetic CRIU images for tests and benchmarks.
//!
//! A [`SynthSpec`] lists VMAs and which of their pages are present; [`write_images`]
//! writes `pagemap-<id>.img` (CRIU format) and the raw `pages-<pages_id>.img` whose
//! contents are a deterministic function of the seed and the address: the 8-byte
//! little-endian word at (8-aligned) address `a` is [`pattern_word`]`(seed, a)`, so a
//! verifier can check any byte without keeping the image.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::magic::{MAX_IOVS_PER_RECORD, PAGE_SIZE};
use crate::pagemap::{pages_path, write_pagemap, Pagemap, PagemapEntry};
use crate::records::{VmaMap, MAX_USER_ADDR};

/// SplitMix64's output function.
#[inline]
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The pattern's 8-byte word at address `addr` (8-aligned; the low 3 bits are ignored).
#[inline]
pub fn pattern_word(seed: u64, addr: u64) -> u64 {
    splitmix64(seed ^ (addr & !7))
}

/// The pattern's byte at address `addr`.
#[inline]
pub fn pattern_byte(seed: u64, addr: u64) -> u8 {
    (pattern_word(seed, addr) >> ((addr & 7) * 8)) as u8
}

/// Fill `buf` with the pattern of the bytes at `vaddr..vaddr + buf.len()`.
pub fn fill_pattern(seed: u64, vaddr: u64, buf: &mut [u8]) {
    let head = (vaddr.wrapping_neg() & 7).min(buf.len() as u64) as usize;
    let (h, rest) = buf.split_at_mut(head);
    for (i, b) in h.iter_mut().enumerate() {
        *b = pattern_byte(seed, vaddr + i as u64);
    }
    let base = vaddr.wrapping_add(head as u64);
    let mut chunks = rest.chunks_exact_mut(8);
    let mut a = base;
    for c in &mut chunks {
        c.copy_from_slice(&pattern_word(seed, a).to_le_bytes());
        a = a.wrapping_add(8);
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b = pattern_byte(seed, a.wrapping_add(i as u64));
    }
}

/// The offset of the first byte of `buf` that is not the pattern at `vaddr..`, if any.
pub fn check_pattern(seed: u64, vaddr: u64, buf: &[u8]) -> Option<usize> {
    let head = (vaddr.wrapping_neg() & 7).min(buf.len() as u64) as usize;
    for (i, b) in buf[..head].iter().enumerate() {
        if *b != pattern_byte(seed, vaddr + i as u64) {
            return Some(i);
        }
    }
    let mut a = vaddr.wrapping_add(head as u64);
    let mut chunks = buf[head..].chunks_exact(8);
    for (k, c) in (&mut chunks).enumerate() {
        if u64::from_le_bytes(c.try_into().expect("8 bytes")) != pattern_word(seed, a) {
            let w = pattern_word(seed, a).to_le_bytes();
            let j = (0..8).find(|&j| c[j] != w[j]).unwrap_or(0);
            return Some(head + 8 * k + j);
        }
        a = a.wrapping_add(8);
    }
    let done = buf.len() - chunks.remainder().len();
    for (i, b) in chunks.remainder().iter().enumerate() {
        if *b != pattern_byte(seed, a.wrapping_add(i as u64)) {
            return Some(done + i);
        }
    }
    None
}

/// Threads worth using for pattern work on this machine.
fn pattern_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(16)
}

/// Split `len` bytes at `vaddr` into `parts` pieces on page boundaries of the address.
fn split_points(vaddr: u64, len: usize, parts: usize) -> Vec<usize> {
    let per = (len / parts.max(1)).next_multiple_of(P as usize).max(P as usize);
    let head = ((P - vaddr % P) % P) as usize;
    let mut cuts = vec![0];
    let mut at = head.min(len);
    if at > 0 {
        cuts.push(at);
    }
    while at + per < len {
        at += per;
        cuts.push(at);
    }
    cuts.push(len);
    cuts.dedup();
    cuts
}

/// [`fill_pattern`] on all cores, for large buffers.
pub fn fill_pattern_parallel(seed: u64, vaddr: u64, buf: &mut [u8]) {
    let threads = pattern_threads();
    if threads < 2 || buf.len() < (1 << 20) {
        return fill_pattern(seed, vaddr, buf);
    }
    let cuts = split_points(vaddr, buf.len(), threads);
    std::thread::scope(|s| {
        let mut rest = buf;
        for w in cuts.windows(2) {
            let (piece, tail) = rest.split_at_mut(w[1] - w[0]);
            rest = tail;
            let va = vaddr + w[0] as u64;
            s.spawn(move || fill_pattern(seed, va, piece));
        }
    });
}

/// [`check_pattern`] on all cores, for large buffers.
pub fn check_pattern_parallel(seed: u64, vaddr: u64, buf: &[u8]) -> Option<usize> {
    let threads = pattern_threads();
    if threads < 2 || buf.len() < (1 << 20) {
        return check_pattern(seed, vaddr, buf);
    }
    let cuts = split_points(vaddr, buf.len(), threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = cuts
            .windows(2)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                s.spawn(move || check_pattern(seed, vaddr + a as u64, &buf[a..b]).map(|i| a + i))
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("pattern check thread"))
            .min()
    })
}

/// One VMA of a synthetic task: `pages` pages from `start`, of which the runs `present`
/// (`(first_page, n_pages)`, relative to `start`) are dumped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthVma {
    pub start: u64,
    pub pages: u64,
    pub present: Vec<(u64, u64)>,
}

impl SynthVma {
    /// A VMA whose pages are all present.
    pub fn full(start: u64, pages: u64) -> SynthVma {
        SynthVma {
            start,
            pages,
            present: vec![(0, pages)],
        }
    }

    pub fn end(&self) -> u64 {
        self.start + self.pages * PAGE_SIZE
    }
}

/// A synthetic task's memory: its VMAs and the pattern seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthSpec {
    pub vmas: Vec<SynthVma>,
    pub seed: u64,
}

/// What [`write_images`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthImages {
    pub pagemap_path: PathBuf,
    pub pages_path: PathBuf,
    /// Size of the pages file: the present pages' bytes.
    pub total_bytes: u64,
    pub pages_id: u32,
    /// The pagemap as written.
    pub pagemap: Pagemap,
    /// The VMAs, restored in place.
    pub vmas: Vec<VmaMap>,
}

/// What the pages file holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Content {
    /// The address pattern (see the module docs).
    #[default]
    Pattern,
    /// Zeros, as a sparse file (fast to create at any size; reads cost no disk).
    Sparse,
}

/// Options of [`write_images_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// The pages file's id; the pagemap's id when `None`.
    pub pages_id: Option<u32>,
    pub content: Content,
}

const P: u64 = PAGE_SIZE;

impl SynthSpec {
    /// One VMA of `pages` pages at `start`, all present.
    pub fn one_large(start: u64, pages: u64, seed: u64) -> SynthSpec {
        SynthSpec {
            vmas: vec![SynthVma::full(start, pages)],
            seed,
        }
    }

    /// `count` fully present VMAs of `pages_each` pages from `start`, `gap_pages` apart.
    /// Their pages are contiguous in the pages file but not in memory when `gap_pages >
    /// 0`, so they share records of up to 1023 iovecs.
    pub fn many_small(start: u64, count: u64, pages_each: u64, gap_pages: u64, seed: u64) -> SynthSpec {
        let stride = (pages_each + gap_pages) * P;
        SynthSpec {
            vmas: (0..count)
                .map(|i| SynthVma::full(start + i * stride, pages_each))
                .collect(),
            seed,
        }
    }

    /// One VMA of `pages` pages at `start` whose present runs are `run_pages` long, each
    /// followed by a hole of `hole_pages` (the last run may be shorter).
    pub fn sparse(start: u64, pages: u64, run_pages: u64, hole_pages: u64, seed: u64) -> SynthSpec {
        let run = run_pages.max(1);
        let mut present = Vec::new();
        let mut p = 0;
        while p < pages {
            present.push((p, run.min(pages - p)));
            p += run + hole_pages;
        }
        SynthSpec {
            vmas: vec![SynthVma { start, pages, present }],
            seed,
        }
    }

    /// A layout whose records straddle the iovec limit: one VMA with `runs` present single
    /// pages one page apart (contiguous in the file, not in memory), so the records hold
    /// 1023, 1023, ... iovecs. `runs` of e.g. `2 * 1023 + 5` gives three records.
    pub fn iov_max_straddle(start: u64, runs: u64, seed: u64) -> SynthSpec {
        SynthSpec::sparse(start, 2 * runs - 1, 1, 1, seed)
    }

    /// Runs for [`iov_max_straddle`](Self::iov_max_straddle) that fill `records` records
    /// and put `extra` iovecs in one more.
    pub fn straddle_runs(records: u64, extra: u64) -> u64 {
        records * MAX_IOVS_PER_RECORD as u64 + extra
    }

    /// Check the layout: page-aligned, ascending, disjoint VMAs within the user address
    /// space; runs ascending, disjoint, non-empty and inside their VMA.
    pub fn validate(&self) -> Result<()> {
        let mut prev_end = 0u64;
        for (i, v) in self.vmas.iter().enumerate() {
            let bad = |m: &str| Err(Error::invalid(format!("synthetic VMA {i} at {:#x}: {m}", v.start)));
            if v.start % P != 0 {
                return bad("start is not page aligned");
            }
            if v.pages == 0 {
                return bad("no pages");
            }
            let end = match v.pages.checked_mul(P).and_then(|l| v.start.checked_add(l)) {
                Some(e) if e <= MAX_USER_ADDR => e,
                _ => return bad("ends past the user address space"),
            };
            if v.start < prev_end {
                return bad("overlaps or precedes the previous VMA");
            }
            prev_end = end;
            let mut next = 0u64;
            for &(first, n) in &v.present {
                if n == 0 || first < next || first.checked_add(n).is_none_or(|e| e > v.pages) {
                    return bad(&format!("bad present run ({first}, {n})"));
                }
                next = first + n;
            }
        }
        Ok(())
    }

    /// The pagemap of this layout: one present entry per run.
    pub fn pagemap(&self, pages_id: u32) -> Result<Pagemap> {
        self.validate()?;
        let entries = self
            .vmas
            .iter()
            .flat_map(|v| {
                v.present
                    .iter()
                    .map(move |&(f, n)| PagemapEntry::present(v.start + f * P, n))
            })
            .collect();
        Ok(Pagemap { pages_id, entries })
    }

    /// The VMAs restored in place.
    pub fn vma_maps(&self) -> Vec<VmaMap> {
        self.vmas.iter().map(|v| VmaMap::identity(v.start, v.end())).collect()
    }

    /// Bytes of the present pages.
    pub fn present_bytes(&self) -> u64 {
        self.vmas
            .iter()
            .flat_map(|v| v.present.iter())
            .map(|&(_, n)| n * P)
            .sum()
    }

    /// `[lowest start, highest end)` of the VMAs (`(0, 0)` if there are none).
    pub fn span(&self) -> (u64, u64) {
        match (self.vmas.first(), self.vmas.last()) {
            (Some(a), Some(b)) => (a.start, b.end()),
            _ => (0, 0),
        }
    }
}

/// Write `dir/pagemap-<id>.img` and `dir/pages-<id>.img` for `spec` with the pattern.
pub fn write_images(dir: impl AsRef<Path>, id: u32, spec: &SynthSpec) -> Result<SynthImages> {
    write_images_with(dir, id, spec, WriteOptions::default())
}

/// Size of the buffers the pages file is written with.
const CHUNK: usize = 8 << 20;

/// [`write_images`] with options.
pub fn write_images_with(dir: impl AsRef<Path>, id: u32, spec: &SynthSpec, opts: WriteOptions) -> Result<SynthImages> {
    let dir = dir.as_ref();
    let pages_id = opts.pages_id.unwrap_or(id);
    let pagemap = spec.pagemap(pages_id)?;
    let pagemap_path = write_pagemap(dir, id, &pagemap)?;
    let path = pages_path(dir, pages_id);
    let total_bytes = spec.present_bytes();
    let f = File::create(&path).map_err(|e| Error::io(Some(&path), e))?;
    match opts.content {
        Content::Sparse => f.set_len(total_bytes).map_err(|e| Error::io(Some(&path), e))?,
        Content::Pattern => write_pattern(&f, &pagemap, spec.seed).map_err(|e| Error::io(Some(&path), e))?,
    }
    Ok(SynthImages {
        pagemap_path,
        pages_path: path,
        total_bytes,
        pages_id,
        pagemap,
        vmas: spec.vma_maps(),
    })
}

/// Write the present entries' pattern to `f` in large chunks: one thread generates
/// (spreading each chunk over the cores) while this one writes.
fn write_pattern(mut f: &File, pm: &Pagemap, seed: u64) -> std::io::Result<()> {
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(2);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
    for _ in 0..3 {
        empty_tx.send(vec![0u8; CHUNK]).expect("receiver alive");
    }
    std::thread::scope(|s| {
        s.spawn(move || {
            let Ok(mut buf) = empty_rx.recv() else { return };
            let mut used = 0usize;
            for e in pm.entries.iter().filter(|e| e.is_present()) {
                let mut va = e.vaddr;
                let end = e.vaddr + e.nr_pages * P;
                while va < end {
                    let n = ((end - va) as usize).min(CHUNK - used);
                    fill_pattern_parallel(seed, va, &mut buf[used..used + n]);
                    used += n;
                    va += n as u64;
                    if used == CHUNK {
                        if full_tx.send((buf, used)).is_err() {
                            return;
                        }
                        let Ok(b) = empty_rx.recv() else { return };
                        buf = b;
                        used = 0;
                    }
                }
            }
            if used > 0 {
                let _ = full_tx.send((buf, used));
            }
        });
        // Dropping the receiver on an error stops the generator.
        for (buf, used) in full_rx {
            f.write_all(&buf[..used])?;
            let _ = empty_tx.send(buf);
        }
        Ok::<(), std::io::Error>(())
    })?;
    f.flush()
}

/// Check that the pages file at `pages_path` holds exactly the pattern of `pm`'s present
/// entries for `seed` (or zeros where `zeros` is set, for [`Content::Sparse`]).
pub fn verify_pages(pm: &Pagemap, pages_path: impl AsRef<Path>, seed: u64, zeros: bool) -> Result<()> {
    let path = pages_path.as_ref();
    let mut f = File::open(path).map_err(|e| Error::io(Some(path), e))?;
    let want = pm.present_bytes()?;
    let have = f.metadata().map_err(|e| Error::io(Some(path), e))?.len();
    if have != want {
        return Err(Error::invalid(format!(
            "{}: {have} bytes, pagemap needs {want}",
            path.display()
        )));
    }
    let mut buf = vec![0u8; CHUNK];
    let mut off = 0u64;
    for e in pm.entries.iter().filter(|e| e.is_present()) {
        let mut va = e.vaddr;
        let end = e.vaddr + e.nr_pages * P;
        while va < end {
            let n = ((end - va) as usize).min(CHUNK);
            f.read_exact(&mut buf[..n]).map_err(|e| Error::io(Some(path), e))?;
            let bad = if zeros {
                buf[..n].iter().position(|&b| b != 0)
            } else {
                check_pattern_parallel(seed, va, &buf[..n])
            };
            if let Some(i) = bad {
                return Err(Error::invalid(format!(
                    "{}: byte at file offset {:#x} (address {:#x}) is {:#04x}, not the pattern",
                    path.display(),
                    off + i as u64,
                    va + i as u64,
                    buf[i]
                )));
            }
            va += n as u64;
            off += n as u64;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_helpers_agree() {
        let seed = 0x5eed;
        for va in [0x1000u64, 0x1003, 0x7fff_fff8, 5] {
            for len in [0usize, 1, 7, 8, 9, 31, 100] {
                let mut b = vec![0u8; len];
                fill_pattern(seed, va, &mut b);
                for (i, x) in b.iter().enumerate() {
                    assert_eq!(*x, pattern_byte(seed, va + i as u64));
                }
                assert_eq!(check_pattern(seed, va, &b), None);
                if len > 0 {
                    b[len - 1] ^= 0x40;
                    assert_eq!(check_pattern(seed, va, &b), Some(len - 1));
                }
            }
        }
        assert_eq!(pattern_word(1, 0x1000).to_le_bytes()[3], pattern_byte(1, 0x1003));
        assert_ne!(pattern_word(1, 0x1000), pattern_word(2, 0x1000));
    }

    #[test]
    fn parallel_helpers_agree() {
        for va in [0x1000u64, 0x1003, 0x7ff8] {
            let len = (3 << 20) + 13;
            let mut a = vec![0u8; len];
            let mut b = vec![0u8; len];
            fill_pattern(9, va, &mut a);
            fill_pattern_parallel(9, va, &mut b);
            assert!(a == b);
            assert_eq!(check_pattern_parallel(9, va, &a), None);
            for bad in [0usize, 4095, 1 << 20, len - 1] {
                a[bad] ^= 1;
                assert_eq!(check_pattern_parallel(9, va, &a), Some(bad));
                a[bad] ^= 1;
            }
        }
        assert_eq!(split_points(0x1800, 10000, 2), vec![0, 0x800, 10000]);
        assert_eq!(split_points(0x1800, 20000, 2), vec![0, 0x800, 0x800 + 12288, 20000]);
        assert_eq!(split_points(0x1000, 3, 4), vec![0, 3]);
    }

    #[test]
    fn layouts() {
        let s = SynthSpec::sparse(0x10000, 10, 3, 2, 0);
        assert_eq!(s.vmas[0].present, vec![(0, 3), (5, 3)]);
        let s = SynthSpec::sparse(0x10000, 7, 3, 1, 0);
        assert_eq!(s.vmas[0].present, vec![(0, 3), (4, 3)]);
        let s = SynthSpec::iov_max_straddle(0x10000, 3, 0);
        assert_eq!(s.vmas[0].present, vec![(0, 1), (2, 1), (4, 1)]);
        assert_eq!(s.vmas[0].pages, 5);
        let s = SynthSpec::many_small(0x10000, 3, 2, 1, 0);
        assert_eq!(
            s.vmas.iter().map(|v| v.start).collect::<Vec<_>>(),
            vec![0x10000, 0x13000, 0x16000]
        );
        assert_eq!(s.present_bytes(), 6 * P);
        assert_eq!(s.span(), (0x10000, 0x18000));
        s.validate().unwrap();
    }

    #[test]
    fn invalid_layouts() {
        let bad = [
            SynthSpec {
                vmas: vec![SynthVma::full(0x1001, 1)],
                seed: 0,
            },
            SynthSpec {
                vmas: vec![SynthVma::full(0x1000, 0)],
                seed: 0,
            },
            SynthSpec {
                vmas: vec![SynthVma::full(0x2000, 2), SynthVma::full(0x3000, 1)],
                seed: 0,
            },
            SynthSpec {
                vmas: vec![SynthVma {
                    start: 0,
                    pages: 4,
                    present: vec![(2, 1), (1, 1)],
                }],
                seed: 0,
            },
            SynthSpec {
                vmas: vec![SynthVma {
                    start: 0,
                    pages: 4,
                    present: vec![(3, 2)],
                }],
                seed: 0,
            },
            SynthSpec {
                vmas: vec![SynthVma {
                    start: 0,
                    pages: 4,
                    present: vec![(0, 0)],
                }],
                seed: 0,
            },
            SynthSpec {
                vmas: vec![SynthVma::full(!(P - 1), 2)],
                seed: 0,
            },
            SynthSpec {
                vmas: vec![SynthVma {
                    start: 0,
                    pages: 4,
                    present: vec![(u64::MAX, 2)],
                }],
                seed: 0,
            },
        ];
        for s in &bad {
            assert!(s.validate().is_err(), "{s:?}");
            assert!(s.pagemap(1).is_err());
        }
    }
}
