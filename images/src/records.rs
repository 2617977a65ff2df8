//! CRIU's packed `struct restore_vma_io` records, built by CRIU's rules.
//!
//! The layout (a header, then `nr_iovs` iovecs: [`rio_size`] bytes a record, packed back
//! to back, 8-byte aligned), its limits and the checked walk are `vma_io`'s, shared with
//! the restorer.
//!
//! CRIU queues reads one run at a time (`pagemap_enqueue_iovec`): a run whose pages-file
//! offset does not continue the last record starts a new record; otherwise the last
//! iovec grows when the run's destination continues it, else the run becomes a new iovec
//! of the last record, unless that would give the record [`IOV_MAX`] iovecs, in which case
//! it starts a new record. [`VmaIoBuilder`] applies the same rules.

use std::fmt;
use std::ops::Deref;

use crate::error::{Error, Result};
use crate::magic::{IOV_MAX, MAX_IOVS_PER_RECORD, PAGE_SIZE, PE_KNOWN};
use crate::pagemap::Pagemap;

pub use vma_io::rio_size;

/// Bytes with 8-byte alignment (backed by `u64`s); derefs to `[u8]`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AlignedBytes(Vec<u64>);

impl AlignedBytes {
    /// The backing words.
    pub fn words(&self) -> &[u64] {
        &self.0
    }
}

impl Deref for AlignedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: any initialised u64 storage is valid as bytes, u8 has alignment 1, and
        // the length in bytes is exactly the storage's size.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr() as *const u8, self.0.len() * 8) }
    }
}

impl AsRef<[u8]> for AlignedBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl fmt::Debug for AlignedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AlignedBytes({} bytes)", self.0.len() * 8)
    }
}

/// A finished record area: what CRIU passes the restorer as `vma_ios` / `vma_ios_n`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmaIos {
    /// The packed records, 8-byte aligned.
    pub bytes: AlignedBytes,
    /// Number of records (`vma_ios_n`).
    pub count: usize,
    /// Number of iovecs over all records.
    pub iovs: usize,
    /// Bytes the records read in all.
    pub total_len: u64,
    /// Pages of [`PE_LAZY`](crate::magic::PE_LAZY) entries left out under [`Lazy::Skip`]
    /// (CRIU's lazy restore leaves them to userfaultfd); 0 otherwise.
    pub skipped_lazy_pages: u64,
}

impl VmaIos {
    /// Parse the area back into records.
    pub fn records(&self) -> Result<Vec<Record>> {
        parse(&self.bytes, self.count)
    }
}

struct Pending {
    off: u64,
    end: u64,
    iovs: Vec<(u64, u64)>,
}

/// Builds records from runs queued in pages-file order, by CRIU's rules.
#[derive(Default)]
pub struct VmaIoBuilder {
    words: Vec<u64>,
    count: usize,
    iovs: usize,
    total_len: u64,
    cur: Option<Pending>,
}

impl VmaIoBuilder {
    pub fn new() -> VmaIoBuilder {
        VmaIoBuilder::default()
    }

    /// Queue `len` bytes at `pages_off` in the pages file, to be read to `dest`.
    ///
    /// A zero `len` is ignored. Panics where [`try_push`](Self::try_push) fails.
    pub fn push(&mut self, pages_off: u64, dest: u64, len: u64) {
        if let Err(e) = self.try_push(pages_off, dest, len) {
            panic!("VmaIoBuilder::push: {e}");
        }
    }

