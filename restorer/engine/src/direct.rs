//! O_DIRECT on the pages fd for the length of a restore: cold pages go from the disk
//! straight into the task's memory, with no copy through (and no growth of) the page
//! cache.

use core::sync::atomic::{AtomicBool, Ordering};

use pie_sys::fd::BorrowedFd;
use pie_sys::fs::{self, OFlags};
use pie_sys::{Errno, Result};

/// Alignment O_DIRECT needs of offsets, lengths and addresses (a page covers every
/// logical block size in use).
pub const DIRECT_ALIGN: u64 = vma_io::PAGE_SIZE as u64;

/// The fd switched to O_DIRECT; dropping it restores the flags it had.
pub struct DirectMode<'fd> {
    fd: BorrowedFd<'fd>,
    old_flags: OFlags,
    on: AtomicBool,
}

impl<'fd> DirectMode<'fd> {
    /// Switch `fd` to O_DIRECT with `fcntl(F_SETFL)`. EINVAL means the filesystem has no
    /// direct I/O (tmpfs on older kernels, some FUSE and network filesystems).
    pub fn enable(fd: BorrowedFd<'fd>) -> Result<DirectMode<'fd>> {
        let old_flags = fs::fcntl_getfl(fd)?;
        fs::fcntl_setfl(fd, old_flags | OFlags::DIRECT)?;
        Ok(DirectMode {
            fd,
            old_flags,
            on: AtomicBool::new(true),
        })
    }

    /// A read said EINVAL under O_DIRECT: go back to buffered reads, for every reader
    /// (the flag belongs to the open file, shared by all threads). Returns whether the
    /// read is worth retrying.
    pub fn fall_back(&self, e: Errno) -> bool {
        if e != Errno::EINVAL {
            return false;
        }
        if self.on.swap(false, Ordering::AcqRel) {
            // Another reader may have switched already; either way the read is retried.
            let _ = fs::fcntl_setfl(self.fd, self.old_flags);
        }
        true
    }

    /// Whether reads still go around the page cache.
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }
}

impl Drop for DirectMode<'_> {
    fn drop(&mut self) {
        if self.on.load(Ordering::Acquire) {
            let _ = fs::fcntl_setfl(self.fd, self.old_flags);
        }
    }
}
