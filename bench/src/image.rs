//! The benchmark's synthetic CRIU image: one dense VMA (the shape of a heap or of GPU
//! memory moved to the host), written with `criu-image` and read back through its
//! pagemap reader and record builder, as CRIU would queue it.

use std::fs::File;
use std::path::{Path, PathBuf};

use criu_image::pagemap::{read_pagemap, Pagemap};
use criu_image::records::build_from_pagemap;
use criu_image::synth::{check_pattern, write_images, SynthSpec};

use pie_mapping::Mapping;

const SEED: u64 = 0x5eed_cafe;
const VMA_START: u64 = 0x7f00_0000_0000;
const PAGE: u64 = criu_image::magic::PAGE_SIZE;

pub struct Image {
    pub dir: PathBuf,
    pub pages_path: PathBuf,
    pub pagemap: Pagemap,
    /// Bytes of the destination (the VMA).
    pub span: u64,
    /// Bytes read (the pages file).
    pub bytes: u64,
}

impl Image {
    /// Write (or reuse) the image of `size_mib` MiB under `dir`.
    pub fn prepare(dir: &Path, size_mib: u64) -> Result<Image, String> {
        let dir = dir.join(format!("dense-{size_mib}m"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let pages = size_mib * (1 << 20) / PAGE;
        let id = 1;
        let pagemap = match read_pagemap(&dir, id) {
            Ok(pm) if pm.entries.iter().map(|e| e.nr_pages).sum::<u64>() == pages => pm,
            _ => {
                write_images(&dir, id, &SynthSpec::one_large(VMA_START, pages, SEED))
                    .map_err(|e| format!("writing the image: {e}"))?
                    .pagemap
            }
        };
        let pages_path = dir.join(format!("pages-{}.img", pagemap.pages_id));
        let bytes = std::fs::metadata(&pages_path)
            .map_err(|e| format!("{}: {e}", pages_path.display()))?
            .len();
        if bytes != pages * PAGE {
            return Err(format!(
                "{} holds {bytes} bytes, expected {}",
                pages_path.display(),
                pages * PAGE
            ));
        }
        Ok(Image {
            dir,
            pages_path,
            pagemap,
            span: pages * PAGE,
            bytes,
        })
    }

    pub fn open(&self) -> Result<File, String> {
        File::open(&self.pages_path).map_err(|e| format!("{}: {e}", self.pages_path.display()))
    }

    /// CRIU's records for a restore into `base` (as 8-aligned words and a count).
    pub fn records(&self, base: *mut u8) -> (Vec<u64>, usize) {
        let ios = build_from_pagemap(&self.pagemap, |vaddr| base as u64 + (vaddr - VMA_START)).expect("records");
        (ios.bytes.words().to_vec(), ios.count)
    }

    /// Read the whole file once so that it sits in the page cache.
    pub fn warm_up(&self) {
        use std::io::Read;
        if let Ok(mut f) = self.open() {
            let mut buf = vec![0u8; 16 << 20];
            while matches!(f.read(&mut buf), Ok(n) if n > 0) {}
        }
    }

    /// Every byte of the region against the pattern, on all CPUs.
    pub fn verify(&self, region: &Mapping) -> Result<(), String> {
        let bytes = region.bytes();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = bytes.len().div_ceil(threads).next_multiple_of(PAGE as usize);
        let bad = std::thread::scope(|s| {
            let hs: Vec<_> = bytes
                .chunks(chunk)
                .enumerate()
                .map(|(i, c)| {
                    s.spawn(move || check_pattern(SEED, VMA_START + (i * chunk) as u64, c).map(|o| i * chunk + o))
                })
                .collect();
            hs.into_iter().filter_map(|h| h.join().unwrap()).min()
        });
        match bad {
            None => Ok(()),
            Some(off) => Err(format!("wrong byte at offset {off:#x} of the restored VMA")),
        }
    }

    /// The pages file mapped read-only and faulted in from the page cache.
    pub fn map_cached(&self) -> Result<Mapping, String> {
        use std::os::fd::AsFd;
        let f = self.open()?;
        Mapping::file(f.as_fd(), self.bytes as usize).map_err(|e| format!("mmap pages: {e}"))
    }

    /// Copy the image's bytes into the region as a restore would place them, with
    /// `threads` threads: each takes a contiguous share. (Pre-faulting the shares first
    /// was faster on 2 CPUs and 4x slower on 16: the plain copy is the limit.)
    pub fn copy_like_restore(&self, src: &Mapping, region: &Mapping, threads: usize) {
        // One dense VMA: file offset = offset in the VMA.
        let len = self.bytes as usize;
        let share = len.div_ceil(threads.max(1)).next_multiple_of(PAGE as usize);
        let (s, d) = (src.as_ptr() as usize, region.as_ptr() as usize);
        std::thread::scope(|sc| {
            for start in (0..len).step_by(share) {
                let n = share.min(len - start);
                sc.spawn(move || {
                    // SAFETY: disjoint shares of the source mapping and the destination region.
                    unsafe { std::ptr::copy_nonoverlapping((s + start) as *const u8, (d + start) as *mut u8, n) };
                });
            }
        });
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
