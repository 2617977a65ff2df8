//! CRIU's time structs (bindgen'd from its headers) as the syscall layer's types: the
//! same kernel layouts, converted field by field so no cast depends on it.

use criu_abi::raw::{itimerspec, itimerval, timespec, timeval};
use pie_sys::time::{Itimerspec, Itimerval, Timespec, Timeval};

/// `struct timespec` of CRIU's args.
pub fn timespec(t: &timespec) -> Timespec {
    Timespec::new(t.tv_sec, t.tv_nsec)
}

/// `struct itimerspec` of CRIU's args (POSIX timers, timerfds).
pub fn itimerspec(v: &itimerspec) -> Itimerspec {
    Itimerspec {
        it_interval: timespec(&v.it_interval),
        it_value: timespec(&v.it_value),
    }
}

fn timeval(t: &timeval) -> Timeval {
    Timeval {
        tv_sec: t.tv_sec,
        tv_usec: t.tv_usec,
    }
}

/// `struct itimerval` of CRIU's args (`ta->itimers`).
pub fn itimerval(v: &itimerval) -> Itimerval {
    Itimerval {
        it_interval: timeval(&v.it_interval),
        it_value: timeval(&v.it_value),
    }
}
