//! io_uring: ring setup, submission/completion, registration, and the structures shared
//! with the kernel through the mapped rings.
//!
//! Setting up a ring: [`io_uring_setup`] fills [`IoUringParams`]; map the SQ ring at
//! [`IORING_OFF_SQ_RING`] (`sq_off.array + sq_entries * 4` bytes), the CQ ring at
//! [`IORING_OFF_CQ_RING`] (`cq_off.cqes + cq_entries * 16` bytes; the same mapping as
//! the SQ ring when `features` has [`IORING_FEAT_SINGLE_MMAP`]) and the SQE array at
//! [`IORING_OFF_SQES`], all `MAP_SHARED` from the ring fd. Then fill an SQE, put its
//! index in `array[tail & ring_mask]`, publish `tail + 1` with release ordering and call
//! [`io_uring_enter`]; completions appear at `cqes[head & ring_mask]` up to the CQ tail
//! (acquire), consumed by storing the new head.

use core::ffi::c_void;

use super::fd::{AsFd, OwnedFd};
use super::ret::{fd_arg, ret_owned_fd, ret_usize};
use super::sigtypes::SigSet;
use super::{nr, opt_ptr, raw, Errno, Result};
use syscalls::Sysno;

// mmap offsets of the ring fd.
pub const IORING_OFF_SQ_RING: i64 = linux_raw_sys::io_uring::IORING_OFF_SQ_RING as i64;
pub const IORING_OFF_CQ_RING: i64 = linux_raw_sys::io_uring::IORING_OFF_CQ_RING as i64;
pub const IORING_OFF_SQES: i64 = linux_raw_sys::io_uring::IORING_OFF_SQES as i64;

// `io_uring_setup` flags.
pub const IORING_SETUP_IOPOLL: u32 = linux_raw_sys::io_uring::IORING_SETUP_IOPOLL;
pub const IORING_SETUP_SQPOLL: u32 = linux_raw_sys::io_uring::IORING_SETUP_SQPOLL;
pub const IORING_SETUP_SQ_AFF: u32 = linux_raw_sys::io_uring::IORING_SETUP_SQ_AFF;
pub const IORING_SETUP_CQSIZE: u32 = linux_raw_sys::io_uring::IORING_SETUP_CQSIZE;
pub const IORING_SETUP_CLAMP: u32 = linux_raw_sys::io_uring::IORING_SETUP_CLAMP;
pub const IORING_SETUP_ATTACH_WQ: u32 = linux_raw_sys::io_uring::IORING_SETUP_ATTACH_WQ;
pub const IORING_SETUP_R_DISABLED: u32 = linux_raw_sys::io_uring::IORING_SETUP_R_DISABLED;
pub const IORING_SETUP_SUBMIT_ALL: u32 = linux_raw_sys::io_uring::IORING_SETUP_SUBMIT_ALL;
pub const IORING_SETUP_COOP_TASKRUN: u32 = linux_raw_sys::io_uring::IORING_SETUP_COOP_TASKRUN;
pub const IORING_SETUP_TASKRUN_FLAG: u32 = linux_raw_sys::io_uring::IORING_SETUP_TASKRUN_FLAG;
pub const IORING_SETUP_SQE128: u32 = linux_raw_sys::io_uring::IORING_SETUP_SQE128;
pub const IORING_SETUP_CQE32: u32 = linux_raw_sys::io_uring::IORING_SETUP_CQE32;
pub const IORING_SETUP_SINGLE_ISSUER: u32 = linux_raw_sys::io_uring::IORING_SETUP_SINGLE_ISSUER;
pub const IORING_SETUP_DEFER_TASKRUN: u32 = linux_raw_sys::io_uring::IORING_SETUP_DEFER_TASKRUN;
pub const IORING_SETUP_NO_MMAP: u32 = linux_raw_sys::io_uring::IORING_SETUP_NO_MMAP;
pub const IORING_SETUP_REGISTERED_FD_ONLY: u32 = linux_raw_sys::io_uring::IORING_SETUP_REGISTERED_FD_ONLY;
pub const IORING_SETUP_NO_SQARRAY: u32 = linux_raw_sys::io_uring::IORING_SETUP_NO_SQARRAY;

