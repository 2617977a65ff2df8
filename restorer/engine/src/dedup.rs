//! Auto-dedup, as CRIU's `--auto-dedup` restore: read at most a chunk at once and punch
//! what was read out of the pages file, so that the image shrinks as memory fills.

use pie_sys::fd::BorrowedFd;
use pie_sys::fs;

/// The auto-dedup of one restore.
#[derive(Clone, Copy)]
pub struct Dedup {
    /// Bytes read at most at once; 0 = off.
    chunk: u64,
}

impl Dedup {
    pub const fn new(chunk: u64) -> Dedup {
        Dedup { chunk }
    }

    /// Bytes one read may take, at most `max`.
    pub fn limit(&self, max: u64) -> u64 {
        if self.chunk != 0 {
            self.chunk.min(max)
        } else {
            max
        }
    }

    /// `len` bytes at `off` of `fd` were read: punch them out (when on).
    pub fn punch(&self, fd: BorrowedFd<'_>, off: i64, len: i64) {
        if self.chunk != 0 {
            // Failing to punch costs only disk space, as in CRIU.
            let _ = fs::fallocate(
                fd,
                fs::FallocateFlags::KEEP_SIZE | fs::FallocateFlags::PUNCH_HOLE,
                off,
                len,
            );
        }
    }
}
