//! Magic numbers and constants of the CRIU image format (x86_64).
//!
//! Every image but the inventory and the raw images starts with two little-endian `u32`s:
//! the head magic ([`IMG_COMMON_MAGIC`], or [`IMG_SERVICE_MAGIC`] for service files) and
//! the image type's own magic. The inventory starts with [`INVENTORY_MAGIC`] alone. Raw
//! images (type magic [`RAW_IMAGE_MAGIC`], e.g. `pages-*.img`) have no header at all.

/// Head magic of regular images.
pub const IMG_COMMON_MAGIC: u32 = 0x5456_4319;
/// Head magic of service images (stats, irmap cache).
pub const IMG_SERVICE_MAGIC: u32 = 0x5510_5940;
/// Type magic of raw images, which carry no header.
pub const RAW_IMAGE_MAGIC: u32 = 0;

pub const INVENTORY_MAGIC: u32 = 0x5831_3116;
pub const PSTREE_MAGIC: u32 = 0x5027_3030;
pub const FDINFO_MAGIC: u32 = 0x5621_3732;
pub const PAGEMAP_MAGIC: u32 = 0x5608_4025;
pub const SHMEM_PAGEMAP_MAGIC: u32 = PAGEMAP_MAGIC;
pub const PAGES_MAGIC: u32 = RAW_IMAGE_MAGIC;
pub const CORE_MAGIC: u32 = 0x5505_3847;
pub const IDS_MAGIC: u32 = 0x5443_2030;
pub const MM_MAGIC: u32 = 0x5749_2820;
pub const FILES_MAGIC: u32 = 0x5630_3138;
pub const FS_MAGIC: u32 = 0x5140_3912;
pub const CREDS_MAGIC: u32 = 0x5402_3547;
pub const SIGACT_MAGIC: u32 = 0x5534_4201;
pub const TIMENS_MAGIC: u32 = 0x4311_4433;
pub const STATS_MAGIC: u32 = 0x5709_3306;
pub const IRMAP_CACHE_MAGIC: u32 = 0x5700_4059;

/// Page size of the images (x86_64), as a `u64` for image arithmetic.
pub const PAGE_SIZE: u64 = vma_io::PAGE_SIZE as u64;

/// The kernel's limit on iovecs per `preadv` (`UIO_MAXIOV`). CRIU starts a new record
/// rather than let one reach it, so a record holds at most `IOV_MAX - 1` iovecs.
pub use vma_io::IOV_MAX;

/// Most iovecs one `restore_vma_io` record built by CRIU's rules holds.
pub const MAX_IOVS_PER_RECORD: usize = IOV_MAX - 1;

/// Pagemap entry flag: the pages are in the parent snapshot's images.
pub const PE_PARENT: u32 = 1 << 0;
/// Pagemap entry flag: the pages may be restored lazily (userfaultfd).
pub const PE_LAZY: u32 = 1 << 1;
/// Pagemap entry flag: the pages' contents are in this snapshot's pages file.
pub const PE_PRESENT: u32 = 1 << 2;
/// All pagemap entry flags this crate knows.
pub const PE_KNOWN: u32 = PE_PARENT | PE_LAZY | PE_PRESENT;

/// A readable name for a type magic, if it is one of the constants above.
pub fn name(magic: u32) -> Option<&'static str> {
    Some(match magic {
        INVENTORY_MAGIC => "INVENTORY",
        PSTREE_MAGIC => "PSTREE",
        FDINFO_MAGIC => "FDINFO",
        PAGEMAP_MAGIC => "PAGEMAP",
        CORE_MAGIC => "CORE",
        IDS_MAGIC => "IDS",
        MM_MAGIC => "MM",
        FILES_MAGIC => "FILES",
        FS_MAGIC => "FS",
        CREDS_MAGIC => "CREDS",
        SIGACT_MAGIC => "SIGACT",
        TIMENS_MAGIC => "TIMENS",
        STATS_MAGIC => "STATS",
        IRMAP_CACHE_MAGIC => "IRMAP_CACHE",
        RAW_IMAGE_MAGIC => "RAW",
        _ => return None,
    })
}
