//! Time: clocks, sleeping, interval timers, POSIX timers and timerfds.

use super::fd::{AsFd, OwnedFd};
use super::ret::{fd_arg, ret_c_int, ret_owned_fd, ret_unit};
pub use super::timespec::{Timespec, Timeval, NSEC_PER_SEC};
use super::{nr, opt_mut, opt_ptr, raw, Result};
use syscalls::Sysno;

/// A clock (`CLOCK_*`, or a CPU-time clock id the kernel made).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClockId(i32);

impl ClockId {
    pub const REALTIME: ClockId = ClockId(linux_raw_sys::general::CLOCK_REALTIME as i32);
    pub const MONOTONIC: ClockId = ClockId(linux_raw_sys::general::CLOCK_MONOTONIC as i32);
    pub const PROCESS_CPUTIME_ID: ClockId = ClockId(linux_raw_sys::general::CLOCK_PROCESS_CPUTIME_ID as i32);
    pub const THREAD_CPUTIME_ID: ClockId = ClockId(linux_raw_sys::general::CLOCK_THREAD_CPUTIME_ID as i32);
    pub const MONOTONIC_RAW: ClockId = ClockId(linux_raw_sys::general::CLOCK_MONOTONIC_RAW as i32);
    pub const REALTIME_COARSE: ClockId = ClockId(linux_raw_sys::general::CLOCK_REALTIME_COARSE as i32);
    pub const MONOTONIC_COARSE: ClockId = ClockId(linux_raw_sys::general::CLOCK_MONOTONIC_COARSE as i32);
    pub const BOOTTIME: ClockId = ClockId(linux_raw_sys::general::CLOCK_BOOTTIME as i32);
    pub const REALTIME_ALARM: ClockId = ClockId(linux_raw_sys::general::CLOCK_REALTIME_ALARM as i32);
    pub const BOOTTIME_ALARM: ClockId = ClockId(linux_raw_sys::general::CLOCK_BOOTTIME_ALARM as i32);
    pub const TAI: ClockId = ClockId(linux_raw_sys::general::CLOCK_TAI as i32);

    /// A clock by its number, for ids this list lacks (the kernel rejects unknown ones).
    #[inline]
    pub const fn from_raw(id: i32) -> Self {
        ClockId(id)
    }

    /// The clock's number.
    #[inline]
    pub const fn as_raw(self) -> i32 {
        self.0
    }
}

impl core::fmt::Display for ClockId {
    /// The number, as `<linux/time.h>` writes it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// `clock_nanosleep`/`timer_settime` flag: the time is absolute.
pub const TIMER_ABSTIME: i32 = linux_raw_sys::general::TIMER_ABSTIME as i32;

// Interval timers.
pub const ITIMER_REAL: i32 = linux_raw_sys::general::ITIMER_REAL as i32;
pub const ITIMER_VIRTUAL: i32 = linux_raw_sys::general::ITIMER_VIRTUAL as i32;
pub const ITIMER_PROF: i32 = linux_raw_sys::general::ITIMER_PROF as i32;

// `sigevent` notification kinds.
pub const SIGEV_SIGNAL: i32 = linux_raw_sys::general::SIGEV_SIGNAL as i32;
pub const SIGEV_NONE: i32 = linux_raw_sys::general::SIGEV_NONE as i32;
pub const SIGEV_THREAD: i32 = linux_raw_sys::general::SIGEV_THREAD as i32;
pub const SIGEV_THREAD_ID: i32 = linux_raw_sys::general::SIGEV_THREAD_ID as i32;

// timerfd flags.
bitflags::bitflags! {
    /// `TFD_TIMER_*`: how `timerfd_settime` reads its time.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct TimerfdTimerFlags: u32 {
        const ABSTIME = linux_raw_sys::general::TFD_TIMER_ABSTIME;
        const CANCEL_ON_SET = linux_raw_sys::general::TFD_TIMER_CANCEL_ON_SET;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}
bitflags::bitflags! {
    /// `TFD_*`: how `timerfd_create` makes the fd.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct TimerfdFlags: u32 {
        const CLOEXEC = linux_raw_sys::general::TFD_CLOEXEC;
        const NONBLOCK = linux_raw_sys::general::TFD_NONBLOCK;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

/// The kernel's `struct itimerspec`: reload interval, then time to the next expiry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Itimerspec {
    pub it_interval: Timespec,
    pub it_value: Timespec,
}
assert_layout!(Itimerspec, size = 32, it_value = 16);

/// The kernel's `struct itimerval`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Itimerval {
    pub it_interval: Timeval,
    pub it_value: Timeval,
}
assert_layout!(Itimerval, size = 32, it_value = 16);

