//! Mounts: `mount`/`umount2` and the fd-based mount API (`fsopen`, `fsconfig`, `fsmount`,
//! `open_tree`, `move_mount`).

use core::ffi::{c_void, CStr};

use super::fd::{AsFd, OwnedFd};
use super::ret::{fd_arg, ret_owned_fd, ret_unit};
use super::{cstr, nr, opt_cstr, raw, Result};
use syscalls::Sysno;

// `mount` flags.
pub const MS_RDONLY: u64 = 1;
pub const MS_NOSUID: u64 = 1 << 1;
pub const MS_NODEV: u64 = 1 << 2;
pub const MS_NOEXEC: u64 = 1 << 3;
pub const MS_SYNCHRONOUS: u64 = 1 << 4;
pub const MS_REMOUNT: u64 = 1 << 5;
pub const MS_MANDLOCK: u64 = 1 << 6;
pub const MS_DIRSYNC: u64 = 1 << 7;
pub const MS_NOSYMFOLLOW: u64 = 1 << 8;
pub const MS_NOATIME: u64 = 1 << 10;
pub const MS_NODIRATIME: u64 = 1 << 11;
pub const MS_BIND: u64 = 1 << 12;
pub const MS_MOVE: u64 = 1 << 13;
pub const MS_REC: u64 = 1 << 14;
pub const MS_SILENT: u64 = 1 << 15;
pub const MS_POSIXACL: u64 = 1 << 16;
pub const MS_UNBINDABLE: u64 = 1 << 17;
pub const MS_PRIVATE: u64 = 1 << 18;
pub const MS_SLAVE: u64 = 1 << 19;
pub const MS_SHARED: u64 = 1 << 20;
pub const MS_RELATIME: u64 = 1 << 21;
pub const MS_KERNMOUNT: u64 = 1 << 22;
pub const MS_I_VERSION: u64 = 1 << 23;
pub const MS_STRICTATIME: u64 = 1 << 24;
pub const MS_LAZYTIME: u64 = 1 << 25;

// `umount2` flags.
pub const MNT_FORCE: i32 = 1;
pub const MNT_DETACH: i32 = 2;
pub const MNT_EXPIRE: i32 = 4;
pub const UMOUNT_NOFOLLOW: i32 = 8;

// `open_tree` flags (with `AT_*` and `O_CLOEXEC`).
pub const OPEN_TREE_CLONE: u32 = 1;
pub const OPEN_TREE_CLOEXEC: u32 = super::oflags::OFlags::CLOEXEC.bits();

// `move_mount` flags.
pub const MOVE_MOUNT_F_SYMLINKS: u32 = 0x0000_0001;
pub const MOVE_MOUNT_F_AUTOMOUNTS: u32 = 0x0000_0002;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x0000_0004;
pub const MOVE_MOUNT_T_SYMLINKS: u32 = 0x0000_0010;
pub const MOVE_MOUNT_T_AUTOMOUNTS: u32 = 0x0000_0020;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x0000_0040;
pub const MOVE_MOUNT_SET_GROUP: u32 = 0x0000_0100;
pub const MOVE_MOUNT_BENEATH: u32 = 0x0000_0200;

/// `fsopen` flag.
pub const FSOPEN_CLOEXEC: u32 = 1;

// `fsconfig` commands.
pub const FSCONFIG_SET_FLAG: u32 = 0;
pub const FSCONFIG_SET_STRING: u32 = 1;
pub const FSCONFIG_SET_BINARY: u32 = 2;
pub const FSCONFIG_SET_PATH: u32 = 3;
pub const FSCONFIG_SET_PATH_EMPTY: u32 = 4;
pub const FSCONFIG_SET_FD: u32 = 5;
pub const FSCONFIG_CMD_CREATE: u32 = 6;
pub const FSCONFIG_CMD_RECONFIGURE: u32 = 7;
pub const FSCONFIG_CMD_CREATE_EXCL: u32 = 8;

/// `fsmount` flag.
pub const FSMOUNT_CLOEXEC: u32 = 1;

// Mount attributes (`fsmount`, `mount_setattr`).
pub const MOUNT_ATTR_RDONLY: u32 = 0x0000_0001;
pub const MOUNT_ATTR_NOSUID: u32 = 0x0000_0002;
pub const MOUNT_ATTR_NODEV: u32 = 0x0000_0004;
pub const MOUNT_ATTR_NOEXEC: u32 = 0x0000_0008;
pub const MOUNT_ATTR__ATIME: u32 = 0x0000_0070;
pub const MOUNT_ATTR_RELATIME: u32 = 0x0000_0000;
pub const MOUNT_ATTR_NOATIME: u32 = 0x0000_0010;
pub const MOUNT_ATTR_STRICTATIME: u32 = 0x0000_0020;
pub const MOUNT_ATTR_NODIRATIME: u32 = 0x0000_0080;
pub const MOUNT_ATTR_IDMAP: u32 = 0x0010_0000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u32 = 0x0020_0000;

