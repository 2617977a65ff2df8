//! The kernel's `struct iovec`, shared by the vectored read/write, vmsplice,
//! process_madvise and socket message calls: raw ([`IoVec`]) and borrowed
//! ([`IoSliceMut`], [`IoSlice`]).

use core::marker::PhantomData;

/// The kernel's `struct iovec`, unchecked: for iovecs that come from outside Rust (CRIU's
/// records, whose iovecs point into the restored task's memory). Calls that take these
/// are the `unsafe` `*_raw` forms.
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

/// A buffer the kernel may write into for `'a`: an iovec borrowed from `&'a mut [u8]`,
/// laid out as the kernel's `struct iovec`, so that a slice of them is an iovec array.
#[repr(transparent)]
#[derive(Debug)]
pub struct IoSliceMut<'a> {
    iov: IoVec,
    _buf: PhantomData<&'a mut [u8]>,
}
assert_layout!(IoSliceMut<'static>, size = 16);

impl<'a> IoSliceMut<'a> {
    /// Lend `buf` to a read.
    #[inline]
    pub fn new(buf: &'a mut [u8]) -> Self {
        IoSliceMut {
            iov: IoVec::from_mut(buf),
            _buf: PhantomData,
        }
    }

    /// The buffer's length.
    #[inline]
    pub fn len(&self) -> usize {
        self.iov.len
    }

    /// Whether the buffer is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.iov.len == 0
    }

    /// The raw iovecs of `slices` (same memory, same layout).
    #[inline]
    pub(crate) fn as_iovecs<'s>(slices: &'s mut [IoSliceMut<'a>]) -> &'s [IoVec] {
        // SAFETY: IoSliceMut is repr(transparent) over IoVec.
        unsafe { core::slice::from_raw_parts(slices.as_ptr() as *const IoVec, slices.len()) }
    }
}

/// A buffer the kernel may read from for `'a`: an iovec borrowed from `&'a [u8]`, laid
/// out as the kernel's `struct iovec`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug)]
pub struct IoSlice<'a> {
    iov: IoVec,
    _buf: PhantomData<&'a [u8]>,
}
assert_layout!(IoSlice<'static>, size = 16);

impl<'a> IoSlice<'a> {
    /// Lend `buf` to a write.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        IoSlice {
            iov: IoVec::from_ref(buf),
            _buf: PhantomData,
        }
    }

    /// The buffer's length.
    #[inline]
    pub fn len(&self) -> usize {
        self.iov.len
    }

    /// Whether the buffer is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.iov.len == 0
    }

    /// The raw iovecs of `slices` (same memory, same layout).
    #[inline]
    pub(crate) fn as_iovecs<'s>(slices: &'s [IoSlice<'a>]) -> &'s [IoVec] {
        // SAFETY: IoSlice is repr(transparent) over IoVec.
        unsafe { core::slice::from_raw_parts(slices.as_ptr() as *const IoVec, slices.len()) }
    }
}
