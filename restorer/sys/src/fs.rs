//! File descriptors and file data: open and close, reads and writes (plain, positioned,
//! vectored), page cache hints, file space, fd control, pipes, memfds, ioctl, poll.

use core::ffi::CStr;

pub use super::at_flags::AtFlags;
use super::fd::{AsFd, OwnedFd, RawFd};
pub use super::fd::{AT_FDCWD, CWD};
pub use super::io_slice::IoVec;
use super::io_slice::{IoSlice, IoSliceMut};
pub use super::ioctl::{FIOCLEX, FIONBIO, FIONREAD, TCGETS};
pub use super::oflags::OFlags;
use super::ret::{fd_arg, ret_c_int, ret_owned_fd, ret_unit, ret_usize};
use super::sigtypes::SigSet;
use super::timespec::Timespec;
use super::{cstr, nr, opt_ptr, raw, Result};
use syscalls::Sysno;

// `openat2` resolve flags.
pub const RESOLVE_NO_XDEV: u64 = linux_raw_sys::general::RESOLVE_NO_XDEV as u64;
pub const RESOLVE_NO_MAGICLINKS: u64 = linux_raw_sys::general::RESOLVE_NO_MAGICLINKS as u64;
pub const RESOLVE_NO_SYMLINKS: u64 = linux_raw_sys::general::RESOLVE_NO_SYMLINKS as u64;
pub const RESOLVE_BENEATH: u64 = linux_raw_sys::general::RESOLVE_BENEATH as u64;
pub const RESOLVE_IN_ROOT: u64 = linux_raw_sys::general::RESOLVE_IN_ROOT as u64;
pub const RESOLVE_CACHED: u64 = linux_raw_sys::general::RESOLVE_CACHED as u64;

// `lseek` whence.
pub const SEEK_SET: i32 = linux_raw_sys::general::SEEK_SET as i32;
pub const SEEK_CUR: i32 = linux_raw_sys::general::SEEK_CUR as i32;
pub const SEEK_END: i32 = linux_raw_sys::general::SEEK_END as i32;
pub const SEEK_DATA: i32 = linux_raw_sys::general::SEEK_DATA as i32;
pub const SEEK_HOLE: i32 = linux_raw_sys::general::SEEK_HOLE as i32;

