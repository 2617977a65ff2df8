//! File descriptors with ownership: [`OwnedFd`] closes on drop, [`BorrowedFd`] lends one
//! for a lifetime, [`AsFd`] is what the wrappers take (as in rustix and std's I/O safety).

use core::marker::PhantomData;

use super::{nr, raw};
use syscalls::Sysno;

/// A file descriptor number as the kernel takes it.
pub type RawFd = i32;

/// `AT_FDCWD`: the "directory fd" that names the current working directory.
pub const AT_FDCWD: RawFd = linux_raw_sys::general::AT_FDCWD;

/// A file descriptor lent for `'fd`: it stays open at least as long as the borrow.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BorrowedFd<'fd> {
    fd: RawFd,
    _owner: PhantomData<&'fd OwnedFd>,
}

impl BorrowedFd<'_> {
    /// Borrow the raw `fd`.
    ///
    /// # Safety
    /// `fd` must stay open (and keep meaning the same file) for the borrow's lifetime, or
    /// be a number that is never an open fd (`AT_FDCWD`, or -1 to probe for `EBADF`).
    #[inline]
    pub const unsafe fn borrow_raw(fd: RawFd) -> Self {
        BorrowedFd {
            fd,
            _owner: PhantomData,
        }
    }

    /// The fd number.
    #[inline]
    pub const fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

/// The current working directory as the `dirfd` of an `*at` call.
pub const CWD: BorrowedFd<'static> = BorrowedFd {
    fd: AT_FDCWD,
    _owner: PhantomData,
};

/// A file descriptor this value owns: dropping it closes the fd.
#[repr(transparent)]
#[derive(Debug, PartialEq, Eq)]
pub struct OwnedFd {
    fd: RawFd,
}

impl OwnedFd {
    /// Take ownership of the raw `fd`.
    ///
    /// # Safety
    /// `fd` must be open and owned by nobody else: it is closed when this value drops.
    #[inline]
    pub const unsafe fn from_raw_fd(fd: RawFd) -> Self {
        OwnedFd { fd }
    }

    /// The fd number; the fd stays owned by `self`.
    #[inline]
    pub const fn as_raw_fd(&self) -> RawFd {
        self.fd
    }

    /// Give up ownership: the caller closes the returned fd.
    #[inline]
    pub fn into_raw_fd(self) -> RawFd {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }
}

impl Drop for OwnedFd {
    #[inline]
    fn drop(&mut self) {
        // The fd is gone whatever close reports, and a drop has nowhere to report to.
        // SAFETY: `self` owns the fd and nobody uses it after the drop.
        unsafe { raw::syscall1(nr(Sysno::close), self.fd as usize) };
    }
}

/// What can lend a file descriptor: the wrappers take `impl AsFd`.
pub trait AsFd {
    /// Borrow the fd for as long as `self` is borrowed.
    fn as_fd(&self) -> BorrowedFd<'_>;
}

impl AsFd for BorrowedFd<'_> {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        *self
    }
}

impl AsFd for OwnedFd {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd stays open while `self` is borrowed.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }
}

impl<T: AsFd + ?Sized> AsFd for &T {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        T::as_fd(self)
    }
}

impl<T: AsFd + ?Sized> AsFd for &mut T {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        T::as_fd(self)
    }
}

/// Lend the fds of std's I/O-safe types (host builds: tests and the `std` feature).
#[cfg(any(test, feature = "std"))]
macro_rules! as_fd_for_std {
    ($($t:ty),* $(,)?) => {$(
        impl AsFd for $t {
            #[inline]
            fn as_fd(&self) -> BorrowedFd<'_> {
                // SAFETY: std's I/O safety keeps the fd open while `self` is borrowed.
                unsafe { BorrowedFd::borrow_raw(std::os::fd::AsRawFd::as_raw_fd(self)) }
            }
        }
    )*};
}

#[cfg(any(test, feature = "std"))]
as_fd_for_std!(
    std::fs::File,
    std::os::fd::OwnedFd,
    std::os::fd::BorrowedFd<'_>,
    std::os::unix::net::UnixStream,
    std::os::unix::net::UnixListener,
    std::os::unix::net::UnixDatagram,
    std::net::TcpStream,
    std::net::TcpListener,
    std::net::UdpSocket,
    std::io::Stdin,
    std::io::Stdout,
    std::io::Stderr,
    std::process::ChildStdin,
    std::process::ChildStdout,
    std::process::ChildStderr,
);

#[cfg(any(test, feature = "std"))]
impl From<OwnedFd> for std::os::fd::OwnedFd {
    #[inline]
    fn from(fd: OwnedFd) -> Self {
        // SAFETY: the fd is open and its ownership moves from one owner to the other.
        unsafe { std::os::fd::FromRawFd::from_raw_fd(fd.into_raw_fd()) }
    }
}