// `features` reported by `io_uring_setup`.
pub const IORING_FEAT_SINGLE_MMAP: u32 = linux_raw_sys::io_uring::IORING_FEAT_SINGLE_MMAP;
pub const IORING_FEAT_NODROP: u32 = linux_raw_sys::io_uring::IORING_FEAT_NODROP;
pub const IORING_FEAT_SUBMIT_STABLE: u32 = linux_raw_sys::io_uring::IORING_FEAT_SUBMIT_STABLE;
pub const IORING_FEAT_RW_CUR_POS: u32 = linux_raw_sys::io_uring::IORING_FEAT_RW_CUR_POS;
pub const IORING_FEAT_CUR_PERSONALITY: u32 = linux_raw_sys::io_uring::IORING_FEAT_CUR_PERSONALITY;
pub const IORING_FEAT_FAST_POLL: u32 = linux_raw_sys::io_uring::IORING_FEAT_FAST_POLL;
pub const IORING_FEAT_POLL_32BITS: u32 = linux_raw_sys::io_uring::IORING_FEAT_POLL_32BITS;
pub const IORING_FEAT_SQPOLL_NONFIXED: u32 = linux_raw_sys::io_uring::IORING_FEAT_SQPOLL_NONFIXED;
pub const IORING_FEAT_EXT_ARG: u32 = linux_raw_sys::io_uring::IORING_FEAT_EXT_ARG;
pub const IORING_FEAT_NATIVE_WORKERS: u32 = linux_raw_sys::io_uring::IORING_FEAT_NATIVE_WORKERS;
pub const IORING_FEAT_RSRC_TAGS: u32 = linux_raw_sys::io_uring::IORING_FEAT_RSRC_TAGS;

