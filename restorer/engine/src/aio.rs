//! The aio strategy: upstream CRIU's read path (PR #3022) as one of ours, so that it can
//! be measured and used beside the others. One native AIO context of [`AIO_DEPTH`]
//! requests; one `IOCB_CMD_PREADV` per record (cut where the auto-dedup chunk bounds
//! it); a sliding window of at most `AIO_DEPTH` requests in flight, reaped with
//! `io_getevents`; short reads resubmitted for the rest; the auto-dedup hole punched
//! after each completion.
//!
//! On a buffered fd `io_submit` reads synchronously, so a warm restore is still one read
//! after another; with the fd in O_DIRECT the window keeps the disk busy.
//!
//! Nothing is left in flight when this returns: on an error the window is drained, and
//! the context is destroyed (which waits for whatever is left) on every path.

use super::dedup::Dedup;
use super::direct::DirectMode;
use super::hooks::Hooks;
use super::pieces::{Piece, Pieces};
use super::reader::Prepare;
use super::records::{Cursor, Records};
use super::Failure;
use pie_sys::aio::{io_destroy, io_getevents, io_setup, io_submit, AioContext, IoEvent, Iocb, IOCB_CMD_PREADV};
use pie_sys::fd::BorrowedFd;
use pie_sys::fs::IoVec;
use pie_sys::{mm, Errno, Result};
use vma_io::IOV_MAX;

/// Requests in flight, as upstream's context.
pub const AIO_DEPTH: usize = 128;

/// Resubmissions of one piece after EINTR/EAGAIN, and refused `io_submit`s in a row,
/// before giving up (never spin forever).
const RETRIES: u32 = 1 << 16;

/// A native AIO context; dropping it destroys it, which waits for what is in flight.
pub struct Context(AioContext);

impl Context {
    /// `io_setup` of `depth` requests. ENOSYS where the kernel has no AIO, EAGAIN past
    /// `fs.aio-max-nr`.
    pub fn new(depth: u32) -> Result<Context> {
        io_setup(depth).map(Context)
    }

    /// Queue one request. Returns how many were queued (1).
    ///
    /// # Safety
    /// The iocb, the iovecs it names and their buffers stay valid (and the buffers
    /// otherwise unused) until its completion is reaped or the context is dropped.
    unsafe fn submit(&self, cb: *mut Iocb) -> Result<usize> {
        // SAFETY: the caller's contract.
        unsafe { io_submit(self.0, &[cb]) }
    }

    /// Wait for at least one completion and reap what is there.
    fn reap(&self, events: &mut [IoEvent]) -> Result<usize> {
        loop {
            match io_getevents(self.0, 1, events, None) {
                Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // Cancels what it can and waits for the rest: no write lands after this.
        let _ = io_destroy(self.0);
    }
}

/// Where a request slot is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Free,
    /// To be (re)submitted.
    Pending,
    InFlight,
}

/// One request: the part of a record it has still to read, and its iocb.
#[derive(Clone, Copy)]
struct Slot {
    state: State,
    record: usize,
    /// The record's position in the area.
    at: usize,
    /// Bytes into the record where the unread rest starts, and where the piece ends.
    skip: u64,
    end: u64,
    /// File offset of `skip`.
    off: i64,
    /// Resubmissions after EINTR/EAGAIN.
    again: u32,
    /// Submitted while the fd was in O_DIRECT mode.
    direct: bool,
    cb: Iocb,
}

/// The window's memory, mapped for the length of a restore (a record's iovecs for each
/// slot would not fit a restorer's stack): the slots, their iovecs and the events.
struct Window {
    base: *mut u8,
    len: usize,
}

const IOVS_LEN: usize = AIO_DEPTH * IOV_MAX * core::mem::size_of::<IoVec>();
const SLOTS_LEN: usize = AIO_DEPTH * core::mem::size_of::<Slot>();
const EVENTS_LEN: usize = AIO_DEPTH * core::mem::size_of::<IoEvent>();
// Each part starts aligned for what it holds.
const _: () = assert!(IOVS_LEN.is_multiple_of(core::mem::align_of::<Slot>()));
const _: () = assert!((IOVS_LEN + SLOTS_LEN).is_multiple_of(core::mem::align_of::<IoEvent>()));

impl Window {
    fn new() -> Result<Window> {
        let len = (IOVS_LEN + SLOTS_LEN + EVENTS_LEN).next_multiple_of(vma_io::PAGE_SIZE);
        // SAFETY: a fresh private anonymous mapping (no MAP_FIXED), unmapped on drop.
        let base = unsafe {
            mm::mmap(
                core::ptr::null_mut(),
                len,
                mm::ProtFlags::READ | mm::ProtFlags::WRITE,
                mm::MapFlags::PRIVATE | mm::MapFlags::ANONYMOUS,
                None,
                0,
            )?
        };
        let mut w = Window { base, len };
        for s in w.slots() {
            *s = Slot {
                state: State::Free,
                ..slot(&Piece::default())
            };
        }
        Ok(w)
    }