    /// Queue a run; fails (queueing nothing) if the offset does not fit `loff_t` or a
    /// range wraps around the address space.
    pub fn try_push(&mut self, pages_off: u64, dest: u64, len: u64) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let end = pages_off
            .checked_add(len)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or_else(|| Error::invalid(format!("pages offset {pages_off:#x}+{len:#x} overflows loff_t")))?;
        dest.checked_add(len)
            .ok_or_else(|| Error::invalid(format!("destination {dest:#x}+{len:#x} wraps")))?;
        let total_len = self
            .total_len
            .checked_add(len)
            .ok_or_else(|| Error::invalid("total length overflows"))?;
        match &mut self.cur {
            Some(p) if p.end == pages_off => {
                let last = p.iovs.last_mut().expect("a pending record has an iovec");
                if last.0.checked_add(last.1) == Some(dest) {
                    last.1 += len;
                } else if p.iovs.len() + 1 >= IOV_MAX {
                    self.start(pages_off, end, dest, len);
                } else {
                    p.iovs.push((dest, len));
                    self.iovs += 1;
                }
                if let Some(p) = &mut self.cur {
                    p.end = end;
                }
            }
            _ => self.start(pages_off, end, dest, len),
        }
        self.total_len = total_len;
        Ok(())
    }

    fn start(&mut self, off: u64, end: u64, dest: u64, len: u64) {
        self.flush();
        self.cur = Some(Pending {
            off,
            end,
            iovs: vec![(dest, len)],
        });
        self.iovs += 1;
    }

    fn flush(&mut self) {
        if let Some(p) = self.cur.take() {
            // Header: nr_iovs (i32) in the low half of the first word, zero padding.
            self.words.push(p.iovs.len() as u32 as u64);
            self.words.push(p.off);
            for (b, l) in p.iovs {
                self.words.push(b);
                self.words.push(l);
            }
            self.count += 1;
        }
    }

    /// Records so far (including the one still open).
    pub fn count(&self) -> usize {
        self.count + usize::from(self.cur.is_some())
    }

    pub fn finish(mut self) -> VmaIos {
        self.flush();
        VmaIos {
            bytes: AlignedBytes(self.words),
            count: self.count,
            iovs: self.iovs,
            total_len: self.total_len,
            skipped_lazy_pages: 0,
        }
    }
}

/// One parsed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub off: i64,
    /// `(base, len)` of each iovec.
    pub iovs: Vec<(u64, u64)>,
}

