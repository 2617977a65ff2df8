//! `pagemap-N.img`: which pages of a task were dumped and where their contents are.
//!
//! The image holds a [`PagemapHead`] naming the pages file (`pages-<pages_id>.img`), then
//! one entry per run of pages. The contents of the entries flagged [`PE_PRESENT`] lie in
//! the pages file back to back, in pagemap order; other entries take no room there.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::image::{ImageReader, ImageWriter};
use crate::magic::{PAGEMAP_MAGIC, PAGE_SIZE};
pub use crate::magic::{PE_KNOWN, PE_LAZY, PE_PARENT, PE_PRESENT};
use crate::proto::PagemapEntryMsg;
pub use crate::proto::PagemapHead;

/// One pagemap entry, normalised the way CRIU does on reading: the page count is field 5
/// when present, else field 2; an entry of an old image with `in_parent` set gets
/// [`PE_PARENT`], and one with neither `in_parent` nor `flags` gets [`PE_PRESENT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagemapEntry {
    pub vaddr: u64,
    pub nr_pages: u64,
    /// The deprecated `in_parent` field as stored (false when absent).
    pub in_parent: bool,
    /// `PE_*` flags after normalisation.
    pub flags: u32,
}

impl PagemapEntry {
    /// A present entry (what a plain dump writes).
    pub fn present(vaddr: u64, nr_pages: u64) -> PagemapEntry {
        PagemapEntry {
            vaddr,
            nr_pages,
            in_parent: false,
            flags: PE_PRESENT,
        }
    }

    pub fn is_present(&self) -> bool {
        self.flags & PE_PRESENT != 0
    }

    pub fn is_lazy(&self) -> bool {
        self.flags & PE_LAZY != 0
    }

    pub fn is_in_parent(&self) -> bool {
        self.in_parent || self.flags & PE_PARENT != 0
    }

    /// Length in bytes, `None` if it overflows.
    pub fn len_bytes(&self) -> Option<u64> {
        self.nr_pages.checked_mul(PAGE_SIZE)
    }

    /// End address (exclusive), `None` if it overflows.
    pub fn end(&self) -> Option<u64> {
        self.len_bytes().and_then(|l| self.vaddr.checked_add(l))
    }

    fn from_msg(m: &PagemapEntryMsg) -> PagemapEntry {
        let in_parent = m.in_parent == Some(true);
        let mut flags = m.flags.unwrap_or(0);
        if in_parent {
            flags |= PE_PARENT;
        } else if m.flags.is_none() {
            flags = PE_PRESENT;
        }
        PagemapEntry {
            vaddr: m.vaddr,
            nr_pages: m.nr_pages.unwrap_or(u64::from(m.compat_nr_pages)),
            in_parent,
            flags,
        }
    }

    /// The wire form this crate writes: the count in both field 2 (for readers before
    /// CRIU 4.0, such as crit 3.x; 0 if it does not fit) and field 5, flags always set.
    fn to_msg(self) -> PagemapEntryMsg {
        PagemapEntryMsg {
            vaddr: self.vaddr,
            compat_nr_pages: u32::try_from(self.nr_pages).unwrap_or(0),
            in_parent: self.in_parent.then_some(true),
            flags: Some(self.flags),
            nr_pages: Some(self.nr_pages),
        }
    }
}

/// A whole pagemap image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pagemap {
    pub pages_id: u32,
    pub entries: Vec<PagemapEntry>,
}

/// `dir/pagemap-<id>.img`.
pub fn pagemap_path(dir: impl AsRef<Path>, id: u32) -> PathBuf {
    dir.as_ref().join(format!("pagemap-{id}.img"))
}

/// `dir/pages-<pages_id>.img`.
pub fn pages_path(dir: impl AsRef<Path>, pages_id: u32) -> PathBuf {
    dir.as_ref().join(format!("pages-{pages_id}.img"))
}

/// Read `dir/pagemap-<id>.img`.
pub fn read_pagemap(dir: impl AsRef<Path>, id: u32) -> Result<Pagemap> {
    read_pagemap_file(pagemap_path(dir, id))
}

/// Read a pagemap image at `path`.
pub fn read_pagemap_file(path: impl AsRef<Path>) -> Result<Pagemap> {
    let r = ImageReader::open(path.as_ref(), PAGEMAP_MAGIC)?;
    read_pagemap_from(r)
}

/// Read a pagemap image from any reader.
pub fn read_pagemap_from<R: std::io::Read>(mut r: ImageReader<R>) -> Result<Pagemap> {
    let head: PagemapHead = r.expect_message("pagemap_head")?;
    let mut entries = Vec::new();
    while let Some(m) = r.next_message::<PagemapEntryMsg>()? {
        entries.push(PagemapEntry::from_msg(&m));
    }
    Ok(Pagemap {
        pages_id: head.pages_id,
        entries,
    })
}