// `fcntl` commands.
pub const F_DUPFD: i32 = linux_raw_sys::general::F_DUPFD as i32;
pub const F_GETFD: i32 = linux_raw_sys::general::F_GETFD as i32;
pub const F_SETFD: i32 = linux_raw_sys::general::F_SETFD as i32;
pub const F_GETFL: i32 = linux_raw_sys::general::F_GETFL as i32;
pub const F_SETFL: i32 = linux_raw_sys::general::F_SETFL as i32;
pub const F_GETLK: i32 = linux_raw_sys::general::F_GETLK as i32;
pub const F_SETLK: i32 = linux_raw_sys::general::F_SETLK as i32;
pub const F_SETLKW: i32 = linux_raw_sys::general::F_SETLKW as i32;
pub const F_SETOWN: i32 = linux_raw_sys::general::F_SETOWN as i32;
pub const F_GETOWN: i32 = linux_raw_sys::general::F_GETOWN as i32;
pub const F_SETSIG: i32 = linux_raw_sys::general::F_SETSIG as i32;
pub const F_GETSIG: i32 = linux_raw_sys::general::F_GETSIG as i32;
pub const F_SETOWN_EX: i32 = linux_raw_sys::general::F_SETOWN_EX as i32;
pub const F_GETOWN_EX: i32 = linux_raw_sys::general::F_GETOWN_EX as i32;
pub const F_OFD_GETLK: i32 = linux_raw_sys::general::F_OFD_GETLK as i32;
pub const F_OFD_SETLK: i32 = linux_raw_sys::general::F_OFD_SETLK as i32;
pub const F_OFD_SETLKW: i32 = linux_raw_sys::general::F_OFD_SETLKW as i32;
pub const F_SETLEASE: i32 = linux_raw_sys::general::F_SETLEASE as i32;
pub const F_GETLEASE: i32 = linux_raw_sys::general::F_GETLEASE as i32;
pub const F_DUPFD_CLOEXEC: i32 = linux_raw_sys::general::F_DUPFD_CLOEXEC as i32;
pub const F_SETPIPE_SZ: i32 = linux_raw_sys::general::F_SETPIPE_SZ as i32;
pub const F_GETPIPE_SZ: i32 = linux_raw_sys::general::F_GETPIPE_SZ as i32;
pub const F_ADD_SEALS: i32 = linux_raw_sys::general::F_ADD_SEALS as i32;
pub const F_GET_SEALS: i32 = linux_raw_sys::general::F_GET_SEALS as i32;
bitflags::bitflags! {
    /// `FD_*`: the flags of the fd itself (not of the open file), as `F_GETFD`/`F_SETFD`
    /// carry them.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct FdFlags: u32 {
        const CLOEXEC = linux_raw_sys::general::FD_CLOEXEC;
        // The kernel keeps (and reports) bits this list may lack.
        const _ = !0;
    }
}
// memfd seals.
pub const F_SEAL_SEAL: i32 = linux_raw_sys::general::F_SEAL_SEAL as i32;
pub const F_SEAL_SHRINK: i32 = linux_raw_sys::general::F_SEAL_SHRINK as i32;
pub const F_SEAL_GROW: i32 = linux_raw_sys::general::F_SEAL_GROW as i32;
pub const F_SEAL_WRITE: i32 = linux_raw_sys::general::F_SEAL_WRITE as i32;
pub const F_SEAL_FUTURE_WRITE: i32 = linux_raw_sys::general::F_SEAL_FUTURE_WRITE as i32;
pub const F_SEAL_EXEC: i32 = linux_raw_sys::general::F_SEAL_EXEC as i32;

// `flock` operations.
pub const LOCK_SH: i32 = linux_raw_sys::general::LOCK_SH as i32;
pub const LOCK_EX: i32 = linux_raw_sys::general::LOCK_EX as i32;
pub const LOCK_NB: i32 = linux_raw_sys::general::LOCK_NB as i32;
pub const LOCK_UN: i32 = linux_raw_sys::general::LOCK_UN as i32;

// `fadvise64` advice.
pub const POSIX_FADV_NORMAL: i32 = linux_raw_sys::general::POSIX_FADV_NORMAL as i32;
pub const POSIX_FADV_RANDOM: i32 = linux_raw_sys::general::POSIX_FADV_RANDOM as i32;
pub const POSIX_FADV_SEQUENTIAL: i32 = linux_raw_sys::general::POSIX_FADV_SEQUENTIAL as i32;
pub const POSIX_FADV_WILLNEED: i32 = linux_raw_sys::general::POSIX_FADV_WILLNEED as i32;
pub const POSIX_FADV_DONTNEED: i32 = linux_raw_sys::general::POSIX_FADV_DONTNEED as i32;
pub const POSIX_FADV_NOREUSE: i32 = linux_raw_sys::general::POSIX_FADV_NOREUSE as i32;

/// `RWF_NOAPPEND`, hand-written: see [`ReadWriteFlags::NOAPPEND`].
pub const RWF_NOAPPEND: u32 = 0x20;

