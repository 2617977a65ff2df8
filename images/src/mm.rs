//! `mm-N.img`: the dumped task's memory layout, of which this crate uses the VMA list.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::image::{ImageReader, ImageWriter};
use crate::magic::MM_MAGIC;
pub use crate::proto::{MmEntry, VmaEntry};
use crate::records::VmaMap;

/// `VmaEntry::status` bit: a regular mapping (CRIU's `VMA_AREA_REGULAR`).
pub const VMA_AREA_REGULAR: u32 = 1 << 0;
/// `VmaEntry::status` bit: a stack (CRIU's `VMA_AREA_STACK`).
pub const VMA_AREA_STACK: u32 = 1 << 1;
/// `VmaEntry::status` bit: the heap (`brk`, CRIU's `VMA_AREA_HEAP`).
pub const VMA_AREA_HEAP: u32 = 1 << 5;
/// `VmaEntry::status` bit: the vDSO.
pub const VMA_AREA_VDSO: u32 = 1 << 3;
/// `VmaEntry::status` bit: the vvar area.
pub const VMA_AREA_VVAR: u32 = 1 << 12;
/// `VmaEntry::status` bit: a private file mapping.
pub const VMA_FILE_PRIVATE: u32 = 1 << 6;
/// `VmaEntry::status` bit: a shared file mapping.
pub const VMA_FILE_SHARED: u32 = 1 << 7;
/// `VmaEntry::status` bit: a shared anonymous mapping.
pub const VMA_ANON_SHARED: u32 = 1 << 8;
/// `VmaEntry::status` bit: a private anonymous mapping.
pub const VMA_ANON_PRIVATE: u32 = 1 << 9;

/// `VmaEntry::flags` bits (the mmap flags, x86_64).
pub const MAP_SHARED: u32 = 0x01;
pub const MAP_PRIVATE: u32 = 0x02;
pub const MAP_ANONYMOUS: u32 = 0x20;
pub const MAP_GROWSDOWN: u32 = 0x0100;
pub const MAP_HUGETLB: u32 = 0x4_0000;

/// `dir/mm-<id>.img`.
pub fn mm_path(dir: impl AsRef<Path>, id: u32) -> PathBuf {
    dir.as_ref().join(format!("mm-{id}.img"))
}

/// Read `dir/mm-<id>.img` (one `mm_entry`).
pub fn read_mm(dir: impl AsRef<Path>, id: u32) -> Result<MmEntry> {
    let mut r = ImageReader::open(mm_path(dir, id), MM_MAGIC)?;
    r.expect_message("mm_entry")
}

/// Write `mm` as `dir/mm-<id>.img`.
pub fn write_mm(dir: impl AsRef<Path>, id: u32, mm: &MmEntry) -> Result<PathBuf> {
    let path = mm_path(dir, id);
    let mut w = ImageWriter::create(&path, MM_MAGIC)?;
    w.write_message(mm)?;
    w.finish()?;
    Ok(path)
}

/// The VMAs of `mm`, restored in place, for [`build_for_vmas`](crate::records::build_for_vmas).
pub fn identity_maps(mm: &MmEntry) -> Vec<VmaMap> {
    mm.vmas.iter().map(|v| VmaMap::identity(v.start, v.end)).collect()
}
