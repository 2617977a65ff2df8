//! Event fds: inotify, fanotify, userfaultfd (with its ioctl structures) and signalfd.

use core::ffi::CStr;

use super::fd::{AsFd, OwnedFd};
use super::ioctl::{ior, iowr};
use super::oflags::OFlags;
use super::ret::{fd_arg, ret_c_int, ret_owned_fd, ret_unit};
use super::sigtypes::SigSet;
use super::{cstr, nr, opt_cstr, raw, Result};
use syscalls::Sysno;

// `fanotify_init` flags.
pub const FAN_CLOEXEC: u32 = 0x0000_0001;
pub const FAN_NONBLOCK: u32 = 0x0000_0002;
pub const FAN_CLASS_NOTIF: u32 = 0x0000_0000;
pub const FAN_CLASS_CONTENT: u32 = 0x0000_0004;
pub const FAN_CLASS_PRE_CONTENT: u32 = 0x0000_0008;
pub const FAN_UNLIMITED_QUEUE: u32 = 0x0000_0010;
pub const FAN_UNLIMITED_MARKS: u32 = 0x0000_0020;
pub const FAN_ENABLE_AUDIT: u32 = 0x0000_0040;
pub const FAN_REPORT_PIDFD: u32 = 0x0000_0080;
pub const FAN_REPORT_TID: u32 = 0x0000_0100;
pub const FAN_REPORT_FID: u32 = 0x0000_0200;
pub const FAN_REPORT_DIR_FID: u32 = 0x0000_0400;
pub const FAN_REPORT_NAME: u32 = 0x0000_0800;

// `fanotify_mark` flags.
pub const FAN_MARK_ADD: u32 = 0x0000_0001;
pub const FAN_MARK_REMOVE: u32 = 0x0000_0002;
pub const FAN_MARK_DONT_FOLLOW: u32 = 0x0000_0004;
pub const FAN_MARK_ONLYDIR: u32 = 0x0000_0008;
pub const FAN_MARK_MOUNT: u32 = 0x0000_0010;
pub const FAN_MARK_IGNORED_MASK: u32 = 0x0000_0020;
pub const FAN_MARK_IGNORED_SURV_MODIFY: u32 = 0x0000_0040;
pub const FAN_MARK_FLUSH: u32 = 0x0000_0080;
pub const FAN_MARK_FILESYSTEM: u32 = 0x0000_0100;
pub const FAN_MARK_INODE: u32 = 0x0000_0000;

// fanotify event mask bits.
pub const FAN_ACCESS: u64 = 0x0000_0001;
pub const FAN_MODIFY: u64 = 0x0000_0002;
pub const FAN_ATTRIB: u64 = 0x0000_0004;
pub const FAN_CLOSE_WRITE: u64 = 0x0000_0008;
pub const FAN_CLOSE_NOWRITE: u64 = 0x0000_0010;
pub const FAN_OPEN: u64 = 0x0000_0020;
pub const FAN_MOVED_FROM: u64 = 0x0000_0040;
pub const FAN_MOVED_TO: u64 = 0x0000_0080;
pub const FAN_CREATE: u64 = 0x0000_0100;
pub const FAN_DELETE: u64 = 0x0000_0200;
pub const FAN_DELETE_SELF: u64 = 0x0000_0400;
pub const FAN_MOVE_SELF: u64 = 0x0000_0800;
pub const FAN_OPEN_EXEC: u64 = 0x0000_1000;
pub const FAN_Q_OVERFLOW: u64 = 0x0000_4000;
pub const FAN_OPEN_PERM: u64 = 0x0001_0000;
pub const FAN_ACCESS_PERM: u64 = 0x0002_0000;
pub const FAN_OPEN_EXEC_PERM: u64 = 0x0004_0000;
pub const FAN_EVENT_ON_CHILD: u64 = 0x0800_0000;
pub const FAN_ONDIR: u64 = 0x4000_0000;
/// `vers` of the event metadata this layout describes.
pub const FANOTIFY_METADATA_VERSION: u8 = 3;