bitflags::bitflags! {
    /// `RWF_*`: per-call flags of `preadv2`/`pwritev2`.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ReadWriteFlags: u32 {
        const HIPRI = linux_raw_sys::general::RWF_HIPRI;
        const DSYNC = linux_raw_sys::general::RWF_DSYNC;
        const SYNC = linux_raw_sys::general::RWF_SYNC;
        const NOWAIT = linux_raw_sys::general::RWF_NOWAIT;
        const APPEND = linux_raw_sys::general::RWF_APPEND;
        // Linux 6.9; not in linux-raw-sys yet (checked against the C headers in the tests).
        const NOAPPEND = RWF_NOAPPEND;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// `FALLOC_FL_*`: what `fallocate` does with the range (none: allocate it).
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct FallocateFlags: u32 {
        const KEEP_SIZE = linux_raw_sys::general::FALLOC_FL_KEEP_SIZE;
        const PUNCH_HOLE = linux_raw_sys::general::FALLOC_FL_PUNCH_HOLE;
        const COLLAPSE_RANGE = linux_raw_sys::general::FALLOC_FL_COLLAPSE_RANGE;
        const ZERO_RANGE = linux_raw_sys::general::FALLOC_FL_ZERO_RANGE;
        const INSERT_RANGE = linux_raw_sys::general::FALLOC_FL_INSERT_RANGE;
        const UNSHARE_RANGE = linux_raw_sys::general::FALLOC_FL_UNSHARE_RANGE;
        const _ = !0;
    }
}

// `memfd_create` flags.
bitflags::bitflags! {
    /// `MFD_*`: how `memfd_create` makes the file.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct MemfdFlags: u32 {
        const CLOEXEC = linux_raw_sys::general::MFD_CLOEXEC;
        const ALLOW_SEALING = linux_raw_sys::general::MFD_ALLOW_SEALING;
        const HUGETLB = linux_raw_sys::general::MFD_HUGETLB;
        const NOEXEC_SEAL = linux_raw_sys::general::MFD_NOEXEC_SEAL;
        const EXEC = linux_raw_sys::general::MFD_EXEC;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

// `close_range` flags.
pub const CLOSE_RANGE_UNSHARE: u32 = 1 << 1;
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

// `vmsplice` flags.
pub const SPLICE_F_MOVE: u32 = linux_raw_sys::general::SPLICE_F_MOVE;
pub const SPLICE_F_NONBLOCK: u32 = linux_raw_sys::general::SPLICE_F_NONBLOCK;
pub const SPLICE_F_MORE: u32 = linux_raw_sys::general::SPLICE_F_MORE;
pub const SPLICE_F_GIFT: u32 = linux_raw_sys::general::SPLICE_F_GIFT;

// `ppoll` events.
pub const POLLIN: i16 = linux_raw_sys::general::POLLIN as i16;
pub const POLLPRI: i16 = linux_raw_sys::general::POLLPRI as i16;
pub const POLLOUT: i16 = linux_raw_sys::general::POLLOUT as i16;
pub const POLLERR: i16 = linux_raw_sys::general::POLLERR as i16;
pub const POLLHUP: i16 = linux_raw_sys::general::POLLHUP as i16;
pub const POLLNVAL: i16 = linux_raw_sys::general::POLLNVAL as i16;
pub const POLLRDHUP: i16 = linux_raw_sys::general::POLLRDHUP as i16;

/// The kernel's `struct open_how`, the argument of `openat2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenHow {
    /// `O_*` flags.
    pub flags: u64,
    /// Mode for `O_CREAT`/`O_TMPFILE`; must be 0 otherwise.
    pub mode: u64,
    /// `RESOLVE_*` flags.
    pub resolve: u64,
}
assert_layout!(OpenHow, size = 24, flags = 0, mode = 8, resolve = 16);

/// The kernel's `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}
assert_layout!(PollFd, size = 8, fd = 0, events = 4, revents = 6);

/// The kernel's `struct cachestat_range`: `len == 0` means to the end of the file.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CachestatRange {
    pub off: u64,
    pub len: u64,
}
assert_layout!(CachestatRange, size = 16);

/// The kernel's `struct cachestat`: page counts of the range.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cachestat {
    pub nr_cache: u64,
    pub nr_dirty: u64,
    pub nr_writeback: u64,
    pub nr_evicted: u64,
    pub nr_recently_evicted: u64,
}
assert_layout!(Cachestat, size = 40);

// ---------------------------------------------------------------------------------------
// Opening and closing.