/// `mount(2)`: mount `source` of type `fstype` on `target`, or with `MS_BIND`, `MS_MOVE`,
/// `MS_REMOUNT`, propagation flags change a mount. `data` is the filesystem's option
/// string.
#[inline]
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: u64,
    data: Option<&CStr>,
) -> Result<()> {
    // SAFETY: the kernel only reads the strings.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::mount),
            opt_cstr(source),
            cstr(target),
            opt_cstr(fstype),
            flags as usize,
            opt_cstr(data),
        )
    })
}

/// `umount2(2)`: detach the mount at `target` (`MNT_*`, `UMOUNT_NOFOLLOW`); `EINVAL` when
/// it is not a mount point.
#[inline]
pub fn umount2(target: &CStr, flags: i32) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::umount2), cstr(target), flags as usize) })
}

/// `open_tree(2)`: an fd for the mount at `path` relative to `dirfd`, or with
/// [`OPEN_TREE_CLONE`] (and `AT_RECURSIVE`) a detached copy of it.
#[inline]
pub fn open_tree(dirfd: impl AsFd, path: &CStr, flags: u32) -> Result<OwnedFd> {
    // SAFETY: the kernel only reads the path.
    ret_owned_fd(unsafe { raw::syscall3(nr(Sysno::open_tree), fd_arg(&dirfd), cstr(path), flags as usize) })
}

/// `move_mount(2)`: attach (or move) the mount at `from` onto `to`; with the
/// `*_EMPTY_PATH` flags the dirfds themselves are the mount/target.
#[inline]
pub fn move_mount(
    from_dirfd: impl AsFd,
    from_path: &CStr,
    to_dirfd: impl AsFd,
    to_path: &CStr,
    flags: u32,
) -> Result<()> {
    // SAFETY: the kernel only reads the paths.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::move_mount),
            fd_arg(&from_dirfd),
            cstr(from_path),
            fd_arg(&to_dirfd),
            cstr(to_path),
            flags as usize,
        )
    })
}

/// `fsopen(2)`: a filesystem context for type `fsname`, to configure with `fsconfig`.
/// `ENODEV` for an unknown type.
#[inline]
pub fn fsopen(fsname: &CStr, flags: u32) -> Result<OwnedFd> {
    // SAFETY: the kernel only reads the name.
    ret_owned_fd(unsafe { raw::syscall2(nr(Sysno::fsopen), cstr(fsname), flags as usize) })
}

/// `fsconfig(2)`: set a parameter of, or run a command on, filesystem context `fd`.
///
/// # Safety
/// `value` must be what `cmd` expects: null for flags and commands, a C string for
/// `SET_STRING`/`SET_PATH*`, `aux` readable bytes for `SET_BINARY` (`aux` is the fd for
/// `SET_FD` and the dirfd for `SET_PATH*`).
#[inline]
pub unsafe fn fsconfig(fd: impl AsFd, cmd: u32, key: Option<&CStr>, value: *const c_void, aux: i32) -> Result<()> {
    // SAFETY: the caller vouches for `value`; the kernel only reads.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::fsconfig),
            fd_arg(&fd),
            cmd as usize,
            opt_cstr(key),
            value as usize,
            aux as usize,
        )
    })
}

/// `fsconfig(FSCONFIG_SET_STRING)`: set string parameter `key` to `value`.
#[inline]
pub fn fsconfig_set_string(fd: impl AsFd, key: &CStr, value: &CStr) -> Result<()> {
    // SAFETY: SET_STRING reads the value C string.
    unsafe { fsconfig(fd, FSCONFIG_SET_STRING, Some(key), value.as_ptr().cast(), 0) }
}

/// `fsconfig(FSCONFIG_SET_FLAG)`: set flag parameter `key`.
#[inline]
pub fn fsconfig_set_flag(fd: impl AsFd, key: &CStr) -> Result<()> {
    // SAFETY: SET_FLAG takes no value.
    unsafe { fsconfig(fd, FSCONFIG_SET_FLAG, Some(key), core::ptr::null(), 0) }
}

/// `fsconfig(cmd)` for the value-less commands (`FSCONFIG_CMD_CREATE`,
/// `FSCONFIG_CMD_CREATE_EXCL`, `FSCONFIG_CMD_RECONFIGURE`).
#[inline]
pub fn fsconfig_cmd(fd: impl AsFd, cmd: u32) -> Result<()> {
    if !matches!(
        cmd,
        FSCONFIG_CMD_CREATE | FSCONFIG_CMD_CREATE_EXCL | FSCONFIG_CMD_RECONFIGURE
    ) {
        return Err(super::Errno::EINVAL);
    }
    // SAFETY: the commands take no key and no value.
    unsafe { fsconfig(fd, cmd, None, core::ptr::null(), 0) }
}

/// `fsmount(2)`: a detached mount of the created superblock of context `fsfd`, with
/// `MOUNT_ATTR_*` attributes; attach it with [`move_mount`].
#[inline]
pub fn fsmount(fsfd: impl AsFd, flags: u32, attr_flags: u32) -> Result<OwnedFd> {
    // SAFETY: fsmount touches no user memory.
    ret_owned_fd(unsafe { raw::syscall3(nr(Sysno::fsmount), fd_arg(&fsfd), flags as usize, attr_flags as usize) })
}