// userfaultfd.
/// `userfaultfd` flag: handle only faults from user space (no privilege needed).
pub const UFFD_USER_MODE_ONLY: i32 = linux_raw_sys::general::UFFD_USER_MODE_ONLY as i32;
/// The API version `UFFDIO_API` negotiates.
pub const UFFD_API: u64 = linux_raw_sys::general::UFFD_API as u64;
const UFFDIO: u32 = 0xAA;
pub const UFFDIO_API: u32 = iowr(UFFDIO, 0x3F, core::mem::size_of::<UffdioApi>());
pub const UFFDIO_REGISTER: u32 = iowr(UFFDIO, 0x00, core::mem::size_of::<UffdioRegister>());
pub const UFFDIO_UNREGISTER: u32 = ior(UFFDIO, 0x01, core::mem::size_of::<UffdioRange>());
pub const UFFDIO_WAKE: u32 = ior(UFFDIO, 0x02, core::mem::size_of::<UffdioRange>());
pub const UFFDIO_COPY: u32 = iowr(UFFDIO, 0x03, core::mem::size_of::<UffdioCopy>());
pub const UFFDIO_ZEROPAGE: u32 = iowr(UFFDIO, 0x04, core::mem::size_of::<UffdioZeropage>());
pub const UFFDIO_REGISTER_MODE_MISSING: u64 = linux_raw_sys::general::UFFDIO_REGISTER_MODE_MISSING as u64;
pub const UFFDIO_REGISTER_MODE_WP: u64 = linux_raw_sys::general::UFFDIO_REGISTER_MODE_WP as u64;
pub const UFFDIO_REGISTER_MODE_MINOR: u64 = linux_raw_sys::general::UFFDIO_REGISTER_MODE_MINOR as u64;
pub const UFFDIO_COPY_MODE_DONTWAKE: u64 = linux_raw_sys::general::UFFDIO_COPY_MODE_DONTWAKE as u64;
pub const UFFDIO_COPY_MODE_WP: u64 = linux_raw_sys::general::UFFDIO_COPY_MODE_WP as u64;
pub const UFFDIO_ZEROPAGE_MODE_DONTWAKE: u64 = linux_raw_sys::general::UFFDIO_ZEROPAGE_MODE_DONTWAKE as u64;
pub const UFFD_EVENT_PAGEFAULT: u8 = linux_raw_sys::general::UFFD_EVENT_PAGEFAULT as u8;
pub const UFFD_EVENT_FORK: u8 = linux_raw_sys::general::UFFD_EVENT_FORK as u8;
pub const UFFD_EVENT_REMAP: u8 = linux_raw_sys::general::UFFD_EVENT_REMAP as u8;
pub const UFFD_EVENT_REMOVE: u8 = linux_raw_sys::general::UFFD_EVENT_REMOVE as u8;
pub const UFFD_EVENT_UNMAP: u8 = linux_raw_sys::general::UFFD_EVENT_UNMAP as u8;

// signalfd flags.
pub const SFD_CLOEXEC: i32 = OFlags::CLOEXEC.bits() as i32;
pub const SFD_NONBLOCK: i32 = OFlags::NONBLOCK.bits() as i32;

/// The kernel's `struct fanotify_event_metadata`, at the start of every event read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FanotifyEventMetadata {
    pub event_len: u32,
    pub vers: u8,
    pub reserved: u8,
    pub metadata_len: u16,
    /// `FAN_*` event bits.
    pub mask: u64,
    /// An fd of the object (`FAN_NOFD` = -1 with FID reporting).
    pub fd: i32,
    pub pid: i32,
}
assert_layout!(FanotifyEventMetadata, size = 24, mask = 8, fd = 16, pid = 20);

/// The kernel's `struct uffdio_api`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioApi {
    pub api: u64,
    pub features: u64,
    pub ioctls: u64,
}
assert_layout!(UffdioApi, size = 24);

/// The kernel's `struct uffdio_range`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioRange {
    pub start: u64,
    pub len: u64,
}
assert_layout!(UffdioRange, size = 16);

/// The kernel's `struct uffdio_register`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioRegister {
    pub range: UffdioRange,
    /// `UFFDIO_REGISTER_MODE_*`.
    pub mode: u64,
    /// Out: the ioctls usable on the range.
    pub ioctls: u64,
}
assert_layout!(UffdioRegister, size = 32, mode = 16);

/// The kernel's `struct uffdio_copy`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioCopy {
    pub dst: u64,
    pub src: u64,
    pub len: u64,
    pub mode: u64,
    /// Out: bytes copied, or `-errno`.
    pub copy: i64,
}
assert_layout!(UffdioCopy, size = 40, copy = 32);

/// The kernel's `struct uffdio_zeropage`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdioZeropage {
    pub range: UffdioRange,
    pub mode: u64,
    /// Out: bytes zeroed, or `-errno`.
    pub zeropage: i64,
}
assert_layout!(UffdioZeropage, size = 32);

/// The kernel's `struct uffd_msg` (32 bytes), read from a userfaultfd.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UffdMsg {
    /// `UFFD_EVENT_*`.
    pub event: u8,
    pub reserved1: u8,
    pub reserved2: u16,
    pub reserved3: u32,
    /// The event's union; for a page fault: flags, address, thread id.
    pub arg: [u64; 3],
}
assert_layout!(UffdMsg, size = 32, arg = 8);

