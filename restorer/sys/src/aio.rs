//! Linux native AIO: contexts, submissions, completions.

use super::ret::{ret_unit, ret_usize};
use super::timespec::Timespec;
use super::{nr, opt_ptr, raw, Result};
use syscalls::Sysno;

/// An AIO context handle (`aio_context_t`): the address of its ring in the caller.
pub type AioContext = u64;

// `aio_lio_opcode`.
pub const IOCB_CMD_PREAD: u16 = 0;
pub const IOCB_CMD_PWRITE: u16 = 1;
pub const IOCB_CMD_FSYNC: u16 = 2;
pub const IOCB_CMD_FDSYNC: u16 = 3;
pub const IOCB_CMD_POLL: u16 = 5;
pub const IOCB_CMD_NOOP: u16 = 6;
pub const IOCB_CMD_PREADV: u16 = 7;
pub const IOCB_CMD_PWRITEV: u16 = 8;
/// `aio_flags`: signal completion on the eventfd `aio_resfd`.
pub const IOCB_FLAG_RESFD: u32 = 1 << 0;
/// `aio_flags`: `aio_reqprio` is an I/O priority.
pub const IOCB_FLAG_IOPRIO: u32 = 1 << 1;

/// The kernel's `struct iocb` (x86_64, little endian: key before rw_flags).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iocb {
    /// Returned in [`IoEvent::data`].
    pub aio_data: u64,
    pub aio_key: u32,
    /// `RWF_*` flags.
    pub aio_rw_flags: i32,
    /// `IOCB_CMD_*`.
    pub aio_lio_opcode: u16,
    pub aio_reqprio: i16,
    pub aio_fildes: u32,
    /// Buffer address (or iovec array for the vectored commands).
    pub aio_buf: u64,
    /// Bytes (or iovec count).
    pub aio_nbytes: u64,
    pub aio_offset: i64,
    pub aio_reserved2: u64,
    /// `IOCB_FLAG_*`.
    pub aio_flags: u32,
    pub aio_resfd: u32,
}
assert_layout!(
    Iocb,
    size = 64,
    aio_rw_flags = 12,
    aio_lio_opcode = 16,
    aio_fildes = 20,
    aio_buf = 24,
    aio_offset = 40,
    aio_flags = 56
);

/// The kernel's `struct io_event`: one completion.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoEvent {
    /// The `aio_data` of the request.
    pub data: u64,
    /// The address of the request's iocb.
    pub obj: u64,
    /// Bytes transferred, or `-errno`.
    pub res: i64,
    pub res2: i64,
}
assert_layout!(IoEvent, size = 32);

/// The header of an AIO ring (the kernel's `struct aio_ring`, at the context's
/// address), followed in the mapping by `nr` [`IoEvent`]s.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AioRing {
    /// The kernel's index of the context.
    pub id: u32,
    /// Completion slots in the ring.
    pub nr: u32,
    /// Next completion to reap; user space may advance it.
    pub head: u32,
    /// Next slot the kernel fills.
    pub tail: u32,
    pub magic: u32,
    pub compat_features: u32,
    pub incompat_features: u32,
    /// `size_of::<AioRing>()`.
    pub header_length: u32,
}
assert_layout!(AioRing, size = 32, head = 8, tail = 12, header_length = 28);

/// `io_setup(2)`: a context able to hold `nr_events` requests in flight.
#[inline]
pub fn io_setup(nr_events: u32) -> Result<AioContext> {
    let mut ctx: AioContext = 0;
    // SAFETY: the kernel reads the (zero) handle and writes the new one.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::io_setup),
            nr_events as usize,
            &mut ctx as *mut AioContext as usize,
        )
    })?;
    Ok(ctx)
}

/// `io_destroy(2)`: cancel what it can, wait for the rest and free context `ctx`.
#[inline]
pub fn io_destroy(ctx: AioContext) -> Result<()> {
    // SAFETY: io_destroy touches no user memory of ours beyond the ring it unmaps.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::io_destroy), ctx as usize) })
}

/// `io_submit(2)`: queue the requests `iocbs` point to; returns how many were queued.
///
/// # Safety
/// Every iocb and the buffers it names must stay valid (and the buffers otherwise
/// unused) until its completion is reaped with [`io_getevents`].
#[inline]
pub unsafe fn io_submit(ctx: AioContext, iocbs: &[*mut Iocb]) -> Result<usize> {
    // SAFETY: the caller vouches for the requests and their buffers.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::io_submit), ctx as usize, iocbs.len(), iocbs.as_ptr() as usize) })
}

/// `io_getevents(2)`: reap between `min_nr` and `events.len()` completions, waiting up to
/// `timeout` (`None`: forever) for the first `min_nr`.
#[inline]
pub fn io_getevents(
    ctx: AioContext,
    min_nr: usize,
    events: &mut [IoEvent],
    timeout: Option<&Timespec>,
) -> Result<usize> {
    // SAFETY: the kernel writes at most events.len() io_events and reads the timeout.
    ret_usize(unsafe {
        raw::syscall5(
            nr(Sysno::io_getevents),
            ctx as usize,
            min_nr,
            events.len(),
            events.as_mut_ptr() as usize,
            opt_ptr(timeout),
        )
    })
}
