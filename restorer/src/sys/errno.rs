//! Errors as values: the kernel's negative return becomes an [`Errno`], no global state.

/// A Linux error number (positive, as in `<errno.h>`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Errno(pub i32);

/// The result of a syscall wrapper.
pub type Result<T> = core::result::Result<T, Errno>;

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const EIO: Errno = Errno(5);
    pub const E2BIG: Errno = Errno(7);
    pub const EBADF: Errno = Errno(9);
    pub const ECHILD: Errno = Errno(10);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EFAULT: Errno = Errno(14);
    pub const EBUSY: Errno = Errno(16);
    pub const EEXIST: Errno = Errno(17);
    pub const ENOTDIR: Errno = Errno(20);
    pub const EISDIR: Errno = Errno(21);
    pub const EINVAL: Errno = Errno(22);
    pub const ENFILE: Errno = Errno(23);
    pub const EMFILE: Errno = Errno(24);
    pub const ENOTTY: Errno = Errno(25);
    pub const ESPIPE: Errno = Errno(29);
    pub const EPIPE: Errno = Errno(32);
    pub const ERANGE: Errno = Errno(34);
    pub const ENOSYS: Errno = Errno(38);
    pub const ENOTEMPTY: Errno = Errno(39);
    pub const ENODATA: Errno = Errno(61);
    pub const EOVERFLOW: Errno = Errno(75);
    pub const ENOTSOCK: Errno = Errno(88);
    pub const EOPNOTSUPP: Errno = Errno(95);
    pub const ETIMEDOUT: Errno = Errno(110);

    /// Turn a raw kernel return value into `Ok(value)` or `Err(errno)`.
    ///
    /// The kernel reports errors as values in `-4095..=-1`; anything else is a result
    /// (addresses from `mmap` may have the top bit set).
    #[inline(always)]
    pub fn result(raw: usize) -> Result<usize> {
        if raw > (-4096isize) as usize {
            Err(Errno(-(raw as isize) as i32))
        } else {
            Ok(raw)
        }
    }

    /// The negative form CRIU's C code returns (`-errno`).
    #[inline]
    pub fn neg(self) -> i32 {
        -self.0
    }
}
