//! The engine's C ABI: CRIU's `struct restore_vma_io` records, the options the caller
//! passes and the result it gets back. Mirrored by `include/pie_restore.h`.

// The records' layout and limits are the shared definition's.
pub use vma_io::{rio_size, RestoreVmaIo, IOV_MAX};

/// How the pages are read. `Auto` picks one of the others.
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Strategy {
    Auto = 0,
    /// CRIU's loop: one `preadv` after another.
    Serial = 1,
    /// Serial, with `readahead` a window ahead of the cursor.
    Prefetch = 2,
    /// Worker threads, each reading a share of the bytes.
    Parallel = 3,
    /// Up to a queue's depth of READV requests in flight on an io_uring.
    IoUring = 4,
    /// The fd switched to O_DIRECT, read by the parallel workers straight into memory.
    Direct = 5,
    /// Upstream CRIU's path: one native AIO context, one PREADV a record, up to 128 in
    /// flight (on a buffered fd each `io_submit` reads synchronously).
    Aio = 6,
    /// `Aio` with the fd switched to O_DIRECT (upstream's `--image-io-mode direct`).
    AioDirect = 7,
}

impl Strategy {
    pub fn from_raw(v: u32) -> Option<Strategy> {
        Some(match v {
            0 => Strategy::Auto,
            1 => Strategy::Serial,
            2 => Strategy::Prefetch,
            3 => Strategy::Parallel,
            4 => Strategy::IoUring,
            5 => Strategy::Direct,
            6 => Strategy::Aio,
            7 => Strategy::AioDirect,
            _ => return None,
        })
    }
}

/// `version` of [`Options`] this engine understands.
pub const OPTIONS_V1: u32 = 1;

/// Options of a restore (C: `struct pie_restore_opts`). Zero means "default" in every
/// field but `version` and `size`, which must be `OPTIONS_V1` and `sizeof`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub version: u32,
    pub size: u32,
    /// A [`Strategy`] value.
    pub strategy: u32,
    /// Threads that read, the caller's included; 0 = chosen from the CPUs and the size.
    pub workers: u32,
    /// Bytes to keep read ahead of the cursor (prefetch); 0 = default.
    pub prefetch_window: u64,
    /// Auto-dedup: read at most this many bytes at once and punch them out of the pages
    /// file behind the read; 0 = off. CRIU uses 128 MiB.
    pub dedup_chunk: u64,
    /// Highest PID the restore uses; worker threads take TIDs above it. 0 = any TID.
    pub max_pid: i32,
    /// `FLAG_*`.
    pub flags: u32,
}

// `struct pie_restore_opts` of include/pie_restore.h, which tests/c_abi.rs checks
// against the header: a field moved here is a build error, not a misread option.
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<Options>() == 40 && align_of::<Options>() == 8);
    assert!(offset_of!(Options, version) == 0);
    assert!(offset_of!(Options, size) == 4);
    assert!(offset_of!(Options, strategy) == 8);
    assert!(offset_of!(Options, workers) == 12);
    assert!(offset_of!(Options, prefetch_window) == 16);
    assert!(offset_of!(Options, dedup_chunk) == 24);
    assert!(offset_of!(Options, max_pid) == 32);
    assert!(offset_of!(Options, flags) == 36);
};

/// Pre-fault each destination range with MADV_POPULATE_WRITE before reading into it
/// (ignored where the kernel lacks it, before 5.14).
pub const FLAG_POPULATE: u32 = 1 << 0;
/// The destination VMAs may use transparent huge pages: each contiguous destination
/// range is advised MADV_HUGEPAGE as a whole, once, before any read.
pub const FLAG_HUGEPAGES: u32 = 1 << 1;
/// Each 2 MiB-aligned extent the records cover completely is filled through one huge
/// page, without advice: the VMA's flags stay as they are (`engine::huge`). Not under
/// THP `never`, nor where the kernel lacks MADV_COLLAPSE (before 6.1) or refuses it for
/// an extent: those stay in 4 KiB pages.
pub const FLAG_HUGE_COLLAPSE: u32 = 1 << 2;
/// Every flag this engine knows; others are EINVAL.
pub const FLAGS_KNOWN: u32 = FLAG_POPULATE | FLAG_HUGEPAGES | FLAG_HUGE_COLLAPSE;

impl Options {
    pub const fn new(strategy: Strategy) -> Options {
        Options {
            version: OPTIONS_V1,
            size: core::mem::size_of::<Options>() as u32,
            strategy: strategy as u32,
            workers: 0,
            prefetch_window: 0,
            dedup_chunk: 0,
            max_pid: 0,
            flags: 0,
        }
    }
}

/// What a restore did (C: `struct pie_restore_result`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Index of the record whose read failed, -1 if none did.
    pub record: i64,
    /// Pages-file offset at which it failed, -1 if none did.
    pub offset: i64,
    /// The strategy that ran (after `Auto` and any fallback).
    pub strategy: u32,
    /// Threads that read, the caller's included.
    pub workers: u32,
    /// Bytes read into memory.
    pub bytes: u64,
}

// `struct pie_restore_result` of include/pie_restore.h (checked against it by
// tests/c_abi.rs).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<Outcome>() == 32 && align_of::<Outcome>() == 8);
    assert!(offset_of!(Outcome, record) == 0);
    assert!(offset_of!(Outcome, offset) == 8);
    assert!(offset_of!(Outcome, strategy) == 16);
    assert!(offset_of!(Outcome, workers) == 20);
    assert!(offset_of!(Outcome, bytes) == 24);
};

impl Outcome {
    pub const fn empty() -> Outcome {
        Outcome {
            record: -1,
            offset: -1,
            strategy: 0,
            workers: 0,
            bytes: 0,
        }
    }
}