    fn slots(&mut self) -> &mut [Slot] {
        // SAFETY: the mapping holds AIO_DEPTH slots after the iovecs, aligned (checked
        // above), initialised in `new`; borrowed through `&mut self` only.
        unsafe { core::slice::from_raw_parts_mut(self.base.add(IOVS_LEN) as *mut Slot, AIO_DEPTH) }
    }

    /// Slot `i`'s iovecs: room for a whole record.
    fn iovs(&self, i: usize) -> *mut IoVec {
        // SAFETY: i < AIO_DEPTH: inside the first part of the mapping.
        unsafe { (self.base as *mut IoVec).add(i * IOV_MAX) }
    }

    fn events(&mut self) -> &mut [IoEvent] {
        // SAFETY: the last part of the mapping, aligned (checked above); IoEvent is plain
        // integers, so zero or stale bytes are valid.
        unsafe { core::slice::from_raw_parts_mut(self.base.add(IOVS_LEN + SLOTS_LEN) as *mut IoEvent, AIO_DEPTH) }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: our mapping; the context that could write into it is destroyed first
        // (it is declared after the window in `read_aio`, so dropped before it).
        let _ = unsafe { mm::munmap(self.base, self.len) };
    }
}

/// How a restore reads through AIO.
pub struct AioCtx<'a> {
    pub fd: BorrowedFd<'a>,
    pub dedup: Dedup,
    /// The fd is in O_DIRECT mode: an EINVAL read falls back to buffered reads.
    pub direct: Option<&'a DirectMode<'a>>,
    /// What is done to a batch's destination before it is read into.
    pub prep: Prepare<'a>,
    pub hooks: Hooks<'a>,
}

/// Read all of `records` through a fresh AIO context. `Err` of the outer result: no
/// context could be made (the caller falls back to another strategy); the inner one is
/// the restore's.
pub fn read_aio(records: &Records, ctx: &AioCtx<'_>) -> Result<core::result::Result<u64, Failure>> {
    let mut window = Window::new()?;
    // Declared after the window: destroyed (all requests finished) before it is unmapped.
    let aio = Context::new(AIO_DEPTH as u32)?;
    Ok(Run {
        records,
        ctx,
        aio: &aio,
        window: &mut window,
        in_flight: 0,
        bytes: 0,
        failure: None,
    }
    .run())
}

struct Run<'r, 'a> {
    records: &'r Records,
    ctx: &'r AioCtx<'a>,
    aio: &'r Context,
    window: &'r mut Window,
    in_flight: usize,
    bytes: u64,
    failure: Option<Failure>,
}

