//! Mounts: `mount`/`umount2` and the fd-based mount API (`fsopen`, `fsconfig`, `fsmount`,
//! `open_tree`, `move_mount`).

use core::ffi::{c_void, CStr};

use super::fd::{AsFd, OwnedFd};
use super::ret::{fd_arg, ret_owned_fd, ret_unit};
use super::{cstr, nr, opt_cstr, raw, Result};
use syscalls::Sysno;

// `mount` flags.
bitflags::bitflags! {
    /// `MS_*`: the flags of `mount(2)`.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct MountFlags: u64 {
        const RDONLY = linux_raw_sys::general::MS_RDONLY as u64;
        const NOSUID = linux_raw_sys::general::MS_NOSUID as u64;
        const NODEV = linux_raw_sys::general::MS_NODEV as u64;
        const NOEXEC = linux_raw_sys::general::MS_NOEXEC as u64;
        const SYNCHRONOUS = linux_raw_sys::general::MS_SYNCHRONOUS as u64;
        const REMOUNT = linux_raw_sys::general::MS_REMOUNT as u64;
        const MANDLOCK = linux_raw_sys::general::MS_MANDLOCK as u64;
        const DIRSYNC = linux_raw_sys::general::MS_DIRSYNC as u64;
        const NOSYMFOLLOW = linux_raw_sys::general::MS_NOSYMFOLLOW as u64;
        const NOATIME = linux_raw_sys::general::MS_NOATIME as u64;
        const NODIRATIME = linux_raw_sys::general::MS_NODIRATIME as u64;
        const BIND = linux_raw_sys::general::MS_BIND as u64;
        const MOVE = linux_raw_sys::general::MS_MOVE as u64;
        const REC = linux_raw_sys::general::MS_REC as u64;
        const SILENT = linux_raw_sys::general::MS_SILENT as u64;
        const POSIXACL = linux_raw_sys::general::MS_POSIXACL as u64;
        const UNBINDABLE = linux_raw_sys::general::MS_UNBINDABLE as u64;
        const PRIVATE = linux_raw_sys::general::MS_PRIVATE as u64;
        const SLAVE = linux_raw_sys::general::MS_SLAVE as u64;
        const SHARED = linux_raw_sys::general::MS_SHARED as u64;
        const RELATIME = linux_raw_sys::general::MS_RELATIME as u64;
        const KERNMOUNT = linux_raw_sys::general::MS_KERNMOUNT as u64;
        const I_VERSION = linux_raw_sys::general::MS_I_VERSION as u64;
        const STRICTATIME = linux_raw_sys::general::MS_STRICTATIME as u64;
        const LAZYTIME = linux_raw_sys::general::MS_LAZYTIME as u64;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// `MNT_*` (and `UMOUNT_NOFOLLOW`): how `umount2` detaches.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct UnmountFlags: u32 {
        const FORCE = linux_raw_sys::general::MNT_FORCE;
        const DETACH = linux_raw_sys::general::MNT_DETACH;
        const EXPIRE = linux_raw_sys::general::MNT_EXPIRE;
        const NOFOLLOW = linux_raw_sys::general::UMOUNT_NOFOLLOW;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

// `open_tree` flags (with `AT_*` and `O_CLOEXEC`).
pub const OPEN_TREE_CLONE: u32 = linux_raw_sys::general::OPEN_TREE_CLONE;
pub const OPEN_TREE_CLOEXEC: u32 = linux_raw_sys::general::OPEN_TREE_CLOEXEC;

// `move_mount` flags.
pub const MOVE_MOUNT_F_SYMLINKS: u32 = linux_raw_sys::general::MOVE_MOUNT_F_SYMLINKS;
pub const MOVE_MOUNT_F_AUTOMOUNTS: u32 = linux_raw_sys::general::MOVE_MOUNT_F_AUTOMOUNTS;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = linux_raw_sys::general::MOVE_MOUNT_F_EMPTY_PATH;
pub const MOVE_MOUNT_T_SYMLINKS: u32 = linux_raw_sys::general::MOVE_MOUNT_T_SYMLINKS;
pub const MOVE_MOUNT_T_AUTOMOUNTS: u32 = linux_raw_sys::general::MOVE_MOUNT_T_AUTOMOUNTS;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = linux_raw_sys::general::MOVE_MOUNT_T_EMPTY_PATH;
pub const MOVE_MOUNT_SET_GROUP: u32 = linux_raw_sys::general::MOVE_MOUNT_SET_GROUP;
pub const MOVE_MOUNT_BENEATH: u32 = linux_raw_sys::general::MOVE_MOUNT_BENEATH;

/// `fsopen` flag.
pub const FSOPEN_CLOEXEC: u32 = linux_raw_sys::general::FSOPEN_CLOEXEC;

// `fsconfig` commands.
pub const FSCONFIG_SET_FLAG: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_SET_FLAG as u32;
pub const FSCONFIG_SET_STRING: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_SET_STRING as u32;
pub const FSCONFIG_SET_BINARY: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_SET_BINARY as u32;
pub const FSCONFIG_SET_PATH: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_SET_PATH as u32;
pub const FSCONFIG_SET_PATH_EMPTY: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_SET_PATH_EMPTY as u32;
pub const FSCONFIG_SET_FD: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_SET_FD as u32;
pub const FSCONFIG_CMD_CREATE: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_CMD_CREATE as u32;
pub const FSCONFIG_CMD_RECONFIGURE: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_CMD_RECONFIGURE as u32;
pub const FSCONFIG_CMD_CREATE_EXCL: u32 = linux_raw_sys::general::fsconfig_command::FSCONFIG_CMD_CREATE_EXCL as u32;

/// `fsmount` flag.
pub const FSMOUNT_CLOEXEC: u32 = linux_raw_sys::general::FSMOUNT_CLOEXEC;

// Mount attributes (`fsmount`, `mount_setattr`).
pub const MOUNT_ATTR_RDONLY: u32 = linux_raw_sys::general::MOUNT_ATTR_RDONLY;
pub const MOUNT_ATTR_NOSUID: u32 = linux_raw_sys::general::MOUNT_ATTR_NOSUID;
pub const MOUNT_ATTR_NODEV: u32 = linux_raw_sys::general::MOUNT_ATTR_NODEV;
pub const MOUNT_ATTR_NOEXEC: u32 = linux_raw_sys::general::MOUNT_ATTR_NOEXEC;
pub const MOUNT_ATTR__ATIME: u32 = linux_raw_sys::general::MOUNT_ATTR__ATIME;
pub const MOUNT_ATTR_RELATIME: u32 = linux_raw_sys::general::MOUNT_ATTR_RELATIME;
pub const MOUNT_ATTR_NOATIME: u32 = linux_raw_sys::general::MOUNT_ATTR_NOATIME;
pub const MOUNT_ATTR_STRICTATIME: u32 = linux_raw_sys::general::MOUNT_ATTR_STRICTATIME;
pub const MOUNT_ATTR_NODIRATIME: u32 = linux_raw_sys::general::MOUNT_ATTR_NODIRATIME;
pub const MOUNT_ATTR_IDMAP: u32 = linux_raw_sys::general::MOUNT_ATTR_IDMAP;
pub const MOUNT_ATTR_NOSYMFOLLOW: u32 = linux_raw_sys::general::MOUNT_ATTR_NOSYMFOLLOW;

/// `mount(2)`: mount `source` of type `fstype` on `target`, or with `MS_BIND`, `MS_MOVE`,
/// `MS_REMOUNT`, propagation flags change a mount. `data` is the filesystem's option
/// string.
#[inline]
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: MountFlags,
    data: Option<&CStr>,
) -> Result<()> {
    // SAFETY: the kernel only reads the strings.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::mount),
            opt_cstr(source),
            cstr(target),
            opt_cstr(fstype),
            flags.bits() as usize,
            opt_cstr(data),
        )
    })
}

/// `umount2(2)`: detach the mount at `target` (`MNT_*`, `UMOUNT_NOFOLLOW`); `EINVAL` when
/// it is not a mount point.
#[inline]
pub fn umount2(target: &CStr, flags: UnmountFlags) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::umount2), cstr(target), flags.bits() as usize) })
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