impl Record {
    /// Bytes the record reads, `None` if the sum overflows.
    pub fn len(&self) -> Option<u64> {
        self.iovs.iter().try_fold(0u64, |a, &(_, l)| a.checked_add(l))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

/// Parse `count` packed records from `bytes`, which must hold exactly them (any
/// alignment), by [`vma_io::walk`]: `nr_iovs` outside 1 to [`IOV_MAX`], short or trailing
/// bytes are errors.
pub fn parse(bytes: &[u8], count: usize) -> Result<Vec<Record>> {
    let mut out = Vec::with_capacity(count.min(bytes.len() / rio_size(0) + 1));
    let mut walk = vma_io::walk(bytes, count);
    for r in walk.by_ref() {
        let r = r.map_err(malformed)?;
        let iovs = (0..r.iov_count()).map(|k| r.iov(k)).map(|v| (v.base, v.len)).collect();
        out.push(Record { off: r.off, iovs });
    }
    let at = walk.at();
    if at != bytes.len() {
        return Err(Error::invalid(format!(
            "{} bytes after the last of {count} records",
            bytes.len() - at
        )));
    }
    Ok(out)
}

fn malformed(m: vma_io::Malformed) -> Error {
    use vma_io::Malformed::*;
    match m {
        ShortHeader { index, at, got } => Error::Truncated {
            what: format!("record {index} header"),
            offset: at as u64,
            needed: rio_size(0) as u64,
            got: got as u64,
        },
        IovCount { index, at, nr_iovs, .. } => Error::invalid(format!(
            "record {index} at byte {at}: nr_iovs {nr_iovs} is outside 1..={IOV_MAX}"
        )),
        ShortIovecs {
            index, at, needed, got, ..
        } => Error::Truncated {
            what: format!(
                "record {index} ({} iovecs)",
                (needed - rio_size(0)) / vma_io::IOVEC_SIZE
            ),
            offset: at as u64,
            needed: needed as u64,
            got: got as u64,
        },
    }
}

/// Check that `records` are what CRIU's rules produce: no empty record or iovec, at most
/// [`MAX_IOVS_PER_RECORD`] iovecs a record, no two adjacent iovecs of a record with
/// contiguous destinations, non-negative offsets, and a record whose offset continues
/// the previous one's only when the previous is full and the destinations do not
/// continue.
pub fn check_criu_rules(records: &[Record]) -> Result<()> {
    let mut prev: Option<(u64, (u64, u64), usize)> = None;
    for (i, r) in records.iter().enumerate() {
        let bad = |m: String| Err(Error::invalid(format!("record {i}: {m}")));
        if r.off < 0 {
            return bad(format!("negative offset {}", r.off));
        }
        if r.iovs.is_empty() || r.iovs.len() > MAX_IOVS_PER_RECORD {
            return bad(format!("{} iovecs", r.iovs.len()));
        }
        for (k, w) in r.iovs.windows(2).enumerate() {
            if w[0].0.checked_add(w[0].1) == Some(w[1].0) {
                return bad(format!("iovecs {k} and {} are contiguous", k + 1));
            }
        }
        if r.iovs.iter().any(|v| v.1 == 0) {
            return bad("empty iovec".into());
        }
        let len = r
            .len()
            .ok_or_else(|| Error::invalid(format!("record {i}: length overflows")))?;
        if let Some((prev_end, last, n)) = prev {
            if prev_end == r.off as u64 {
                if n != MAX_IOVS_PER_RECORD {
                    return bad(format!("continues the previous record, which has only {n} iovecs"));
                }
                if last.0.checked_add(last.1) == Some(r.iovs[0].0) {
                    return bad("continues the previous record's last iovec".into());
                }
            }
        }
        let end = (r.off as u64)
            .checked_add(len)
            .ok_or_else(|| Error::invalid(format!("record {i}: end overflows")))?;
        prev = Some((end, *r.iovs.last().expect("not empty"), r.iovs.len()));
    }
    Ok(())
}

/// Where a VMA's pages go: `[start, end)` in the dumped task is restored to `dest..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmaMap {
    pub start: u64,
    pub end: u64,
    pub dest: u64,
}

impl VmaMap {
    /// A VMA restored in place.
    pub fn identity(start: u64, end: u64) -> VmaMap {
        VmaMap {
            start,
            end,
            dest: start,
        }
    }
}

/// Highest end address of a user mapping on x86_64 (five-level paging).
pub const MAX_USER_ADDR: u64 = 1 << 56;

/// What to do with [`PE_LAZY`](crate::magic::PE_LAZY) entries.
///
/// A plain `criu dump` marks private anonymous pages `PE_LAZY | PE_PRESENT` (their
/// contents are in the pages file, and a lazy restore could fetch them on demand), so a
/// plain restore reads them like any present page; a dump made for lazy migration leaves
/// them out of the pages file (`PE_LAZY` alone).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lazy {
    /// As `criu restore` without `--lazy-pages`: lazy entries with `PE_PRESENT` are read
    /// like the others; a lazy entry without it is an error (its contents are not in the
    /// pages file).
    #[default]
    Read,
    /// As `criu restore --lazy-pages`: every lazy entry is left out (to userfaultfd), the
    /// present ones still taking their room in the pages file. The pages left out are
    /// counted in [`VmaIos::skipped_lazy_pages`].
    Skip,
}

/// Options of [`build_from_pagemap_with`] and [`build_for_vmas_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BuildOptions {
    pub lazy: Lazy,
}

