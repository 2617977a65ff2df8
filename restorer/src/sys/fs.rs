//! File I/O: reads, hints to the page cache, file space.

use super::{nr, raw, Errno, Result};
use syscalls::Sysno;

/// The kernel's `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    pub base: *mut u8,
    pub len: usize,
}

/// `readahead(2)`: start reading `count` bytes at `offset` of `fd` into the page cache.
#[inline]
pub fn readahead(fd: i32, offset: i64, count: usize) -> Result<()> {
    // SAFETY: readahead writes no user memory.
    Errno::result(unsafe {
        raw::syscall3(nr(Sysno::readahead), fd as usize, offset as usize, count)
    })
    .map(|_| ())
}

/// `preadv(2)`: read from `fd` at `offset` into the buffers of `iov`, in order.
///
/// # Safety
/// Every iovec must describe memory writable for its length.
#[inline]
pub unsafe fn preadv(fd: i32, iov: &[IoVec], offset: i64) -> Result<usize> {
    // preadv splits the offset into low and high words; on x86_64 the high is unused.
    // SAFETY: the caller vouches for the buffers.
    Errno::result(unsafe {
        raw::syscall5(
            nr(Sysno::preadv),
            fd as usize,
            iov.as_ptr() as usize,
            iov.len(),
            offset as usize,
            0,
        )
    })
}