/// The kernel's `struct sigevent` (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sigevent {
    /// `sigev_value`, delivered as `si_value`.
    pub value: u64,
    pub signo: i32,
    /// `SIGEV_*`.
    pub notify: i32,
    /// The thread for `SIGEV_THREAD_ID` (`sigev_notify_thread_id`).
    pub tid: i32,
    pub __pad: [i32; 11],
}
assert_layout!(Sigevent, size = 64, signo = 8, notify = 12, tid = 16);
zeroed_default!(Sigevent);

/// `clock_gettime(2)`: the time of clock `clock`.
#[inline]
pub fn clock_gettime(clock: ClockId) -> Result<Timespec> {
    let mut ts = Timespec::default();
    // SAFETY: the kernel writes one timespec into `ts`.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::clock_gettime),
            clock.as_raw() as usize,
            &mut ts as *mut Timespec as usize,
        )
    })?;
    Ok(ts)
}

/// `clock_getres(2)`: the resolution of clock `clock`.
#[inline]
pub fn clock_getres(clock: ClockId) -> Result<Timespec> {
    let mut ts = Timespec::default();
    // SAFETY: the kernel writes one timespec into `ts`.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::clock_getres),
            clock.as_raw() as usize,
            &mut ts as *mut Timespec as usize,
        )
    })?;
    Ok(ts)
}

/// `gettimeofday(2)`: wall-clock time in microseconds (no timezone).
#[inline]
pub fn gettimeofday() -> Result<Timeval> {
    let mut tv = Timeval::default();
    // SAFETY: the kernel writes one timeval into `tv`; the timezone pointer is null.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::gettimeofday), &mut tv as *mut Timeval as usize, 0) })?;
    Ok(tv)
}

/// `nanosleep(2)`: sleep `req`; on `EINTR` the time left is in `rem` (if given).
#[inline]
pub fn nanosleep(req: &Timespec, rem: Option<&mut Timespec>) -> Result<()> {
    // SAFETY: the kernel reads `req` and writes `rem`.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::nanosleep), req as *const Timespec as usize, opt_mut(rem)) })
}

/// `clock_nanosleep(2)`: sleep on `clock`, relatively or until `req` with
/// [`TIMER_ABSTIME`].
#[inline]
pub fn clock_nanosleep(clock: ClockId, flags: i32, req: &Timespec, rem: Option<&mut Timespec>) -> Result<()> {
    // SAFETY: the kernel reads `req` and writes `rem`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::clock_nanosleep),
            clock.as_raw() as usize,
            flags as usize,
            req as *const Timespec as usize,
            opt_mut(rem),
        )
    })
}

/// `getitimer(2)`: the current value of interval timer `which` (`ITIMER_*`).
#[inline]
pub fn getitimer(which: i32, out: &mut Itimerval) -> Result<()> {
    // SAFETY: the kernel writes one itimerval into `out`.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::getitimer), which as usize, out as *mut Itimerval as usize) })
}

/// `setitimer(2)`: arm (or with a zero value disarm) interval timer `which`; the old
/// value goes to `old`. Expiry sends SIGALRM/SIGVTALRM/SIGPROF to the process.
#[inline]
pub fn setitimer(which: i32, new: &Itimerval, old: Option<&mut Itimerval>) -> Result<()> {
    // SAFETY: the kernel reads `new` and writes `old`.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::setitimer),
            which as usize,
            new as *const Itimerval as usize,
            opt_mut(old),
        )
    })
}

/// `timer_create(2)`: a POSIX timer on `clock` notifying as `event` says (`None`: SIGALRM
/// to the process); returns the timer id.
#[inline]
pub fn timer_create(clock: ClockId, event: Option<&Sigevent>) -> Result<i32> {
    timer_create_with_id(clock, event, 0)
}

