//! The kernel's `struct iovec`, shared by the vectored read/write, vmsplice,
//! process_madvise and socket message calls.

/// The kernel's `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    pub base: *mut u8,
    pub len: usize,
}
assert_layout!(IoVec, size = 16, base = 0, len = 8);

impl IoVec {
    /// An iovec over a mutable buffer (for reads).
    #[inline]
    pub fn from_mut(buf: &mut [u8]) -> Self {
        IoVec {
            base: buf.as_mut_ptr(),
            len: buf.len(),
        }
    }

    /// An iovec over a shared buffer (for writes; the kernel must not write through it).
    #[inline]
    pub fn from_ref(buf: &[u8]) -> Self {
        IoVec {
            base: buf.as_ptr() as *mut u8,
            len: buf.len(),
        }
    }
}