/// Walk the entries CRIU would queue, in pages-file order: `emit(index, pages_off, vaddr,
/// len)` for each entry read. Entries must be page aligned, ascending, disjoint and below
/// [`MAX_USER_ADDR`], as CRIU writes them. Returns the lazy pages skipped.
fn walk(pm: &Pagemap, opts: BuildOptions, mut emit: impl FnMut(usize, u64, u64, u64) -> Result<()>) -> Result<u64> {
    let mut pi_off = 0u64;
    let mut lazy = 0u64;
    let mut prev_end = 0u64;
    for (i, e) in pm.entries.iter().enumerate() {
        let ctx = |m: &str| format!("pagemap entry {i} ({:#x}, {} pages): {m}", e.vaddr, e.nr_pages);
        if e.flags & !PE_KNOWN != 0 {
            return Err(Error::unsupported(ctx(&format!("unknown flags {:#x}", e.flags))));
        }
        if e.is_in_parent() {
            return Err(Error::unsupported(ctx(
                "pages are in a parent image (restores from parent images are not supported)",
            )));
        }
        let len = e.len_bytes().ok_or_else(|| Error::invalid(ctx("length overflows")))?;
        let end = e
            .end()
            .filter(|&x| x <= MAX_USER_ADDR)
            .ok_or_else(|| Error::invalid(ctx("ends past the user address space")))?;
        if e.vaddr % PAGE_SIZE != 0 {
            return Err(Error::invalid(ctx("address is not page aligned")));
        }
        if e.vaddr < prev_end {
            return Err(Error::invalid(ctx(&format!(
                "overlaps or precedes the previous entry (which ends at {prev_end:#x})"
            ))));
        }
        prev_end = end;
        let next = pi_off
            .checked_add(if e.is_present() { len } else { 0 })
            .filter(|&o| o <= i64::MAX as u64)
            .ok_or_else(|| Error::invalid(ctx("pages-file offset overflows")))?;
        if e.is_lazy() && opts.lazy == Lazy::Skip {
            // As CRIU's lazy restore: no read, but present pages still take their room.
            lazy += e.nr_pages;
        } else if !e.is_present() {
            return Err(Error::unsupported(ctx(if e.is_lazy() {
                "lazy pages not in the pages file (restore them with Lazy::Skip and a lazy-pages daemon)"
            } else {
                "neither present, lazy nor in a parent image"
            })));
        } else if len > 0 {
            emit(i, pi_off, e.vaddr, len)?;
        }
        pi_off = next;
    }
    Ok(lazy)
}

/// Build the records of `pm` as a plain `criu restore` queues them, with `dest(vaddr)`
/// giving each page's destination. `dest` is called once per page, so it may be any
/// function (the cost is linear in the pages); runs whose destinations continue each
/// other merge as in CRIU. Entries in a parent image are an error; see [`Lazy::Read`].
pub fn build_from_pagemap(pm: &Pagemap, dest: impl Fn(u64) -> u64) -> Result<VmaIos> {
    build_from_pagemap_with(pm, dest, BuildOptions::default())
}

/// [`build_from_pagemap`] with options.
pub fn build_from_pagemap_with(pm: &Pagemap, dest: impl Fn(u64) -> u64, opts: BuildOptions) -> Result<VmaIos> {
    let mut b = VmaIoBuilder::new();
    let lazy = walk(pm, opts, |i, off, vaddr, len| {
        let mut p = 0;
        while p < len {
            b.try_push(off + p, dest(vaddr + p), PAGE_SIZE)
                .map_err(|e| e.context(format_args!("pagemap entry {i}")))?;
            p += PAGE_SIZE;
        }
        Ok(())
    })?;
    let mut ios = b.finish();
    ios.skipped_lazy_pages = lazy;
    Ok(ios)
}

/// Build the records of `pm` the way CRIU's `restore_priv_vma_content` queues them: each
/// entry is split at the ends of the VMAs it covers, each piece going to its VMA's
/// destination. `vmas` must be sorted and disjoint; a page read outside every VMA is an
/// error. Entries in a parent image are an error; see [`Lazy::Read`].
pub fn build_for_vmas(pm: &Pagemap, vmas: &[VmaMap]) -> Result<VmaIos> {
    build_for_vmas_with(pm, vmas, BuildOptions::default())
}