// `io_uring_enter` flags.
bitflags::bitflags! {
    /// `IORING_ENTER_*`: what `io_uring_enter` does besides submitting.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct IoringEnterFlags: u32 {
        const GETEVENTS = linux_raw_sys::io_uring::IORING_ENTER_GETEVENTS;
        const SQ_WAKEUP = linux_raw_sys::io_uring::IORING_ENTER_SQ_WAKEUP;
        const SQ_WAIT = linux_raw_sys::io_uring::IORING_ENTER_SQ_WAIT;
        const EXT_ARG = linux_raw_sys::io_uring::IORING_ENTER_EXT_ARG;
        const REGISTERED_RING = linux_raw_sys::io_uring::IORING_ENTER_REGISTERED_RING;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

// SQ ring `flags`.
pub const IORING_SQ_NEED_WAKEUP: u32 = linux_raw_sys::io_uring::IORING_SQ_NEED_WAKEUP;
pub const IORING_SQ_CQ_OVERFLOW: u32 = linux_raw_sys::io_uring::IORING_SQ_CQ_OVERFLOW;
pub const IORING_SQ_TASKRUN: u32 = linux_raw_sys::io_uring::IORING_SQ_TASKRUN;

// SQE `flags`.
pub const IOSQE_FIXED_FILE: u8 = 1 << 0;
pub const IOSQE_IO_DRAIN: u8 = 1 << 1;
pub const IOSQE_IO_LINK: u8 = 1 << 2;
pub const IOSQE_IO_HARDLINK: u8 = 1 << 3;
pub const IOSQE_ASYNC: u8 = 1 << 4;
pub const IOSQE_BUFFER_SELECT: u8 = 1 << 5;
pub const IOSQE_CQE_SKIP_SUCCESS: u8 = 1 << 6;

// CQE `flags`.
pub const IORING_CQE_F_BUFFER: u32 = linux_raw_sys::io_uring::IORING_CQE_F_BUFFER;
pub const IORING_CQE_F_MORE: u32 = linux_raw_sys::io_uring::IORING_CQE_F_MORE;

// Opcodes.
pub const IORING_OP_NOP: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_NOP as u8;
pub const IORING_OP_READV: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_READV as u8;
pub const IORING_OP_WRITEV: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_WRITEV as u8;
pub const IORING_OP_FSYNC: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_FSYNC as u8;
pub const IORING_OP_READ_FIXED: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_READ_FIXED as u8;
pub const IORING_OP_WRITE_FIXED: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_WRITE_FIXED as u8;
pub const IORING_OP_POLL_ADD: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_POLL_ADD as u8;
pub const IORING_OP_POLL_REMOVE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_POLL_REMOVE as u8;
pub const IORING_OP_SYNC_FILE_RANGE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_SYNC_FILE_RANGE as u8;
pub const IORING_OP_SENDMSG: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_SENDMSG as u8;
pub const IORING_OP_RECVMSG: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_RECVMSG as u8;
pub const IORING_OP_TIMEOUT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_TIMEOUT as u8;
pub const IORING_OP_TIMEOUT_REMOVE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_TIMEOUT_REMOVE as u8;
pub const IORING_OP_ACCEPT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_ACCEPT as u8;
pub const IORING_OP_ASYNC_CANCEL: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_ASYNC_CANCEL as u8;
pub const IORING_OP_LINK_TIMEOUT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_LINK_TIMEOUT as u8;
pub const IORING_OP_CONNECT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_CONNECT as u8;
pub const IORING_OP_FALLOCATE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_FALLOCATE as u8;
pub const IORING_OP_OPENAT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_OPENAT as u8;
pub const IORING_OP_CLOSE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_CLOSE as u8;
pub const IORING_OP_FILES_UPDATE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_FILES_UPDATE as u8;
pub const IORING_OP_STATX: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_STATX as u8;
pub const IORING_OP_READ: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_READ as u8;
pub const IORING_OP_WRITE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_WRITE as u8;
pub const IORING_OP_FADVISE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_FADVISE as u8;
pub const IORING_OP_MADVISE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_MADVISE as u8;
pub const IORING_OP_SEND: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_SEND as u8;
pub const IORING_OP_RECV: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_RECV as u8;
pub const IORING_OP_OPENAT2: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_OPENAT2 as u8;
pub const IORING_OP_EPOLL_CTL: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_EPOLL_CTL as u8;
pub const IORING_OP_SPLICE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_SPLICE as u8;
pub const IORING_OP_PROVIDE_BUFFERS: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_PROVIDE_BUFFERS as u8;
pub const IORING_OP_REMOVE_BUFFERS: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_REMOVE_BUFFERS as u8;
pub const IORING_OP_TEE: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_TEE as u8;
pub const IORING_OP_SHUTDOWN: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_SHUTDOWN as u8;
pub const IORING_OP_RENAMEAT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_RENAMEAT as u8;
pub const IORING_OP_UNLINKAT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_UNLINKAT as u8;
pub const IORING_OP_MKDIRAT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_MKDIRAT as u8;
pub const IORING_OP_SYMLINKAT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_SYMLINKAT as u8;
pub const IORING_OP_LINKAT: u8 = linux_raw_sys::io_uring::io_uring_op::IORING_OP_LINKAT as u8;

// `io_uring_register` opcodes.
pub const IORING_REGISTER_BUFFERS: u32 = linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_BUFFERS as u32;
pub const IORING_UNREGISTER_BUFFERS: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_UNREGISTER_BUFFERS as u32;
pub const IORING_REGISTER_FILES: u32 = linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_FILES as u32;
pub const IORING_UNREGISTER_FILES: u32 = linux_raw_sys::io_uring::io_uring_register_op::IORING_UNREGISTER_FILES as u32;
pub const IORING_REGISTER_EVENTFD: u32 = linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_EVENTFD as u32;
pub const IORING_UNREGISTER_EVENTFD: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_UNREGISTER_EVENTFD as u32;
pub const IORING_REGISTER_FILES_UPDATE: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_FILES_UPDATE as u32;
pub const IORING_REGISTER_EVENTFD_ASYNC: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_EVENTFD_ASYNC as u32;
pub const IORING_REGISTER_PROBE: u32 = linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_PROBE as u32;
pub const IORING_REGISTER_PERSONALITY: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_PERSONALITY as u32;
pub const IORING_UNREGISTER_PERSONALITY: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_UNREGISTER_PERSONALITY as u32;
pub const IORING_REGISTER_RESTRICTIONS: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_RESTRICTIONS as u32;
pub const IORING_REGISTER_ENABLE_RINGS: u32 =
    linux_raw_sys::io_uring::io_uring_register_op::IORING_REGISTER_ENABLE_RINGS as u32;

/// `io_uring_probe_op` flag: the opcode is supported.
pub const IO_URING_OP_SUPPORTED: u16 = linux_raw_sys::io_uring::IO_URING_OP_SUPPORTED as u16;
/// Number of op slots in [`IoUringProbe`].
pub const IO_URING_PROBE_OPS: usize = 64;

/// The kernel's `struct io_sqring_offsets`: byte offsets into the SQ ring mapping.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoSqringOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub flags: u32,
    pub dropped: u32,
    /// The SQE index array.
    pub array: u32,
    pub resv1: u32,
    pub user_addr: u64,
}
assert_layout!(IoSqringOffsets, size = 40, array = 24, user_addr = 32);