/// `open(2)`: open `path` relative to the cwd; `mode` applies on create.
#[inline]
pub fn open(path: &CStr, flags: OFlags, mode: u32) -> Result<OwnedFd> {
    // SAFETY: the kernel only reads the NUL-terminated path.
    ret_owned_fd(unsafe { raw::syscall3(nr(Sysno::open), cstr(path), flags.bits() as usize, mode as usize) })
}

/// `openat(2)`: open `path` relative to `dirfd` (or [`CWD`]).
#[inline]
pub fn openat(dirfd: impl AsFd, path: &CStr, flags: OFlags, mode: u32) -> Result<OwnedFd> {
    // SAFETY: the kernel only reads the NUL-terminated path.
    ret_owned_fd(unsafe {
        raw::syscall4(
            nr(Sysno::openat),
            fd_arg(&dirfd),
            cstr(path),
            flags.bits() as usize,
            mode as usize,
        )
    })
}

/// `openat2(2)`: `openat` with an extensible [`OpenHow`] (flags, mode, `RESOLVE_*`).
#[inline]
pub fn openat2(dirfd: impl AsFd, path: &CStr, how: &OpenHow) -> Result<OwnedFd> {
    // SAFETY: the kernel reads the path and `size_of::<OpenHow>()` bytes of `how`.
    ret_owned_fd(unsafe {
        raw::syscall4(
            nr(Sysno::openat2),
            fd_arg(&dirfd),
            cstr(path),
            how as *const OpenHow as usize,
            core::mem::size_of::<OpenHow>(),
        )
    })
}

/// `close(2)`: release `fd`; the fd is gone even when an error is returned. Dropping an
/// [`OwnedFd`] is the safe way; this is for fds nothing owns (and for its error).
///
/// # Safety
/// Nothing may use `fd` afterwards: whatever owns it would close or use another file
/// that reuses the number.
#[inline]
pub unsafe fn close(fd: RawFd) -> Result<()> {
    // SAFETY: close touches no user memory; the caller vouches that nobody owns fd.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::close), fd as usize) })
}

/// `close_range(2)`: close (or with [`CLOSE_RANGE_CLOEXEC`] mark close-on-exec) fds
/// `first..=last`.
///
/// # Safety
/// Unless the flags only mark close-on-exec, nothing may use the closed fds afterwards
/// (as for [`close`]).
#[inline]
pub unsafe fn close_range(first: u32, last: u32, flags: u32) -> Result<()> {
    // SAFETY: close_range touches no user memory; the caller vouches for the fds.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::close_range), first as usize, last as usize, flags as usize) })
}

/// `dup(2)`: a new fd, the lowest free, for the file of `fd`.
#[inline]
pub fn dup(fd: impl AsFd) -> Result<OwnedFd> {
    // SAFETY: dup touches no user memory.
    ret_owned_fd(unsafe { raw::syscall1(nr(Sysno::dup), fd_arg(&fd)) })
}

/// `dup2(2)`: make `newfd` refer to the file of `oldfd`, closing what `newfd` held.
/// Returns `newfd`; whoever owned the number owns the new file (wrap a free number in
/// [`OwnedFd::from_raw_fd`]).
///
/// # Safety
/// Nothing may go on using `newfd` for the file it named before (it is closed and
/// replaced).
#[inline]
pub unsafe fn dup2(oldfd: impl AsFd, newfd: RawFd) -> Result<RawFd> {
    // SAFETY: dup2 touches no user memory; the caller vouches for newfd.
    ret_c_int(unsafe { raw::syscall2(nr(Sysno::dup2), fd_arg(&oldfd), newfd as usize) })
}

/// `dup3(2)`: `dup2` with flags ([`OFlags::CLOEXEC`]); `EINVAL` when `oldfd == newfd`.
///
/// # Safety
/// As for [`dup2`].
#[inline]
pub unsafe fn dup3(oldfd: impl AsFd, newfd: RawFd, flags: OFlags) -> Result<RawFd> {
    // SAFETY: dup3 touches no user memory; the caller vouches for newfd.
    ret_c_int(unsafe { raw::syscall3(nr(Sysno::dup3), fd_arg(&oldfd), newfd as usize, flags.bits() as usize) })
}

