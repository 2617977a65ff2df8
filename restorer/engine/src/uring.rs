//! The io_uring strategy: the record stream cut into pieces, up to a queue's depth of
//! READV requests in flight at once, short reads resubmitted for the rest.
//!
//! Nothing is left in flight when this returns: on an error the queue is drained first,
//! so the kernel never writes into the task's memory after the caller got its answer.

use core::sync::atomic::{AtomicU32, Ordering};

use super::dedup::Dedup;
use super::hooks::Hooks;
use super::pieces::Pieces;
use super::reader::Prepare;
use super::records::{Cursor, Records};
use super::thread::{self, TidSource};
use super::Failure;
use pie_sys::fd::{AsFd, BorrowedFd, OwnedFd};
use pie_sys::fs::IoVec;
use pie_sys::io_uring::{
    io_uring_enter, io_uring_setup, IoUringCqe, IoUringParams, IoUringSqe, IoringEnterFlags, IORING_FEAT_SINGLE_MMAP,
    IORING_OFF_CQ_RING, IORING_OFF_SQES, IORING_OFF_SQ_RING, IORING_OP_READV,
};
use pie_sys::{mm, Errno, Result};

/// Requests in flight.
pub const QUEUE_DEPTH: usize = 32;
/// Bytes per request: large enough to amortise a request, small enough to spread a
/// single large VMA over the whole queue.
pub const PIECE: u64 = 2 << 20;

/// Consecutive refusals of `io_uring_enter` before giving up on the ring.
const ENTER_REFUSALS: u32 = 1 << 12;

/// A mapped ring. Dropping it unmaps and closes it.
pub struct Ring {
    fd: OwnedFd,
    sq: (*mut u8, usize),
    cq: (*mut u8, usize),
    sqes: (*mut u8, usize),
    sq_tail: *const AtomicU32,
    sq_mask: u32,
    cq_head: *const AtomicU32,
    cq_tail: *const AtomicU32,
    cq_mask: u32,
    cqes: *const IoUringCqe,
}

impl Ring {
    /// Set up a ring of `entries` entries. Fails with the kernel's answer where io_uring
    /// is missing (ENOSYS) or disabled (EPERM via `kernel.io_uring_disabled`).
    pub fn new(entries: u32) -> Result<Ring> {
        let mut p = IoUringParams::default();
        let fd = io_uring_setup(entries, &mut p)?;
        let raw_fd = fd.as_raw_fd();
        let mut ring = Ring {
            fd,
            sq: (core::ptr::null_mut(), 0),
            cq: (core::ptr::null_mut(), 0),
            sqes: (core::ptr::null_mut(), 0),
            sq_tail: core::ptr::null(),
            sq_mask: 0,
            cq_head: core::ptr::null(),
            cq_tail: core::ptr::null(),
            cq_mask: 0,
            cqes: core::ptr::null(),
        };
        let sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * core::mem::size_of::<IoUringCqe>();
        let single = p.features & IORING_FEAT_SINGLE_MMAP != 0;
        let map = |len: usize, off: i64| {
            // SAFETY: a shared mapping of the ring fd at the kernel's documented offsets;
            // `ring` owns that fd and outlives every call of this closure.
            unsafe {
                mm::mmap(
                    core::ptr::null_mut(),
                    len,
                    mm::ProtFlags::READ | mm::ProtFlags::WRITE,
                    mm::MapFlags::SHARED | mm::MapFlags::POPULATE,
                    Some(BorrowedFd::borrow_raw(raw_fd)),
                    off,
                )
            }
        };
        let sq_map = if single { sq_len.max(cq_len) } else { sq_len };
        ring.sq = (map(sq_map, IORING_OFF_SQ_RING)?, sq_map);
        ring.cq = if single {
            (ring.sq.0, 0)
        } else {
            (map(cq_len, IORING_OFF_CQ_RING)?, cq_len)
        };
        let sqes_len = p.sq_entries as usize * core::mem::size_of::<IoUringSqe>();
        ring.sqes = (map(sqes_len, IORING_OFF_SQES)?, sqes_len);
        // SAFETY: offsets come from the kernel and lie inside the mappings just made.
        unsafe {
            let sq = ring.sq.0;
            let cq = ring.cq.0;
            ring.sq_tail = sq.add(p.sq_off.tail as usize) as *const AtomicU32;
            ring.sq_mask = *(sq.add(p.sq_off.ring_mask as usize) as *const u32);
            ring.cq_head = cq.add(p.cq_off.head as usize) as *const AtomicU32;
            ring.cq_tail = cq.add(p.cq_off.tail as usize) as *const AtomicU32;
            ring.cq_mask = *(cq.add(p.cq_off.ring_mask as usize) as *const u32);
            ring.cqes = cq.add(p.cq_off.cqes as usize) as *const IoUringCqe;
            // The indirection array maps SQ slot i to SQE i, once and for all.
            let array = sq.add(p.sq_off.array as usize) as *mut u32;
            for i in 0..p.sq_entries {
                array.add(i as usize).write(i);
            }
        }
        Ok(ring)
    }