/// [`build_for_vmas`] with options.
pub fn build_for_vmas_with(pm: &Pagemap, vmas: &[VmaMap], opts: BuildOptions) -> Result<VmaIos> {
    for (k, v) in vmas.iter().enumerate() {
        if v.start >= v.end || v.dest.checked_add(v.end - v.start).is_none() {
            return Err(Error::invalid(format!(
                "VMA {k} {:#x}-{:#x} is empty or wraps",
                v.start, v.end
            )));
        }
        if k > 0 && vmas[k - 1].end > v.start {
            return Err(Error::invalid(format!(
                "VMA {k} {:#x} is unsorted or overlaps",
                v.start
            )));
        }
    }
    let mut b = VmaIoBuilder::new();
    let lazy = walk(pm, opts, |i, mut off, mut va, len| {
        let end = va + len;
        while va < end {
            let k = vmas.partition_point(|v| v.end <= va);
            let v = vmas
                .get(k)
                .filter(|v| v.start <= va)
                .ok_or_else(|| Error::invalid(format!("pagemap entry {i}: page {va:#x} is outside every VMA")))?;
            let piece = (end - va).min(v.end - va);
            b.try_push(off, v.dest + (va - v.start), piece)
                .map_err(|e| e.context(format_args!("pagemap entry {i}")))?;
            va += piece;
            off += piece;
        }
        Ok(())
    })?;
    let mut ios = b.finish();
    ios.skipped_lazy_pages = lazy;
    Ok(ios)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pagemap::{PagemapEntry, PE_LAZY, PE_PARENT, PE_PRESENT};

    const P: u64 = PAGE_SIZE;

    fn rec(off: u64, iovs: &[(u64, u64)]) -> Record {
        Record {
            off: off as i64,
            iovs: iovs.to_vec(),
        }
    }

    #[test]
    fn packing_matches_rio_size() {
        let mut b = VmaIoBuilder::new();
        b.push(0, 0x1000, P);
        b.push(P, 0x5000, P); // offset continues, destination does not: second iovec
        b.push(3 * P, 0x9000, P); // offset jumps: new record
        let ios = b.finish();
        assert_eq!(ios.count, 2);
        assert_eq!(ios.iovs, 3);
        assert_eq!(ios.bytes.len(), rio_size(2) + rio_size(1));
        assert_eq!(ios.bytes.as_ptr() as usize % 8, 0);
        let raw: &[u8] = &ios.bytes;
        assert_eq!(&raw[..16], &[2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&raw[16..24], &0x1000u64.to_le_bytes());
        assert_eq!(&raw[48..56], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&raw[56..64], &(3 * P).to_le_bytes());
        assert_eq!(
            ios.records().unwrap(),
            vec![rec(0, &[(0x1000, P), (0x5000, P)]), rec(3 * P, &[(0x9000, P)])]
        );
    }

    #[test]
    fn extension_and_iov_max() {
        let mut b = VmaIoBuilder::new();
        // 2 * 1023 + 5 single pages, offsets contiguous, destinations every other page.
        let n = 2 * MAX_IOVS_PER_RECORD as u64 + 5;
        for i in 0..n {
            b.push(i * P, 0x10_0000 + 2 * i * P, P);
            // And an extension of each, which must never add an iovec.
            b.push(i * P + P / 2, 0, 0);
        }
        let ios = b.finish();
        let r = ios.records().unwrap();
        assert_eq!(r.iter().map(|r| r.iovs.len()).collect::<Vec<_>>(), vec![1023, 1023, 5]);
        assert_eq!(r[1].off as u64, 1023 * P);
        assert_eq!(r[2].iovs[0], (0x10_0000 + 2 * 2046 * P, P));
        check_criu_rules(&r).unwrap();
        assert_eq!(ios.total_len, n * P);

        // Contiguous destinations extend the last iovec without limit.
        let mut b = VmaIoBuilder::new();
        for i in 0..5000 {
            b.push(i * P, 0x7000_0000 + i * P, P);
        }
        assert_eq!(b.finish().records().unwrap(), vec![rec(0, &[(0x7000_0000, 5000 * P)])]);
    }

    #[test]
    fn rules_checker_rejects_non_criu_layouts() {
        assert!(check_criu_rules(&[rec(0, &[(0, P), (P, P)])]).is_err());
        assert!(check_criu_rules(&[rec(0, &[(0, P)]), rec(P, &[(5 * P, P)])]).is_err());
        assert!(check_criu_rules(&[rec(0, &[])]).is_err());
        assert!(check_criu_rules(&[rec(0, &[(0, P)]), rec(2 * P, &[(5 * P, P)])]).is_ok());
    }

    #[test]
    fn parse_rejects_malformed() {
        let mut b = VmaIoBuilder::new();
        b.push(0, 0x1000, P);
        b.push(P, 0x3000, P);
        let ios = b.finish();
        let raw: &[u8] = &ios.bytes;
        for n in 0..raw.len() {
            assert!(parse(&raw[..n], 1).is_err());
        }
        assert!(parse(raw, 2).is_err());
        let mut extra = raw.to_vec();
        extra.extend_from_slice(&[0; 8]);
        assert!(parse(&extra, 1).is_err());
        let mut neg = raw.to_vec();
        neg[..4].copy_from_slice(&(-1i32).to_le_bytes());
        assert!(parse(&neg, 1).is_err());
        let mut big = raw.to_vec();
        big[..4].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(parse(&big, 1).is_err());
        assert_eq!(parse(&[], 0).unwrap(), vec![]);
    }

    #[test]
    fn try_push_rejects_overflow() {
        let mut b = VmaIoBuilder::new();
        assert!(b.try_push(i64::MAX as u64, 0, 1).is_err());
        assert!(b.try_push(0, u64::MAX, 2).is_err());
        assert_eq!(b.finish().count, 0);
    }

    fn pm(entries: Vec<PagemapEntry>) -> Pagemap {
        Pagemap { pages_id: 1, entries }
    }

    #[test]
    fn from_pagemap_hand_computed() {
        let lazy = PagemapEntry {
            vaddr: 0x2_8000,
            nr_pages: 3,
            in_parent: false,
            flags: PE_LAZY,
        };
        let lazy_present = PagemapEntry {
            vaddr: 0x3_8000,
            flags: PE_LAZY | PE_PRESENT,
            ..lazy
        };
        let p = pm(vec![
            PagemapEntry::present(0x1_0000, 2), // off 0
            PagemapEntry::present(0x1_2000, 1), // off 2P, destination continues: extends
            PagemapEntry::present(0x2_0000, 1), // off 3P: second iovec
            lazy,                               // skipped, takes no room
            PagemapEntry::present(0x3_0000, 1), // off 4P: third iovec
            lazy_present,                       // skipped, takes 3 pages of room
            PagemapEntry::present(0x4_0000, 2), // off 8P: new record
        ]);
        let skip = BuildOptions { lazy: Lazy::Skip };
        let ios = build_from_pagemap_with(&p, |v| v, skip).unwrap();
        assert_eq!(ios.skipped_lazy_pages, 6);
        assert_eq!(
            ios.records().unwrap(),
            vec![
                rec(0, &[(0x1_0000, 3 * P), (0x2_0000, P), (0x3_0000, P)]),
                rec(8 * P, &[(0x4_0000, 2 * P)]),
            ]
        );
        assert_eq!(ios.bytes.len(), rio_size(3) + rio_size(1));
        // A relocating mapping.
        let ios = build_from_pagemap_with(&p, |v| v + 0x1000_0000, skip).unwrap();
        assert_eq!(ios.records().unwrap()[1], rec(8 * P, &[(0x1004_0000, 2 * P)]));
        // The same through VMAs (lazy entries need none).
        let vmas = [
            VmaMap::identity(0x1_0000, 0x1_3000),
            VmaMap::identity(0x2_0000, 0x2_1000),
            VmaMap::identity(0x3_0000, 0x5_0000),
        ];
        assert_eq!(
            build_for_vmas_with(&p, &vmas, skip).unwrap(),
            build_from_pagemap_with(&p, |v| v, skip).unwrap()
        );
        // A plain restore cannot do without the pages of a lazy entry that is not present,
        // and reads the present lazy ones.
        assert!(matches!(build_from_pagemap(&p, |v| v), Err(Error::Unsupported(_))));
        let mut q = p.clone();
        q.entries.remove(3);
        let ios = build_from_pagemap(&q, |v| v).unwrap();
        assert_eq!(ios.skipped_lazy_pages, 0);
        assert_eq!(
            ios.records().unwrap(),
            vec![rec(
                0,
                &[
                    (0x1_0000, 3 * P),
                    (0x2_0000, P),
                    (0x3_0000, P),
                    (0x3_8000, 3 * P),
                    (0x4_0000, 2 * P)
                ]
            )]
        );
        assert_eq!(build_for_vmas(&q, &vmas).unwrap(), ios);
        // Entries out of order or overlapping.
        let mut q = p.clone();
        q.entries.swap(0, 2);
        assert!(build_from_pagemap_with(&q, |v| v, skip).is_err());
        let mut q = p.clone();
        q.entries[1].vaddr = 0x1_1000;
        assert!(build_from_pagemap_with(&q, |v| v, skip).is_err());
    }

    #[test]
    fn vmas_split_entries() {
        // One entry over two adjacent VMAs relocated apart: two iovecs of one record.
        let p = pm(vec![PagemapEntry::present(0x1_0000, 4)]);
        let vmas = [
            VmaMap {
                start: 0x1_0000,
                end: 0x1_1000,
                dest: 0x9_0000,
            },
            VmaMap {
                start: 0x1_1000,
                end: 0x2_0000,
                dest: 0x5_0000,
            },
        ];
        let ios = build_for_vmas(&p, &vmas).unwrap();
        assert_eq!(
            ios.records().unwrap(),
            vec![rec(0, &[(0x9_0000, P), (0x5_0000, 3 * P)])]
        );
        let f = |v: u64| {
            if v < 0x1_1000 {
                v - 0x1_0000 + 0x9_0000
            } else {
                v - 0x1_1000 + 0x5_0000
            }
        };
        assert_eq!(build_from_pagemap(&p, f).unwrap(), ios);
        // Pages outside the VMAs, bad VMA lists.
        assert!(build_for_vmas(&p, &vmas[..1]).is_err());
        assert!(build_for_vmas(&p, &[vmas[1], vmas[0]]).is_err());
        assert!(build_for_vmas(&p, &[VmaMap::identity(5, 5)]).is_err());
    }

    #[test]
    fn pagemap_errors() {
        let parent = PagemapEntry {
            vaddr: 0x1000,
            nr_pages: 1,
            in_parent: false,
            flags: PE_PARENT,
        };
        assert!(matches!(
            build_from_pagemap(&pm(vec![parent]), |v| v),
            Err(Error::Unsupported(_))
        ));
        let old_parent = PagemapEntry {
            in_parent: true,
            flags: 0,
            ..parent
        };
        assert!(matches!(
            build_from_pagemap(&pm(vec![old_parent]), |v| v),
            Err(Error::Unsupported(_))
        ));
        let unknown = PagemapEntry {
            flags: PE_PRESENT | 8,
            ..parent
        };
        assert!(build_from_pagemap(&pm(vec![unknown]), |v| v).is_err());
        let nothing = PagemapEntry { flags: 0, ..parent };
        assert!(build_from_pagemap(&pm(vec![nothing]), |v| v).is_err());
        let huge = PagemapEntry::present(0, u64::MAX / 2);
        assert!(build_from_pagemap(&pm(vec![huge]), |v| v).is_err());
        let wrap = PagemapEntry::present(u64::MAX - 4095, 2);
        assert!(build_from_pagemap(&pm(vec![wrap]), |v| v).is_err());
        let unaligned = PagemapEntry::present(0x1001, 1);
        assert!(build_from_pagemap(&pm(vec![unaligned]), |v| v).is_err());
        // Offsets past loff_t.
        let big = PagemapEntry::present(0, 1 << 51);
        assert!(build_from_pagemap(&pm(vec![big, big, big, big, big]), |v| v).is_err());
        // A destination function that wraps.
        assert!(build_from_pagemap(&pm(vec![PagemapEntry::present(0x1000, 1)]), |_| u64::MAX).is_err());
    }
}