/// `fcntl(2)`: file control command `cmd` with argument `arg`.
///
/// # Safety
/// For commands that take a pointer (`F_GETLK`, `F_SETLK*`, `F_OFD_*`, `F_GETOWN_EX`,
/// `F_SETOWN_EX`, ...), `arg` must point to memory valid for what the command reads or
/// writes; commands that make fds (`F_DUPFD*`) return one the caller must own. Integer
/// commands are safe; prefer the typed helpers below.
#[inline]
pub unsafe fn fcntl(fd: impl AsFd, cmd: i32, arg: usize) -> Result<i32> {
    // SAFETY: the caller vouches for a pointer argument.
    ret_c_int(unsafe { raw::syscall3(nr(Sysno::fcntl), fd_arg(&fd), cmd as usize, arg) })
}

/// `fcntl(F_GETFL)`: the file status flags of `fd`.
#[inline]
pub fn fcntl_getfl(fd: impl AsFd) -> Result<OFlags> {
    // SAFETY: F_GETFL takes no argument.
    unsafe { fcntl(fd, F_GETFL, 0) }.map(|v| OFlags::from_bits_retain(v as u32))
}

/// `fcntl(F_SETFL)`: set the changeable status flags (`APPEND`, `NONBLOCK`, `DIRECT`, ...).
#[inline]
pub fn fcntl_setfl(fd: impl AsFd, flags: OFlags) -> Result<()> {
    // SAFETY: F_SETFL takes an integer.
    unsafe { fcntl(fd, F_SETFL, flags.bits() as usize) }.map(|_| ())
}

/// `fcntl(F_GETFD)`: the fd flags ([`FdFlags::CLOEXEC`]).
#[inline]
pub fn fcntl_getfd(fd: impl AsFd) -> Result<FdFlags> {
    // SAFETY: F_GETFD takes no argument.
    unsafe { fcntl(fd, F_GETFD, 0) }.map(|v| FdFlags::from_bits_retain(v as u32))
}

/// `fcntl(F_SETFD)`: set the fd flags ([`FdFlags::CLOEXEC`]).
#[inline]
pub fn fcntl_setfd(fd: impl AsFd, flags: FdFlags) -> Result<()> {
    // SAFETY: F_SETFD takes an integer.
    unsafe { fcntl(fd, F_SETFD, flags.bits() as usize) }.map(|_| ())
}

/// `fcntl(F_DUPFD[_CLOEXEC])`: duplicate `fd` onto the lowest free fd `>= min`.
#[inline]
pub fn fcntl_dupfd(fd: impl AsFd, min: i32, cloexec: bool) -> Result<OwnedFd> {
    let cmd = if cloexec { F_DUPFD_CLOEXEC } else { F_DUPFD };
    // SAFETY: F_DUPFD and F_DUPFD_CLOEXEC take an integer and return a new fd, which
    // the result owns.
    unsafe { fcntl(fd, cmd, min as usize).map(|new| OwnedFd::from_raw_fd(new)) }
}

/// `flock(2)`: apply or remove an advisory lock ([`LOCK_SH`], [`LOCK_EX`], [`LOCK_UN`],
/// with [`LOCK_NB`]); a conflicting non-blocking request fails with `EWOULDBLOCK`.
#[inline]
pub fn flock(fd: impl AsFd, op: i32) -> Result<()> {
    // SAFETY: flock touches no user memory.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::flock), fd_arg(&fd), op as usize) })
}