/// Read the pagemap image at `path` for a tool that rewrites it: any field or flag this
/// crate does not know (a newer CRIU's format, e.g. compressed pages) is an
/// [`Error::Unsupported`] rather than skipped, as is an entry both present and in the
/// parent (CRIU never writes one).
pub fn read_pagemap_strict(path: impl AsRef<Path>) -> Result<Pagemap> {
    let path = path.as_ref();
    let what = path.display().to_string();
    let mut r = ImageReader::open(path, PAGEMAP_MAGIC)?;
    let head_bytes = r.next_entry()?.ok_or_else(|| Error::Truncated {
        what: format!("{what}: pagemap_head"),
        offset: 8,
        needed: 4,
        got: 0,
    })?;
    let unknown = crate::proto::unknown_fields(&head_bytes, &[1])?;
    if !unknown.is_empty() {
        return Err(Error::unsupported(format!(
            "{what}: pagemap_head has fields {unknown:?} this tool does not know"
        )));
    }
    let head = <PagemapHead as crate::proto::Message>::decode(&head_bytes).map_err(|e| e.context(&what))?;
    let mut entries = Vec::new();
    while let Some(b) = r.next_entry()? {
        let i = entries.len();
        let unknown = crate::proto::unknown_fields(&b, &[1, 2, 3, 4, 5])?;
        if !unknown.is_empty() {
            return Err(Error::unsupported(format!(
                "{what}: entry {i} has fields {unknown:?} this tool does not know"
            )));
        }
        let m = <PagemapEntryMsg as crate::proto::Message>::decode(&b)
            .map_err(|e| e.context(format_args!("{what}: entry {i}")))?;
        let e = PagemapEntry::from_msg(&m);
        if e.flags & !PE_KNOWN != 0 {
            return Err(Error::unsupported(format!(
                "{what}: entry {i} at {:#x} has flags {:#x}, of which {:#x} are unknown",
                e.vaddr,
                e.flags,
                e.flags & !PE_KNOWN
            )));
        }
        if e.is_present() && e.is_in_parent() {
            return Err(Error::unsupported(format!(
                "{what}: entry {i} at {:#x} is both present and in the parent",
                e.vaddr
            )));
        }
        entries.push(e);
    }
    Ok(Pagemap {
        pages_id: head.pages_id,
        entries,
    })
}

/// Parse pagemap image bytes.
pub fn parse_pagemap(bytes: &[u8]) -> Result<Pagemap> {
    read_pagemap_from(ImageReader::new(bytes, PAGEMAP_MAGIC, "pagemap")?)
}

/// Write `pm` as `dir/pagemap-<id>.img`; returns the path.
pub fn write_pagemap(dir: impl AsRef<Path>, id: u32, pm: &Pagemap) -> Result<PathBuf> {
    let path = pagemap_path(dir, id);
    write_pagemap_file(&path, pm)?;
    Ok(path)
}

/// Write `pm` as a pagemap image at `path`.
pub fn write_pagemap_file(path: impl AsRef<Path>, pm: &Pagemap) -> Result<()> {
    let mut w = ImageWriter::create(path.as_ref(), PAGEMAP_MAGIC)?;
    write_pagemap_to(&mut w, pm)?;
    w.finish()?;
    Ok(())
}

/// Write `pm`'s head and entries to an image writer.
pub fn write_pagemap_to<W: std::io::Write>(w: &mut ImageWriter<W>, pm: &Pagemap) -> Result<()> {
    w.write_message(&PagemapHead { pages_id: pm.pages_id })?;
    for e in &pm.entries {
        w.write_message(&e.to_msg())?;
    }
    Ok(())
}

/// Pagemap image bytes of `pm`.
pub fn pagemap_bytes(pm: &Pagemap) -> Vec<u8> {
    let mut w =
        ImageWriter::new(Vec::new(), crate::image::Head::Common, PAGEMAP_MAGIC).expect("the pagemap magic is not raw");
    write_pagemap_to(&mut w, pm).expect("writing to a Vec cannot fail");
    w.finish().expect("flushing a Vec cannot fail")
}

impl Pagemap {
    /// The pages file of this pagemap in `dir`.
    pub fn pages_path(&self, dir: impl AsRef<Path>) -> PathBuf {
        pages_path(dir, self.pages_id)
    }

    /// Bytes the present entries take in the pages file.
    pub fn present_bytes(&self) -> Result<u64> {
        let mut total = 0u64;
        for (i, e) in self.entries.iter().enumerate() {
            if e.is_present() {
                total = e
                    .len_bytes()
                    .and_then(|l| total.checked_add(l))
                    .ok_or_else(|| Error::invalid(format!("pagemap entry {i}: size overflows")))?;
            }
        }
        Ok(total)
    }

    /// Check that the pages file in `dir` is exactly as long as the present entries need
    /// (as CRIU writes it); returns that length. Worth doing before building records from
    /// an untrusted pagemap, whose entries could claim any size.
    pub fn check_pages_file(&self, dir: impl AsRef<Path>) -> Result<u64> {
        let path = self.pages_path(dir);
        let have = std::fs::metadata(&path).map_err(|e| Error::io(Some(&path), e))?.len();
        let want = self.present_bytes()?;
        if have != want {
            return Err(Error::invalid(format!(
                "{}: {have} bytes, the pagemap's present entries need {want}",
                path.display()
            )));
        }
        Ok(have)
    }