/// The kernel's `struct signalfd_siginfo` (128 bytes), read from a signalfd.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalfdSiginfo {
    pub ssi_signo: u32,
    pub ssi_errno: i32,
    pub ssi_code: i32,
    pub ssi_pid: u32,
    pub ssi_uid: u32,
    pub ssi_fd: i32,
    pub ssi_tid: u32,
    pub ssi_band: u32,
    pub ssi_overrun: u32,
    pub ssi_trapno: u32,
    pub ssi_status: i32,
    pub ssi_int: i32,
    pub ssi_ptr: u64,
    pub ssi_utime: u64,
    pub ssi_stime: u64,
    pub ssi_addr: u64,
    pub ssi_addr_lsb: u16,
    pub __pad2: u16,
    pub ssi_syscall: i32,
    pub ssi_call_addr: u64,
    pub ssi_arch: u32,
    pub __pad: [u8; 28],
}
assert_layout!(
    SignalfdSiginfo,
    size = 128,
    ssi_int = 44,
    ssi_ptr = 48,
    ssi_addr_lsb = 80,
    ssi_call_addr = 88,
    ssi_arch = 96
);
zeroed_default!(SignalfdSiginfo);

// `inotify_init1` flags.
pub const IN_NONBLOCK: u32 = linux_raw_sys::general::IN_NONBLOCK;
pub const IN_CLOEXEC: u32 = linux_raw_sys::general::IN_CLOEXEC;
// A few `inotify_add_watch` event bits.
pub const IN_CREATE: u32 = linux_raw_sys::general::IN_CREATE;
pub const IN_DELETE: u32 = linux_raw_sys::general::IN_DELETE;
pub const IN_ALL_EVENTS: u32 = linux_raw_sys::general::IN_ALL_EVENTS;

/// `inotify_init1(2)`: an inotify instance ([`IN_NONBLOCK`], [`IN_CLOEXEC`]).
#[inline]
pub fn inotify_init1(flags: u32) -> Result<OwnedFd> {
    // SAFETY: inotify_init1 touches no user memory.
    ret_owned_fd(unsafe { raw::syscall1(nr(Sysno::inotify_init1), flags as usize) })
}

/// `inotify_add_watch(2)`: watch `path` for the events of `mask`; returns the watch
/// descriptor.
#[inline]
pub fn inotify_add_watch(fd: impl AsFd, path: &CStr, mask: u32) -> Result<i32> {
    // SAFETY: the kernel only reads the NUL-terminated path.
    ret_c_int(unsafe { raw::syscall3(nr(Sysno::inotify_add_watch), fd_arg(&fd), cstr(path), mask as usize) })
}

/// `fanotify_init(2)`: a fanotify group fd (`FAN_CLASS_*`, `FAN_REPORT_*`, ...);
/// `event_f_flags` are the `O_*` flags of the event fds. Needs `CAP_SYS_ADMIN` for most
/// uses (`EPERM`).
#[inline]
pub fn fanotify_init(flags: u32, event_f_flags: u32) -> Result<OwnedFd> {
    // SAFETY: fanotify_init touches no user memory.
    ret_owned_fd(unsafe { raw::syscall2(nr(Sysno::fanotify_init), flags as usize, event_f_flags as usize) })
}

/// `fanotify_mark(2)`: add, remove or flush (`FAN_MARK_*`) the events `mask` on an inode,
/// mount or filesystem named by `dirfd` + `path` (`None`: `dirfd` itself).
#[inline]
pub fn fanotify_mark(fd: impl AsFd, flags: u32, mask: u64, dirfd: impl AsFd, path: Option<&CStr>) -> Result<()> {
    // SAFETY: the kernel only reads the path.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::fanotify_mark),
            fd_arg(&fd),
            flags as usize,
            mask as usize,
            fd_arg(&dirfd),
            opt_cstr(path),
        )
    })
}

/// `userfaultfd(2)`: an fd to handle page faults of registered ranges (`O_CLOEXEC`,
/// `O_NONBLOCK`, [`UFFD_USER_MODE_ONLY`]); `EPERM` when unprivileged use is off, `ENOSYS`
/// without CONFIG_USERFAULTFD. Negotiate with the `UFFDIO_API` ioctl first.
#[inline]
pub fn userfaultfd(flags: i32) -> Result<OwnedFd> {
    // SAFETY: userfaultfd touches no user memory.
    ret_owned_fd(unsafe { raw::syscall1(nr(Sysno::userfaultfd), flags as usize) })
}

/// `signalfd4(2)`: an fd (new when `fd == -1`, else `fd` updated) from which the signals
/// of `mask` pending for the caller are read as [`SignalfdSiginfo`]. The signals should
/// be blocked.
#[inline]
pub fn signalfd4(fd: i32, mask: &SigSet, flags: i32) -> Result<i32> {
    // SAFETY: the kernel only reads the mask.
    ret_c_int(unsafe {
        raw::syscall4(
            nr(Sysno::signalfd4),
            fd as usize,
            mask as *const SigSet as usize,
            core::mem::size_of::<SigSet>(),
            flags as usize,
        )
    })
}