/// `pipe2(2)`: a pipe as `[read end, write end]`, with `CLOEXEC`/`NONBLOCK`/`DIRECT`.
#[inline]
pub fn pipe2(flags: OFlags) -> Result<[OwnedFd; 2]> {
    let mut fds = [-1i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::pipe2), fds.as_mut_ptr() as usize, flags.bits() as usize) })?;
    // SAFETY: on success both are new fds that nothing else owns.
    Ok(fds.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `memfd_create(2)`: an anonymous, memory-backed file named `name` (for /proc only).
#[inline]
pub fn memfd_create(name: &CStr, flags: MemfdFlags) -> Result<OwnedFd> {
    // SAFETY: the kernel only reads the name.
    ret_owned_fd(unsafe { raw::syscall2(nr(Sysno::memfd_create), cstr(name), flags.bits() as usize) })
}

/// `ioctl(2)`: device-specific request `request` on `fd` with argument `arg`.
///
/// # Safety
/// When `arg` is a pointer, it must be valid for what the request reads and writes (the
/// size encoded in the request number, or the driver's documented structure).
#[inline]
pub unsafe fn ioctl(fd: impl AsFd, request: u32, arg: usize) -> Result<usize> {
    // SAFETY: the caller vouches for the argument.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::ioctl), fd_arg(&fd), request as usize, arg) })
}

// ---------------------------------------------------------------------------------------
// Reading and writing.

/// `lseek(2)`: move the file offset of `fd`; returns the new offset. `ESPIPE` on pipes.
#[inline]
pub fn lseek(fd: impl AsFd, offset: i64, whence: i32) -> Result<i64> {
    // SAFETY: lseek touches no user memory.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::lseek), fd_arg(&fd), offset as usize, whence as usize) })
        .map(|v| v as i64)
}

/// `read(2)`: read up to `buf.len()` bytes at the file offset; 0 at end of file.
#[inline]
pub fn read(fd: impl AsFd, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::read), fd_arg(&fd), buf.as_mut_ptr() as usize, buf.len()) })
}

/// `write(2)`: write up to `buf.len()` bytes at the file offset.
#[inline]
pub fn write(fd: impl AsFd, buf: &[u8]) -> Result<usize> {
    // SAFETY: the kernel only reads buf.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::write), fd_arg(&fd), buf.as_ptr() as usize, buf.len()) })
}

/// `pread64(2)`: read at `offset` without moving the file offset.
#[inline]
pub fn pread64(fd: impl AsFd, buf: &mut [u8], offset: i64) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    ret_usize(unsafe {
        raw::syscall4(
            nr(Sysno::pread64),
            fd_arg(&fd),
            buf.as_mut_ptr() as usize,
            buf.len(),
            offset as usize,
        )
    })
}

/// `pwrite64(2)`: write at `offset` without moving the file offset.
#[inline]
pub fn pwrite64(fd: impl AsFd, buf: &[u8], offset: i64) -> Result<usize> {
    // SAFETY: the kernel only reads buf.
    ret_usize(unsafe {
        raw::syscall4(
            nr(Sysno::pwrite64),
            fd_arg(&fd),
            buf.as_ptr() as usize,
            buf.len(),
            offset as usize,
        )
    })
}