/// The kernel's `struct io_cqring_offsets`: byte offsets into the CQ ring mapping.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoCqringOffsets {
    pub head: u32,
    pub tail: u32,
    pub ring_mask: u32,
    pub ring_entries: u32,
    pub overflow: u32,
    /// The CQE array.
    pub cqes: u32,
    pub flags: u32,
    pub resv1: u32,
    pub user_addr: u64,
}
assert_layout!(IoCqringOffsets, size = 40, cqes = 20, user_addr = 32);

/// The kernel's `struct io_uring_params`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoUringParams {
    pub sq_entries: u32,
    pub cq_entries: u32,
    /// `IORING_SETUP_*`.
    pub flags: u32,
    pub sq_thread_cpu: u32,
    pub sq_thread_idle: u32,
    /// `IORING_FEAT_*`, filled by the kernel.
    pub features: u32,
    pub wq_fd: u32,
    pub resv: [u32; 3],
    pub sq_off: IoSqringOffsets,
    pub cq_off: IoCqringOffsets,
}
assert_layout!(IoUringParams, size = 120, features = 20, sq_off = 40, cq_off = 80);

/// The kernel's `struct io_uring_sqe` (64 bytes); unions are named by their first or
/// most common member.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoUringSqe {
    /// `IORING_OP_*`.
    pub opcode: u8,
    /// `IOSQE_*`.
    pub flags: u8,
    pub ioprio: u16,
    pub fd: i32,
    /// File offset (`off` / `addr2`).
    pub off: u64,
    /// Buffer or iovec array address (`addr` / `splice_off_in`).
    pub addr: u64,
    /// Bytes or iovec count.
    pub len: u32,
    /// Per-op flags (`rw_flags`, `fsync_flags`, `poll32_events`, ...).
    pub op_flags: u32,
    /// Returned in the CQE.
    pub user_data: u64,
    /// Registered buffer index for `*_FIXED` (`buf_index` / `buf_group`).
    pub buf_index: u16,
    pub personality: u16,
    /// `splice_fd_in` / `file_index`.
    pub splice_fd_in: i32,
    pub addr3: u64,
    pub __pad2: u64,
}
assert_layout!(
    IoUringSqe,
    size = 64,
    off = 8,
    addr = 16,
    len = 24,
    op_flags = 28,
    user_data = 32,
    buf_index = 40,
    splice_fd_in = 44,
    addr3 = 48
);

/// The kernel's `struct io_uring_cqe` (16 bytes, without `IORING_SETUP_CQE32`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoUringCqe {
    pub user_data: u64,
    /// Result: bytes, or `-errno`.
    pub res: i32,
    /// `IORING_CQE_F_*`.
    pub flags: u32,
}
assert_layout!(IoUringCqe, size = 16, res = 8);

/// The kernel's `struct io_uring_probe_op`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoUringProbeOp {
    pub op: u8,
    pub resv: u8,
    /// [`IO_URING_OP_SUPPORTED`].
    pub flags: u16,
    pub resv2: u32,
}
assert_layout!(IoUringProbeOp, size = 8);