    /// The offset in the pages file of the byte dumped at `vaddr`, if a present entry
    /// holds it (a linear scan, for tests and checks).
    pub fn file_offset_of(&self, vaddr: u64) -> Option<u64> {
        let mut off = 0u64;
        for e in &self.entries {
            let end = e.end()?;
            if e.is_present() {
                if (e.vaddr..end).contains(&vaddr) {
                    return off.checked_add(vaddr - e.vaddr);
                }
                off = off.checked_add(e.len_bytes()?)?;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compat_normalisation() {
        let old_present = PagemapEntryMsg {
            vaddr: 0x1000,
            compat_nr_pages: 3,
            ..Default::default()
        };
        let e = PagemapEntry::from_msg(&old_present);
        assert_eq!(e, PagemapEntry::present(0x1000, 3));
        let old_parent = PagemapEntryMsg {
            in_parent: Some(true),
            ..old_present
        };
        let e = PagemapEntry::from_msg(&old_parent);
        assert!(e.is_in_parent() && !e.is_present());
        let new = PagemapEntryMsg {
            compat_nr_pages: 0,
            nr_pages: Some(1 << 33),
            flags: Some(PE_LAZY),
            ..old_present
        };
        let e = PagemapEntry::from_msg(&new);
        assert_eq!((e.nr_pages, e.flags), (1 << 33, PE_LAZY));
        assert_eq!(e.to_msg(), new);
    }

    #[test]
    fn round_trip_and_offsets() {
        let pm = Pagemap {
            pages_id: 9,
            entries: vec![
                PagemapEntry::present(0x10000, 2),
                PagemapEntry {
                    vaddr: 0x20000,
                    nr_pages: 4,
                    in_parent: false,
                    flags: PE_LAZY,
                },
                PagemapEntry::present(0x30000, 1),
            ],
        };
        let b = pagemap_bytes(&pm);
        assert_eq!(parse_pagemap(&b).unwrap(), pm);
        assert_eq!(pm.present_bytes().unwrap(), 3 * PAGE_SIZE);
        assert_eq!(pm.file_offset_of(0x10000), Some(0));
        assert_eq!(pm.file_offset_of(0x11fff), Some(0x1fff));
        assert_eq!(pm.file_offset_of(0x20000), None);
        assert_eq!(pm.file_offset_of(0x30010), Some(0x2010));
        assert_eq!(pm.file_offset_of(0x31000), None);
    }

    #[test]
    fn strict_reading_refuses_the_unknown() {
        let dir = std::env::temp_dir().join(format!("criu-image-strict-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pagemap-1.img");
        let mut pm = Pagemap {
            pages_id: 3,
            entries: vec![PagemapEntry::present(0x1000, 2)],
        };
        write_pagemap_file(&path, &pm).unwrap();
        assert_eq!(read_pagemap_strict(&path).unwrap(), pm);
        pm.entries[0].flags |= 1 << 3;
        write_pagemap_file(&path, &pm).unwrap();
        let e = read_pagemap_strict(&path).unwrap_err();
        assert!(
            matches!(e, Error::Unsupported(_)) && e.to_string().contains("unknown"),
            "{e}"
        );
        pm.entries[0].flags = PE_PRESENT | PE_PARENT;
        write_pagemap_file(&path, &pm).unwrap();
        assert!(read_pagemap_strict(&path).is_err());
        // An unknown field (6) in an entry.
        let mut w = ImageWriter::create(&path, PAGEMAP_MAGIC).unwrap();
        w.write_message(&PagemapHead { pages_id: 1 }).unwrap();
        w.write_entry(&[0x08, 0x80, 0x20, 0x10, 0x01, 0x30, 0x01]).unwrap();
        w.finish().unwrap();
        assert!(read_pagemap_file(&path).is_ok());
        let e = read_pagemap_strict(&path).unwrap_err();
        assert!(e.to_string().contains("[6]"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_pagemaps() {
        let pm = Pagemap {
            pages_id: 1,
            entries: vec![PagemapEntry::present(0x1000, 1)],
        };
        let b = pagemap_bytes(&pm);
        for n in 0..b.len() {
            let ok = parse_pagemap(&b[..n]).is_ok();
            // Only the cut right after the head entry is a complete, valid image.
            assert_eq!(ok, n == 14, "cut at {n}");
        }
        // An empty image (no head) is an error.
        assert!(parse_pagemap(&b[..8]).is_err());
        let big = Pagemap {
            pages_id: 1,
            entries: vec![PagemapEntry::present(u64::MAX - 4095, 2)],
        };
        assert!(big.present_bytes().is_ok());
        assert_eq!(big.file_offset_of(u64::MAX), None);
        let huge = Pagemap {
            pages_id: 1,
            entries: vec![PagemapEntry::present(0, u64::MAX)],
        };
        assert!(huge.present_bytes().is_err());
    }
}
