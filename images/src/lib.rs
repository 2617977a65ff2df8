//! Read and write CRIU image files, and build the packed `restore_vma_io` records CRIU's
//! restorer consumes.
//!
//! A host-side library: [`pagemap`] reads `pagemap-N.img`, [`records`] turns a pagemap into
//! the records by CRIU's rules (and parses them back), [`synth`] writes synthetic images
//! with a checkable content pattern, [`mm`] reads the VMA list of `mm-N.img`. Formats are
//! those of CRIU on x86_64 (4 KiB pages, 64-bit `iovec`s).

pub mod error;
pub mod image;
pub mod magic;
pub mod mm;
pub mod pagemap;
pub mod proto;
pub mod pstree;
pub mod records;
pub mod synth;

pub use error::{Error, Result};
pub use pagemap::{read_pagemap, Pagemap, PagemapEntry, PagemapHead};
pub use records::{
    build_for_vmas, build_for_vmas_with, build_from_pagemap, build_from_pagemap_with, parse, BuildOptions, Lazy,
    Record, VmaIoBuilder, VmaIos, VmaMap,
};
pub use synth::{write_images, SynthImages, SynthSpec, SynthVma};
