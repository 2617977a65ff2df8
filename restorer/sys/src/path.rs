//! Names and metadata: directories, unlinking, symlink targets, the umask, stat/statx
//! and file handles.

use core::ffi::CStr;

use super::at_flags::AtFlags;
use super::fd::{AsFd, OwnedFd};
use super::oflags::OFlags;
use super::ret::{fd_arg, ret_owned_fd, ret_unit, ret_usize};
use super::{cstr, nr, raw, Result};
use syscalls::Sysno;

// File type bits of `st_mode`.
pub const S_IFMT: u32 = linux_raw_sys::general::S_IFMT;
pub const S_IFSOCK: u32 = linux_raw_sys::general::S_IFSOCK;
pub const S_IFLNK: u32 = linux_raw_sys::general::S_IFLNK;
pub const S_IFREG: u32 = linux_raw_sys::general::S_IFREG;
pub const S_IFBLK: u32 = linux_raw_sys::general::S_IFBLK;
pub const S_IFDIR: u32 = linux_raw_sys::general::S_IFDIR;
pub const S_IFCHR: u32 = linux_raw_sys::general::S_IFCHR;
pub const S_IFIFO: u32 = linux_raw_sys::general::S_IFIFO;

// `statx` mask bits.
pub const STATX_TYPE: u32 = linux_raw_sys::general::STATX_TYPE;
pub const STATX_MODE: u32 = linux_raw_sys::general::STATX_MODE;
pub const STATX_NLINK: u32 = linux_raw_sys::general::STATX_NLINK;
pub const STATX_UID: u32 = linux_raw_sys::general::STATX_UID;
pub const STATX_GID: u32 = linux_raw_sys::general::STATX_GID;
pub const STATX_ATIME: u32 = linux_raw_sys::general::STATX_ATIME;
pub const STATX_MTIME: u32 = linux_raw_sys::general::STATX_MTIME;
pub const STATX_CTIME: u32 = linux_raw_sys::general::STATX_CTIME;
pub const STATX_INO: u32 = linux_raw_sys::general::STATX_INO;
pub const STATX_SIZE: u32 = linux_raw_sys::general::STATX_SIZE;
pub const STATX_BLOCKS: u32 = linux_raw_sys::general::STATX_BLOCKS;
pub const STATX_BASIC_STATS: u32 = linux_raw_sys::general::STATX_BASIC_STATS;
pub const STATX_BTIME: u32 = linux_raw_sys::general::STATX_BTIME;
pub const STATX_MNT_ID: u32 = linux_raw_sys::general::STATX_MNT_ID;
pub const STATX_DIOALIGN: u32 = linux_raw_sys::general::STATX_DIOALIGN;
pub const STATX_MNT_ID_UNIQUE: u32 = linux_raw_sys::general::STATX_MNT_ID_UNIQUE;

/// Largest opaque handle `name_to_handle_at` returns.
pub const MAX_HANDLE_SZ: usize = 128;

/// The x86_64 kernel's `struct stat` (as `fstat`/`newfstatat` fill it).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub __pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    /// Allocated space in 512-byte units.
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    pub __unused: [i64; 3],
}
assert_layout!(
    Stat,
    size = 144,
    st_mode = 24,
    st_rdev = 40,
    st_size = 48,
    st_blocks = 64,
    st_ctime_nsec = 112
);

/// The kernel's `struct statx_timestamp`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub __reserved: i32,
}
assert_layout!(StatxTimestamp, size = 16);

/// The kernel's `struct statx` (fields past `stx_dio_offset_align` are kept as spare).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Statx {
    /// Which fields the kernel filled (`STATX_*`).
    pub stx_mask: u32,
    pub stx_blksize: u32,
    pub stx_attributes: u64,
    pub stx_nlink: u32,
    pub stx_uid: u32,
    pub stx_gid: u32,
    pub stx_mode: u16,
    pub __spare0: u16,
    pub stx_ino: u64,
    pub stx_size: u64,
    pub stx_blocks: u64,
    pub stx_attributes_mask: u64,
    pub stx_atime: StatxTimestamp,
    pub stx_btime: StatxTimestamp,
    pub stx_ctime: StatxTimestamp,
    pub stx_mtime: StatxTimestamp,
    pub stx_rdev_major: u32,
    pub stx_rdev_minor: u32,
    pub stx_dev_major: u32,
    pub stx_dev_minor: u32,
    pub stx_mnt_id: u64,
    pub stx_dio_mem_align: u32,
    pub stx_dio_offset_align: u32,
    pub __spare: [u64; 12],
}
assert_layout!(
    Statx,
    size = 256,
    stx_ino = 32,
    stx_atime = 64,
    stx_rdev_major = 128,
    stx_mnt_id = 144
);

/// The kernel's `struct file_handle`, with room for the largest handle.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHandle {
    /// Bytes of `f_handle` in use.
    pub handle_bytes: u32,
    pub handle_type: i32,
    pub f_handle: [u8; MAX_HANDLE_SZ],
}
assert_layout!(FileHandle, size = 8 + MAX_HANDLE_SZ, f_handle = 8);

zeroed_default!(Stat, Statx, FileHandle);

/// `mkdir(2)`: create directory `path` (relative to the cwd) with `mode & ~umask`.
#[inline]
pub fn mkdir(path: &CStr, mode: u32) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::mkdir), cstr(path), mode as usize) })
}