impl Run<'_, '_> {
    fn run(mut self) -> core::result::Result<u64, Failure> {
        // One request a record, unless auto-dedup bounds it.
        let limit = self.ctx.dedup.limit(u64::MAX);
        let mut pieces = Pieces::new(self.records, Cursor::default(), self.records.end(), limit);
        let mut exhausted = false;
        let mut refusals = 0u32;
        loop {
            if self.failure.is_none() && !exhausted {
                exhausted = self.fill(&mut pieces);
            }
            let mut pending = false;
            for i in 0..AIO_DEPTH {
                if self.window.slots()[i].state != State::Pending {
                    continue;
                }
                if self.failure.is_some() {
                    // Failing: nothing more goes in, what is in flight drains.
                    self.window.slots()[i].state = State::Free;
                } else if !self.submit(i) {
                    pending = true;
                    break;
                }
            }
            if pending {
                // The kernel is short of resources: reaping frees them; with nothing to
                // reap, try again (a bounded number of times).
                refusals += 1;
                if refusals > RETRIES {
                    let f = self.refused(Errno::EAGAIN);
                    Failure::keep(&mut self.failure, f);
                }
            } else {
                refusals = 0;
            }
            if self.in_flight == 0 {
                if pending && self.failure.is_none() {
                    continue;
                }
                break;
            }
            let n = match self.aio.reap(self.window.events()) {
                Ok(n) => n,
                Err(e) => {
                    // Completions can no longer be reaped: the context's destruction waits
                    // for the rest.
                    Failure::keep(&mut self.failure, Failure::new(e, 0, -1));
                    break;
                }
            };
            for k in 0..n {
                let ev = self.window.events()[k];
                self.complete(ev);
            }
        }
        match self.failure {
            Some(f) => Err(f),
            None => Ok(self.bytes),
        }
    }

    /// Put the next pieces into free slots. Returns whether the stream is exhausted.
    fn fill(&mut self, pieces: &mut Pieces<'_>) -> bool {
        for i in 0..AIO_DEPTH {
            if self.window.slots()[i].state != State::Free {
                continue;
            }
            // SAFETY: slot i's IOV_MAX iovecs, not in use (the slot is free).
            let batch = unsafe { core::slice::from_raw_parts_mut(self.window.iovs(i), IOV_MAX) };
            match pieces.next_into(batch) {
                Some(Ok(p)) => self.window.slots()[i] = slot(&p),
                Some(Err(f)) => {
                    Failure::keep(&mut self.failure, f);
                    return true;
                }
                None => return true,
            }
        }
        false
    }

    /// Slot `i`'s unread rest cut again into its iovecs (after a short read the rest
    /// starts inside an iovec); returns how many.
    fn iovecs_of(&mut self, i: usize) -> core::result::Result<usize, Failure> {
        let s = self.window.slots()[i];
        let at = |skip| Cursor {
            index: s.record,
            at: s.at,
            skip,
        };
        // SAFETY: slot i's IOV_MAX iovecs, not in flight (the slot is pending).
        let batch = unsafe { core::slice::from_raw_parts_mut(self.window.iovs(i), IOV_MAX) };
        match Pieces::new(self.records, at(s.skip), at(s.end), u64::MAX).next_into(batch) {
            Some(Ok(p)) => Ok(p.iovs),
            Some(Err(f)) => Err(f),
            None => Err(Failure::new(Errno::EINVAL, s.record, s.off)),
        }
    }