/// `timer_create(2)` asking for timer id `id`: while `PR_TIMER_CREATE_RESTORE_IDS` is on
/// the kernel creates the timer with that id (`EBUSY` if taken); otherwise it ignores
/// `id` and picks one. Returns the id the timer got.
#[inline]
pub fn timer_create_with_id(clock: ClockId, event: Option<&Sigevent>, id: i32) -> Result<i32> {
    let mut id = id;
    // SAFETY: the kernel reads `event` and `id` and writes the id into `id`.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::timer_create),
            clock.as_raw() as usize,
            opt_ptr(event),
            &mut id as *mut i32 as usize,
        )
    })?;
    Ok(id)
}

/// `timer_settime(2)`: arm or disarm timer `id` (`TIMER_ABSTIME` in `flags`); the old
/// setting goes to `old`.
#[inline]
pub fn timer_settime(id: i32, flags: i32, new: &Itimerspec, old: Option<&mut Itimerspec>) -> Result<()> {
    // SAFETY: the kernel reads `new` and writes `old`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::timer_settime),
            id as usize,
            flags as usize,
            new as *const Itimerspec as usize,
            opt_mut(old),
        )
    })
}

/// `timer_gettime(2)`: the interval and time to the next expiry of timer `id`.
#[inline]
pub fn timer_gettime(id: i32) -> Result<Itimerspec> {
    let mut cur = Itimerspec::default();
    // SAFETY: the kernel writes one itimerspec into `cur`.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::timer_gettime),
            id as usize,
            &mut cur as *mut Itimerspec as usize,
        )
    })?;
    Ok(cur)
}

/// `timer_getoverrun(2)`: expirations of timer `id` lost while its signal was pending.
#[inline]
pub fn timer_getoverrun(id: i32) -> Result<i32> {
    // SAFETY: timer_getoverrun touches no user memory.
    ret_c_int(unsafe { raw::syscall1(nr(Sysno::timer_getoverrun), id as usize) })
}

/// `timer_delete(2)`: disarm and free timer `id`.
#[inline]
pub fn timer_delete(id: i32) -> Result<()> {
    // SAFETY: timer_delete touches no user memory.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::timer_delete), id as usize) })
}

/// `timerfd_create(2)`: a timer that reports expirations as 8-byte counts read from an fd.
#[inline]
pub fn timerfd_create(clock: ClockId, flags: TimerfdFlags) -> Result<OwnedFd> {
    // SAFETY: timerfd_create touches no user memory.
    ret_owned_fd(unsafe {
        raw::syscall2(
            nr(Sysno::timerfd_create),
            clock.as_raw() as usize,
            flags.bits() as usize,
        )
    })
}

/// `timerfd_settime(2)`: arm or disarm timerfd `fd` (`TFD_TIMER_*` flags); the old
/// setting goes to `old`.
#[inline]
pub fn timerfd_settime(
    fd: impl AsFd,
    flags: TimerfdTimerFlags,
    new: &Itimerspec,
    old: Option<&mut Itimerspec>,
) -> Result<()> {
    // SAFETY: the kernel reads `new` and writes `old`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::timerfd_settime),
            fd_arg(&fd),
            flags.bits() as usize,
            new as *const Itimerspec as usize,
            opt_mut(old),
        )
    })
}

/// `TFD_IOC_SET_TICKS`: the ioctl setting a timerfd's count of unread expirations.
pub const TFD_IOC_SET_TICKS: u32 = linux_raw_sys::ioctl::TFD_IOC_SET_TICKS;

/// `ioctl(fd, TFD_IOC_SET_TICKS, &ticks)`: make timerfd `fd` report `ticks` unread
/// expirations (a kernel built with `CONFIG_CHECKPOINT_RESTORE`; else `ENOTTY`).
#[inline]
pub fn timerfd_set_ticks(fd: impl AsFd, ticks: u64) -> Result<()> {
    // SAFETY: the kernel reads one u64 from `ticks`.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::ioctl),
            fd_arg(&fd),
            TFD_IOC_SET_TICKS as usize,
            &ticks as *const u64 as usize,
        )
    })
}

/// `timerfd_gettime(2)`: the interval and time to the next expiry of timerfd `fd`.
#[inline]
pub fn timerfd_gettime(fd: impl AsFd) -> Result<Itimerspec> {
    let mut cur = Itimerspec::default();
    // SAFETY: the kernel writes one itimerspec into `cur`.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::timerfd_gettime),
            fd_arg(&fd),
            &mut cur as *mut Itimerspec as usize,
        )
    })?;
    Ok(cur)
}
