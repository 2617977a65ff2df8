//! Errors as values: the kernel's negative return becomes an [`Errno`], no global state.

/// A Linux error number (positive, as in `<errno.h>`), always in `1..=4095`: the field
/// is private so that a negated return (`-e`) cannot become one by accident.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Errno(i32);

/// The largest errno the kernel reports (`MAX_ERRNO` in `<linux/err.h>`).
const MAX_ERRNO: i32 = 4095;

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
    pub const ENXIO: Errno = Errno(6);
    pub const ENOEXEC: Errno = Errno(8);
    pub const EXDEV: Errno = Errno(18);
    pub const ENODEV: Errno = Errno(19);
    pub const ETXTBSY: Errno = Errno(26);
    pub const EFBIG: Errno = Errno(27);
    pub const ENOSPC: Errno = Errno(28);
    pub const EROFS: Errno = Errno(30);
    pub const EMLINK: Errno = Errno(31);
    pub const EDEADLK: Errno = Errno(35);
    pub const ENAMETOOLONG: Errno = Errno(36);
    pub const ENOLCK: Errno = Errno(37);
    pub const ELOOP: Errno = Errno(40);
    pub const EIDRM: Errno = Errno(43);
    pub const ETIME: Errno = Errno(62);
    pub const EBADFD: Errno = Errno(77);
    pub const EDESTADDRREQ: Errno = Errno(89);
    pub const EMSGSIZE: Errno = Errno(90);
    pub const EPROTOTYPE: Errno = Errno(91);
    pub const ENOPROTOOPT: Errno = Errno(92);
    pub const EPROTONOSUPPORT: Errno = Errno(93);
    pub const ESOCKTNOSUPPORT: Errno = Errno(94);
    pub const EAFNOSUPPORT: Errno = Errno(97);
    pub const EADDRINUSE: Errno = Errno(98);
    pub const EADDRNOTAVAIL: Errno = Errno(99);
    pub const ENETUNREACH: Errno = Errno(101);
    pub const ECONNABORTED: Errno = Errno(103);
    pub const ECONNRESET: Errno = Errno(104);
    pub const ENOBUFS: Errno = Errno(105);
    pub const EISCONN: Errno = Errno(106);
    pub const ENOTCONN: Errno = Errno(107);
    pub const ECONNREFUSED: Errno = Errno(111);
    pub const EALREADY: Errno = Errno(114);
    pub const EINPROGRESS: Errno = Errno(115);
    pub const ESTALE: Errno = Errno(116);
    pub const EDQUOT: Errno = Errno(122);
    pub const ECANCELED: Errno = Errno(125);
    pub const EOWNERDEAD: Errno = Errno(130);
    /// Same value as [`Errno::EAGAIN`] on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Same value as [`Errno::EOPNOTSUPP`] on Linux.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The errno `code`, or `None` when it is outside `1..=4095` (the range the kernel
    /// reports errors in).
    #[inline]
    pub const fn new(code: i32) -> Option<Errno> {
        if code >= 1 && code <= MAX_ERRNO {
            Some(Errno(code))
        } else {
            None
        }
    }

    /// The errno of a kernel return `ret` in `-4095..=-1` (an io_uring CQE's `res`, a
    /// raw syscall's value), or `None` for anything else.
    #[inline]
    pub const fn from_negated(ret: i32) -> Option<Errno> {
        if ret < 0 {
            Self::new(ret.wrapping_neg())
        } else {
            None
        }
    }

    /// The positive code, as in `<errno.h>`.
    #[inline]
    pub const fn raw_os_error(self) -> i32 {
        self.0
    }

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
    #[allow(clippy::should_implement_trait)] // a plain value, not arithmetic negation of an Errno
    pub fn neg(self) -> i32 {
        -self.0
    }
}