/// `readv(2)`: read at the file offset into the buffers of `iov`, in order.
#[inline]
pub fn readv(fd: impl AsFd, iov: &mut [IoSliceMut<'_>]) -> Result<usize> {
    let iov = IoSliceMut::as_iovecs(iov);
    // SAFETY: every iovec borrows a writable buffer for the call.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::readv), fd_arg(&fd), iov.as_ptr() as usize, iov.len()) })
}

/// `writev(2)`: write the buffers of `iov`, in order, at the file offset.
#[inline]
pub fn writev(fd: impl AsFd, iov: &[IoSlice<'_>]) -> Result<usize> {
    let iov = IoSlice::as_iovecs(iov);
    // SAFETY: every iovec borrows a buffer for the call; the kernel only reads them.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::writev), fd_arg(&fd), iov.as_ptr() as usize, iov.len()) })
}

/// `preadv(2)`: read from `fd` at `offset` into the buffers of `iov`, in order.
#[inline]
pub fn preadv(fd: impl AsFd, iov: &mut [IoSliceMut<'_>], offset: i64) -> Result<usize> {
    let iov = IoSliceMut::as_iovecs(iov);
    // SAFETY: every iovec borrows a writable buffer for the call.
    unsafe { preadv_raw(fd, iov, offset) }
}

/// [`preadv`] into raw iovecs: for iovecs that come from outside Rust (CRIU's records).
///
/// # Safety
/// Every iovec must describe memory writable for its length, that nothing else reads or
/// writes during the call.
#[inline]
pub unsafe fn preadv_raw(fd: impl AsFd, iov: &[IoVec], offset: i64) -> Result<usize> {
    // preadv splits the offset into low and high words; on x86_64 the high is unused.
    // SAFETY: the caller vouches for the buffers.
    ret_usize(unsafe {
        raw::syscall5(
            nr(Sysno::preadv),
            fd_arg(&fd),
            iov.as_ptr() as usize,
            iov.len(),
            offset as usize,
            0,
        )
    })
}

/// `pwritev(2)`: write the buffers of `iov` at `offset`.
#[inline]
pub fn pwritev(fd: impl AsFd, iov: &[IoSlice<'_>], offset: i64) -> Result<usize> {
    let iov = IoSlice::as_iovecs(iov);
    // SAFETY: every iovec borrows a buffer for the call; the kernel only reads them.
    ret_usize(unsafe {
        raw::syscall5(
            nr(Sysno::pwritev),
            fd_arg(&fd),
            iov.as_ptr() as usize,
            iov.len(),
            offset as usize,
            0,
        )
    })
}

/// `preadv2(2)`: `preadv` with `RWF_*` flags; `offset == -1` reads at the file offset.
#[inline]
pub fn preadv2(fd: impl AsFd, iov: &mut [IoSliceMut<'_>], offset: i64, flags: ReadWriteFlags) -> Result<usize> {
    let iov = IoSliceMut::as_iovecs(iov);
    // SAFETY: every iovec borrows a writable buffer for the call.
    unsafe { preadv2_raw(fd, iov, offset, flags) }
}

/// [`preadv2`] into raw iovecs: for iovecs that come from outside Rust.
///
/// # Safety
/// As for [`preadv_raw`].
#[inline]
pub unsafe fn preadv2_raw(fd: impl AsFd, iov: &[IoVec], offset: i64, flags: ReadWriteFlags) -> Result<usize> {
    // SAFETY: the caller vouches for the buffers.
    ret_usize(unsafe {
        raw::syscall6(
            nr(Sysno::preadv2),
            fd_arg(&fd),
            iov.as_ptr() as usize,
            iov.len(),
            offset as usize,
            0,
            flags.bits() as usize,
        )
    })
}

/// `pwritev2(2)`: `pwritev` with `RWF_*` flags; [`ReadWriteFlags::APPEND`] writes at the
/// end of the file whatever `offset` says; `offset == -1` writes at the file offset.
#[inline]
pub fn pwritev2(fd: impl AsFd, iov: &[IoSlice<'_>], offset: i64, flags: ReadWriteFlags) -> Result<usize> {
    let iov = IoSlice::as_iovecs(iov);
    // SAFETY: every iovec borrows a buffer for the call; the kernel only reads them.
    ret_usize(unsafe {
        raw::syscall6(
            nr(Sysno::pwritev2),
            fd_arg(&fd),
            iov.as_ptr() as usize,
            iov.len(),
            offset as usize,
            0,
            flags.bits() as usize,
        )
    })
}

/// `vmsplice(2)`: map or copy the user pages of `iov` into the pipe `fd`; returns bytes.
/// With [`SPLICE_F_GIFT`] the pages should stay unmodified while the pipe holds them (or
/// the reader sees the changes).
#[inline]
pub fn vmsplice(fd: impl AsFd, iov: &[IoSlice<'_>], flags: u32) -> Result<usize> {
    let iov = IoSlice::as_iovecs(iov);
    // SAFETY: every iovec borrows a buffer for the call; the kernel only reads them.
    ret_usize(unsafe {
        raw::syscall4(
            nr(Sysno::vmsplice),
            fd_arg(&fd),
            iov.as_ptr() as usize,
            iov.len(),
            flags as usize,
        )
    })
}

/// `fsync(2)`: flush the data and metadata of `fd` to its device.
#[inline]
pub fn fsync(fd: impl AsFd) -> Result<()> {
    // SAFETY: fsync touches no user memory.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::fsync), fd_arg(&fd)) })
}

/// `sync(2)`: write every dirty page and inode of every filesystem back; it cannot fail.
#[inline]
pub fn sync() {
    // SAFETY: sync takes no arguments and touches no user memory.
    unsafe { raw::syscall0(nr(Sysno::sync)) };
}

/// `fdatasync(2)`: flush the data of `fd` (and the metadata needed to read it).
#[inline]
pub fn fdatasync(fd: impl AsFd) -> Result<()> {
    // SAFETY: fdatasync touches no user memory.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::fdatasync), fd_arg(&fd)) })
}

/// `ftruncate(2)`: set the size of the file of `fd` to `len`.
#[inline]
pub fn ftruncate(fd: impl AsFd, len: i64) -> Result<()> {
    // SAFETY: ftruncate touches no user memory.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::ftruncate), fd_arg(&fd), len as usize) })
}

// ---------------------------------------------------------------------------------------
// Page cache and file space.

/// `readahead(2)`: start reading `count` bytes at `offset` of `fd` into the page cache.
#[inline]
pub fn readahead(fd: impl AsFd, offset: i64, count: usize) -> Result<()> {
    // SAFETY: readahead writes no user memory.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::readahead), fd_arg(&fd), offset as usize, count) })
}

/// `fadvise64(2)`: declare the access pattern (`POSIX_FADV_*`) for `len` bytes at
/// `offset` (`len == 0`: to the end). `ESPIPE` on pipes.
#[inline]
pub fn fadvise64(fd: impl AsFd, offset: i64, len: i64, advice: i32) -> Result<()> {
    // SAFETY: fadvise64 touches no user memory.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::fadvise64),
            fd_arg(&fd),
            offset as usize,
            len as usize,
            advice as usize,
        )
    })
}

/// `fallocate(2)`: allocate, punch, zero, collapse or insert `len` bytes of file space at
/// `offset`.
#[inline]
pub fn fallocate(fd: impl AsFd, mode: FallocateFlags, offset: i64, len: i64) -> Result<()> {
    // SAFETY: fallocate touches no user memory.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::fallocate),
            fd_arg(&fd),
            mode.bits() as usize,
            offset as usize,
            len as usize,
        )
    })
}

/// `cachestat(2)`: page cache statistics of `range` of `fd` (Linux 6.5; `ENOSYS` before).
#[inline]
pub fn cachestat(fd: impl AsFd, range: &CachestatRange, out: &mut Cachestat, flags: u32) -> Result<()> {
    // SAFETY: the kernel reads `range` and writes one struct cachestat into `out`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::cachestat),
            fd_arg(&fd),
            range as *const CachestatRange as usize,
            out as *mut Cachestat as usize,
            flags as usize,
        )
    })
}

// ---------------------------------------------------------------------------------------
// Waiting.

/// `ppoll(2)`: wait until one of `fds` is ready, the timeout passes (`None`: forever) or
/// a signal arrives; `sigmask`, when given, is the mask while waiting. Returns the number
/// of entries with nonzero `revents`.
#[inline]
pub fn ppoll(fds: &mut [PollFd], timeout: Option<&Timespec>, sigmask: Option<&SigSet>) -> Result<usize> {
    // SAFETY: the kernel reads and writes `fds` (len entries) and reads the timeout and
    // mask.
    ret_usize(unsafe {
        raw::syscall5(
            nr(Sysno::ppoll),
            fds.as_mut_ptr() as usize,
            fds.len(),
            opt_ptr(timeout),
            opt_ptr(sigmask),
            core::mem::size_of::<SigSet>(),
        )
    })
}
