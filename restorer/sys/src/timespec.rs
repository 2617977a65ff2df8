//! The kernel's time values (`struct timespec`, `struct timeval`), shared by the clock,
//! sleep, poll, futex, aio and resource-usage calls.

/// Nanoseconds in a second.
pub const NSEC_PER_SEC: i64 = 1_000_000_000;

/// The kernel's `struct timespec` (64-bit).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}
assert_layout!(Timespec, size = 16, tv_nsec = 8);

impl Timespec {
    /// `sec` seconds and `nsec` nanoseconds.
    #[inline]
    pub const fn new(sec: i64, nsec: i64) -> Timespec {
        Timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        }
    }

    /// A duration of `ms` milliseconds.
    #[inline]
    pub const fn from_millis(ms: i64) -> Timespec {
        Timespec {
            tv_sec: ms / 1000,
            tv_nsec: (ms % 1000) * 1_000_000,
        }
    }

    /// The value in nanoseconds (saturating is not needed for realistic clocks).
    #[inline]
    pub const fn as_nanos(&self) -> i128 {
        self.tv_sec as i128 * NSEC_PER_SEC as i128 + self.tv_nsec as i128
    }
}

/// The kernel's `struct timeval`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timeval {
    pub tv_sec: i64,
    pub tv_usec: i64,
}
assert_layout!(Timeval, size = 16);