    /// Submit pending slot `i`. Returns false if the kernel refused for lack of
    /// resources (the slot stays pending); a failure frees the slot and is kept.
    fn submit(&mut self, i: usize) -> bool {
        let n = match self.iovecs_of(i) {
            Ok(n) => n,
            Err(f) => {
                self.window.slots()[i].state = State::Free;
                Failure::keep(&mut self.failure, f);
                return true;
            }
        };
        let (fd, direct) = (self.ctx.fd, self.ctx.direct);
        let iovs = self.window.iovs(i);
        // SAFETY: slot i's iovecs, just cut; nothing else uses them until completion.
        let batch = unsafe { core::slice::from_raw_parts(iovs, n) };
        self.ctx.prep.before_read(batch);
        loop {
            let on = direct.is_some_and(|d| d.is_on());
            let s = &mut self.window.slots()[i];
            s.direct = on;
            let (off, cb) = (s.off, &mut s.cb as *mut Iocb);
            let aio = self.aio;
            let r = self.ctx.hooks.read(batch, direct, |iov| {
                // The fault points may hand over other iovecs (a short read): they go in
                // the slot's own, which live until the completion.
                if !core::ptr::eq(iov.as_ptr(), iovs) {
                    // SAFETY: at most IOV_MAX iovecs into slot i's, which are not in flight.
                    unsafe { core::ptr::copy(iov.as_ptr(), iovs, iov.len()) };
                }
                // SAFETY: the iocb is the slot's; slot, iovecs and the destination memory
                // they name (the caller's records) stay put until the completion is reaped
                // or the context is destroyed, both before `read_aio` returns.
                unsafe {
                    cb.write(Iocb {
                        aio_data: i as u64,
                        aio_lio_opcode: IOCB_CMD_PREADV,
                        aio_fildes: fd.as_raw_fd() as u32,
                        aio_buf: iovs as u64,
                        aio_nbytes: iov.len() as u64,
                        aio_offset: off,
                        ..Iocb::default()
                    });
                    aio.submit(cb)
                }
            });
            match r {
                Ok(_) => {
                    self.window.slots()[i].state = State::InFlight;
                    self.in_flight += 1;
                    return true;
                }
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => return false,
                // O_DIRECT refused this read: the same read again, buffered.
                Err(e) if direct.is_some_and(|d| d.is_on() && d.fall_back(e)) => {}
                Err(e) => {
                    let s = &mut self.window.slots()[i];
                    s.state = State::Free;
                    let f = Failure::new(e, s.record, s.off);
                    Failure::keep(&mut self.failure, f);
                    return true;
                }
            }
        }
    }

    /// A failure for a refused submission: the first pending slot's.
    fn refused(&mut self, e: Errno) -> Failure {
        self.window
            .slots()
            .iter()
            .find(|s| s.state == State::Pending)
            .map_or(Failure::new(e, 0, -1), |s| Failure::new(e, s.record, s.off))
    }

    /// One completion.
    fn complete(&mut self, ev: IoEvent) {
        let i = ev.data as usize;
        if i >= AIO_DEPTH {
            return;
        }
        self.in_flight -= 1;
        let (fd, dedup, direct) = (self.ctx.fd, self.ctx.dedup, self.ctx.direct);
        let failing = self.failure.is_some();
        let s = &mut self.window.slots()[i];
        match ev.res {
            n if n > 0 => {
                self.bytes += n as u64;
                dedup.punch(fd, s.off, n);
                s.skip += n as u64;
                s.off += n;
                // Short read: the rest goes back into the window.
                s.state = if s.skip < s.end && !failing {
                    State::Pending
                } else {
                    State::Free
                };
                s.again = 0;
            }
            0 => {
                s.state = State::Free;
                let f = Failure::new(Errno::ENODATA, s.record, s.off);
                Failure::keep(&mut self.failure, f);
            }
            e if (e == -(Errno::EINTR.raw_os_error() as i64) || e == -(Errno::EAGAIN.raw_os_error() as i64))
                && !failing
                && s.again < RETRIES =>
            {
                s.again += 1;
                s.state = State::Pending;
            }
            // O_DIRECT refused this read: again, buffered (another request may have
            // switched the fd back already).
            e if e == -(Errno::EINVAL.raw_os_error() as i64) && s.direct && !failing => {
                if let Some(d) = direct {
                    d.fall_back(Errno::EINVAL);
                }
                s.state = State::Pending;
            }
            e => {
                s.state = State::Free;
                let f = Failure::new(Errno::from_negated(e as i32).unwrap_or(Errno::EIO), s.record, s.off);
                Failure::keep(&mut self.failure, f);
            }
        }
    }
}

/// A slot for piece `p`, to be submitted.
fn slot(p: &Piece) -> Slot {
    Slot {
        state: State::Pending,
        record: p.record,
        at: p.at,
        skip: p.skip,
        end: p.skip + p.bytes,
        off: p.off,
        again: 0,
        direct: false,
        cb: Iocb::default(),
    }
}