    /// The ring's fd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Queue a READV of `iov` at `off`, tagged `user_data`; `iov` must stay put until
    /// its completion is reaped.
    fn push_readv(&mut self, fd: BorrowedFd<'_>, iov: *const IoVec, off: i64, user_data: u64) {
        // SAFETY: the tail is ours to write (single submitter); the SQE slot at the tail
        // is free because no more than the ring's entries are ever in flight.
        unsafe {
            let tail = (*self.sq_tail).load(Ordering::Relaxed);
            let sqe = (self.sqes.0 as *mut IoUringSqe).add((tail & self.sq_mask) as usize);
            sqe.write(IoUringSqe {
                opcode: IORING_OP_READV,
                fd: fd.as_raw_fd(),
                off: off as u64,
                addr: iov as u64,
                len: 1,
                user_data,
                ..IoUringSqe::default()
            });
            (*self.sq_tail).store(tail.wrapping_add(1), Ordering::Release);
        }
    }

    /// Submit what was queued and wait for at least `wait` completions.
    fn enter(&self, submit: u32, wait: u32) -> Result<usize> {
        loop {
            // SAFETY: the queued SQEs point at iovecs that live until their completion.
            match unsafe { io_uring_enter(&self.fd, submit, wait, IoringEnterFlags::GETEVENTS, None) } {
                Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// The next completion, if any.
    fn pop(&mut self) -> Option<IoUringCqe> {
        // SAFETY: head is ours, tail the kernel's; CQEs between them are complete.
        unsafe {
            let head = (*self.cq_head).load(Ordering::Relaxed);
            if head == (*self.cq_tail).load(Ordering::Acquire) {
                return None;
            }
            let cqe = self.cqes.add((head & self.cq_mask) as usize).read();
            (*self.cq_head).store(head.wrapping_add(1), Ordering::Release);
            Some(cqe)
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        for (p, len) in [self.sqes, self.cq, self.sq] {
            if !p.is_null() && len != 0 {
                // SAFETY: mappings this ring made; nothing is in flight any more.
                let _ = unsafe { mm::munmap(p, len) };
            }
        }
    }
}

/// One request: where it writes, what it reads, and which record it belongs to.
#[derive(Clone, Copy)]
struct Slot {
    iov: IoVec,
    off: i64,
    record: usize,
    busy: bool,
}

/// Read all of `records` through `ring`. Returns the bytes read.
pub fn read_uring(
    ring: &mut Ring,
    records: &Records,
    fd: BorrowedFd<'_>,
    dedup_chunk: u64,
    prep: Prepare<'_>,
) -> core::result::Result<u64, Failure> {
    let dedup = Dedup::new(dedup_chunk);
    // One iovec a request, so that a short read resubmits the rest of one range.
    let mut pieces = Pieces::new(records, Cursor::default(), records.end(), dedup.limit(PIECE));
    let mut slots = [Slot {
        iov: IoVec {
            base: core::ptr::null_mut(),
            len: 0,
        },
        off: 0,
        record: 0,
        busy: false,
    }; QUEUE_DEPTH];
    let mut in_flight = 0usize;
    let mut queued = 0u32;
    let mut bytes = 0u64;
    let mut failure: Option<Failure> = None;
    let mut exhausted = false;
    let mut refusals = 0u32;
    loop {
        // Fill free slots, unless failing (then only drain).
        if failure.is_none() && !exhausted {
            for (i, s) in slots.iter_mut().enumerate() {
                if s.busy {
                    continue;
                }
                match pieces.next_into(core::slice::from_mut(&mut s.iov)) {
                    Some(Ok(p)) => {
                        (s.off, s.record, s.busy) = (p.off, p.record, true);
                        prep.before_read(core::slice::from_ref(&s.iov));
                        ring.push_readv(fd, &s.iov, s.off, i as u64);
                        in_flight += 1;
                        queued += 1;
                    }
                    Some(Err(f)) => {
                        Failure::keep(&mut failure, f);
                        exhausted = true;
                        break;
                    }
                    None => {
                        exhausted = true;
                        break;
                    }
                }
            }
        }
        if in_flight == 0 {
            break;
        }
        // Submit (the kernel may take fewer than queued: the rest stay in the SQ ring and
        // go with the next call) and wait for a completion.
        match ring.enter(queued, 1) {
            Ok(n) => {
                queued -= (n as u32).min(queued);
                refusals = 0;
            }
            Err(e) => {
                // EAGAIN/EBUSY: the kernel is short of resources; reaping frees them.
                if e != Errno::EAGAIN && e != Errno::EBUSY {
                    failure.get_or_insert(Failure::new(e, 0, -1));
                }
                refusals += 1;
                if refusals > ENTER_REFUSALS {
                    return Err(failure.unwrap_or(Failure::new(e, 0, -1)));
                }
            }
        }
        while let Some(c) = ring.pop() {
            let i = c.user_data as usize;
            let s = &mut slots[i];
            in_flight -= 1;
            match c.res {
                n if n > 0 => {
                    let n = n as usize;
                    bytes += n as u64;
                    dedup.punch(fd, s.off, n as i64);
                    if n < s.iov.len && failure.is_none() {
                        // Short read: the rest goes back into the queue.
                        s.iov = IoVec {
                            // SAFETY: n < len, inside the piece.
                            base: unsafe { s.iov.base.add(n) },
                            len: s.iov.len - n,
                        };
                        s.off += n as i64;
                        ring.push_readv(fd, &s.iov, s.off, i as u64);
                        in_flight += 1;
                        queued += 1;
                    } else {
                        s.busy = false;
                    }
                }
                0 => {
                    s.busy = false;
                    Failure::keep(&mut failure, Failure::new(Errno::ENODATA, s.record, s.off));
                }
                e if (e == -Errno::EINTR.raw_os_error() || e == -Errno::EAGAIN.raw_os_error()) && failure.is_none() => {
                    ring.push_readv(fd, &s.iov, s.off, i as u64);
                    in_flight += 1;
                    queued += 1;
                }
                e => {
                    s.busy = false;
                    Failure::keep(
                        &mut failure,
                        Failure::new(Errno::from_negated(e).unwrap_or(Errno::EIO), s.record, s.off),
                    );
                }
            }
        }
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(bytes),
    }
}

/// What [`read_uring_on_thread`]'s thread is given and hands back.
struct Job<'a> {
    records: &'a Records,
    fd: BorrowedFd<'a>,
    dedup_chunk: u64,
    prep: Prepare<'a>,
    /// `Err`: no ring could be set up.
    result: Result<core::result::Result<u64, Failure>>,
}

impl Job<'_> {
    fn run(&mut self) {
        self.result = Ring::new(QUEUE_DEPTH as u32)
            .map(|mut ring| read_uring(&mut ring, self.records, self.fd, self.dedup_chunk, self.prep));
    }
}

extern "C" fn job_entry(arg: *mut u8) -> i32 {
    // SAFETY: `arg` is the Job this thread was given; nobody else touches it until join.
    let job = unsafe { &mut *(arg as *mut Job<'_>) };
    job.run();
    0
}

/// Set up a ring and [`read_uring`] all of `records` on a thread of its own, joined before
/// this returns. Reads the kernel punts to its io-wq are served by `iou-wrk` threads of
/// the submitting task, which outlive the ring (the last one of each kind until its task
/// exits) and would join the restored task; a thread of our own takes them with it: its
/// exit cancels its io_uring work and waits for its io-wq workers to exit, before the
/// kernel clears the TID the join waits on; the join then waits for the thread to leave
/// the group. Where no thread can be had, the caller's thread submits (and may be left
/// with the workers). `Err`: no ring (ENOSYS, or EPERM from `kernel.io_uring_disabled`
/// or seccomp).
pub fn read_uring_on_thread(
    records: &Records,
    fd: BorrowedFd<'_>,
    dedup_chunk: u64,
    prep: Prepare<'_>,
    tids: &mut TidSource,
    hooks: Hooks<'_>,
) -> Result<core::result::Result<u64, Failure>> {
    let mut job = Job {
        records,
        fd,
        dedup_chunk,
        prep,
        result: Err(Errno::ENOSYS),
    };
    let tid = AtomicU32::new(0);
    let arg = &mut job as *mut Job<'_> as *mut u8;
    // SAFETY: the job lives until the join below; the reader uses no thread-local storage
    // and does not unwind (panic=abort in the blob).
    match unsafe { thread::spawn(job_entry, arg, &tid, tids, hooks) } {
        Ok(t) => {
            if let Err(e) = t.join() {
                // Whatever the reads did, the call would leave a thread of ours behind.
                let join = Failure::new(e, 0, -1);
                job.result = Ok(Err(match job.result {
                    Ok(Err(f)) => f,
                    _ => join,
                }));
            }
        }
        Err(_) => job.run(),
    }
    job.result
}