/// The kernel's `struct io_uring_probe` with [`IO_URING_PROBE_OPS`] op slots. Pass it
/// zeroed to `IORING_REGISTER_PROBE` with `nr_args = IO_URING_PROBE_OPS`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoUringProbe {
    /// Last opcode the kernel knows.
    pub last_op: u8,
    /// Entries of `ops` filled.
    pub ops_len: u8,
    pub resv: u16,
    pub resv2: [u32; 3],
    pub ops: [IoUringProbeOp; IO_URING_PROBE_OPS],
}
assert_layout!(IoUringProbe, size = 16 + 8 * IO_URING_PROBE_OPS, ops = 16);
zeroed_default!(IoUringProbe);

impl IoUringProbe {
    /// Whether the probe reports opcode `op` as supported.
    pub fn supports(&self, op: u8) -> bool {
        let n = (self.ops_len as usize).min(IO_URING_PROBE_OPS);
        self.ops[..n]
            .iter()
            .any(|o| o.op == op && o.flags & IO_URING_OP_SUPPORTED != 0)
    }
}

/// `io_uring_setup(2)`: a ring with at least `entries` SQEs, in memory the kernel
/// allocates; the kernel completes `params` (entries, features, ring offsets). Returns
/// the ring fd. `IORING_SETUP_NO_MMAP` (rings in the caller's memory) is refused with
/// `EINVAL` here: it is [`io_uring_setup_raw`]'s.
#[inline]
pub fn io_uring_setup(entries: u32, params: &mut IoUringParams) -> Result<OwnedFd> {
    if params.flags & IORING_SETUP_NO_MMAP != 0 {
        return Err(Errno::EINVAL);
    }
    // SAFETY: without IORING_SETUP_NO_MMAP the kernel allocates the rings itself.
    unsafe { io_uring_setup_raw(entries, params) }
}

/// [`io_uring_setup`] with any flags, `IORING_SETUP_NO_MMAP` included.
///
/// # Safety
/// With `IORING_SETUP_NO_MMAP` the kernel uses the memory at `sq_off.user_addr` and
/// `cq_off.user_addr` as the rings: it must be valid, suitably sized and owned by the
/// ring from then on.
#[inline]
pub unsafe fn io_uring_setup_raw(entries: u32, params: &mut IoUringParams) -> Result<OwnedFd> {
    // SAFETY: the kernel reads and writes one io_uring_params; the caller vouches for
    // user-provided ring memory.
    ret_owned_fd(unsafe {
        raw::syscall2(
            nr(Sysno::io_uring_setup),
            entries as usize,
            params as *mut IoUringParams as usize,
        )
    })
}

/// `io_uring_enter(2)`: submit `to_submit` SQEs and, with [`IORING_ENTER_GETEVENTS`],
/// wait for `min_complete` completions (with `sig` as the mask while waiting). Returns
/// the SQEs consumed.
///
/// # Safety
/// Every submitted SQE's buffers, iovecs and other pointers must be valid for its
/// operation until its completion is reaped.
#[inline]
pub unsafe fn io_uring_enter(
    fd: impl AsFd,
    to_submit: u32,
    min_complete: u32,
    flags: IoringEnterFlags,
    sig: Option<&SigSet>,
) -> Result<usize> {
    // SAFETY: the caller vouches for the submitted operations; the kernel reads the mask.
    ret_usize(unsafe {
        raw::syscall6(
            nr(Sysno::io_uring_enter),
            fd_arg(&fd),
            to_submit as usize,
            min_complete as usize,
            flags.bits() as usize,
            opt_ptr(sig),
            core::mem::size_of::<SigSet>(),
        )
    })
}

/// `io_uring_register(2)`: register or unregister resources (`IORING_REGISTER_*`) of
/// ring `fd`: buffers, files, eventfds, probes.
///
/// # Safety
/// `arg` must point to what `opcode` expects (`nr_args` iovecs for buffers, whose memory
/// the ring may then use until unregistered; `nr_args` fds; a zeroed probe with
/// `nr_args` op slots, ...).
#[inline]
pub unsafe fn io_uring_register(fd: impl AsFd, opcode: u32, arg: *mut c_void, nr_args: u32) -> Result<usize> {
    // SAFETY: the caller vouches for `arg`.
    ret_usize(unsafe {
        raw::syscall4(
            nr(Sysno::io_uring_register),
            fd_arg(&fd),
            opcode as usize,
            arg as usize,
            nr_args as usize,
        )
    })
}