/// `mkdirat(2)`: create directory `path` relative to `dirfd`.
#[inline]
pub fn mkdirat(dirfd: impl AsFd, path: &CStr, mode: u32) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::mkdirat), fd_arg(&dirfd), cstr(path), mode as usize) })
}

/// `rmdir(2)`: remove the empty directory `path`.
#[inline]
pub fn rmdir(path: &CStr) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::rmdir), cstr(path)) })
}

/// `unlink(2)`: remove the name `path` (not a directory).
#[inline]
pub fn unlink(path: &CStr) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::unlink), cstr(path)) })
}

/// `unlinkat(2)`: remove `path` relative to `dirfd`; `AT_REMOVEDIR` for directories.
#[inline]
pub fn unlinkat(dirfd: impl AsFd, path: &CStr, flags: AtFlags) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::unlinkat), fd_arg(&dirfd), cstr(path), flags.bits() as usize) })
}

/// `symlinkat(2)`: create `linkpath` (relative to `dirfd`) pointing at `target`.
#[inline]
pub fn symlinkat(target: &CStr, dirfd: impl AsFd, linkpath: &CStr) -> Result<()> {
    // SAFETY: the kernel only reads the two paths.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::symlinkat), cstr(target), fd_arg(&dirfd), cstr(linkpath)) })
}

/// `readlinkat(2)`: the target of symlink `path` into `buf`, truncated, not
/// NUL-terminated; returns its length in `buf`.
#[inline]
pub fn readlinkat(dirfd: impl AsFd, path: &CStr, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    ret_usize(unsafe {
        raw::syscall4(
            nr(Sysno::readlinkat),
            fd_arg(&dirfd),
            cstr(path),
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    })
}

/// `umask(2)`: set the file mode creation mask; returns the previous one (never fails).
#[inline]
pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask touches no user memory.
    unsafe { raw::syscall1(nr(Sysno::umask), mask as usize) as u32 }
}

/// `fstat(2)`: the metadata of the file of `fd`.
#[inline]
pub fn fstat(fd: impl AsFd, st: &mut Stat) -> Result<()> {
    // SAFETY: the kernel writes one struct stat into `st`.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::fstat), fd_arg(&fd), st as *mut Stat as usize) })
}

/// `newfstatat(2)`: the metadata of `path` relative to `dirfd` (`AT_SYMLINK_NOFOLLOW`,
/// `AT_EMPTY_PATH`).
#[inline]
pub fn newfstatat(dirfd: impl AsFd, path: &CStr, st: &mut Stat, flags: AtFlags) -> Result<()> {
    // SAFETY: the kernel reads the path and writes one struct stat into `st`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::newfstatat),
            fd_arg(&dirfd),
            cstr(path),
            st as *mut Stat as usize,
            flags.bits() as usize,
        )
    })
}

/// `statx(2)`: extended metadata of `path` relative to `dirfd`; `mask` (`STATX_*`) asks
/// for fields, `stx_mask` says which were filled.
#[inline]
pub fn statx(dirfd: impl AsFd, path: &CStr, flags: AtFlags, mask: u32, stx: &mut Statx) -> Result<()> {
    // SAFETY: the kernel reads the path and writes one struct statx into `stx`.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::statx),
            fd_arg(&dirfd),
            cstr(path),
            flags.bits() as usize,
            mask as usize,
            stx as *mut Statx as usize,
        )
    })
}

/// `name_to_handle_at(2)`: an opaque handle for `path` relative to `dirfd`, written into
/// `handle`; returns the mount id (64-bit with [`AT_HANDLE_MNT_ID_UNIQUE`]).
#[inline]
pub fn name_to_handle_at(dirfd: impl AsFd, path: &CStr, handle: &mut FileHandle, flags: AtFlags) -> Result<u64> {
    handle.handle_bytes = MAX_HANDLE_SZ as u32;
    // The kernel writes an int, or a u64 with AT_HANDLE_MNT_ID_UNIQUE: a zeroed u64 holds
    // either (x86_64 is little endian).
    let mut mount_id = 0u64;
    // SAFETY: the kernel writes at most MAX_HANDLE_SZ handle bytes (the capacity we just
    // declared) into `handle` and at most 8 bytes into `mount_id`.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::name_to_handle_at),
            fd_arg(&dirfd),
            cstr(path),
            handle as *mut FileHandle as usize,
            &mut mount_id as *mut u64 as usize,
            flags.bits() as usize,
        )
    })?;
    Ok(mount_id)
}

/// `open_by_handle_at(2)`: open the file `handle` names on the filesystem of `mount_fd`
/// (needs `CAP_DAC_READ_SEARCH`).
#[inline]
pub fn open_by_handle_at(mount_fd: impl AsFd, handle: &FileHandle, flags: OFlags) -> Result<OwnedFd> {
    // SAFETY: the kernel reads the header and handle_bytes bytes, refusing more than
    // MAX_HANDLE_SZ, which is what `FileHandle` holds.
    ret_owned_fd(unsafe {
        raw::syscall3(
            nr(Sysno::open_by_handle_at),
            fd_arg(&mount_fd),
            handle as *const FileHandle as usize,
            flags.bits() as usize,
        )
    })
}
