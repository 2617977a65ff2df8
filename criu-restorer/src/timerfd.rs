//! timerfds: CRIU's `timerfd_arm`, after the POSIX timers are created and before the
//! CR_STATE_RESTORE stage.

use criu_abi::raw::restore_timerfd;
use pie_sys::errno::Errno;
use pie_sys::fd::BorrowedFd;
use pie_sys::time::{clock_gettime, timerfd_set_ticks, timerfd_settime, ClockId, TimerfdTimerFlags};

use crate::kernel_time;
use crate::log::Hex;
use crate::{error::Failed, error::Result, pr_debug, pr_err};

/// Arm every restored timerfd (`ta->timerfd`, `ta->timerfd_n`) with its dumped setting
/// and put back its unread ticks. An absolute setting is moved on by the clock's
/// current seconds (CRIU dumps it relative; `t.val` is updated in place, as CRIU's).
/// On failure logs what failed and then, as CRIU's caller does, `Can't restore timerfd
/// <ret>`.
pub fn arm(timerfds: &mut [restore_timerfd]) -> Result {
    match arm_all(timerfds) {
        Ok(()) => Ok(()),
        Err(ret) => {
            pr_err!("Can't restore timerfd ", ret);
            Err(Failed)
        }
    }
}

/// A call's result as the C restorer holds it: 0 or `-errno`.
fn c_ret(r: core::result::Result<(), Errno>) -> i64 {
    r.map_or_else(|e| e.neg() as i64, |()| 0)
}

fn arm_all(timerfds: &mut [restore_timerfd]) -> core::result::Result<(), i64> {
    for (i, t) in timerfds.iter_mut().enumerate() {
        pr_debug!("timerfd: arm for fd ", t.fd, " (", i, ")");
        let flags = TimerfdTimerFlags::from_bits_retain(t.settime_flags as u32);
        if flags.contains(TimerfdTimerFlags::ABSTIME) {
            // Only the seconds move: adding nanoseconds could pass NSEC_PER_SEC.
            let Ok(now) = clock_gettime(ClockId::from_raw(t.clockid)) else {
                pr_err!("Can't get current time");
                return Err(-1);
            };
            t.val.it_value.tv_sec += now.tv_sec;
            pr_debug!(
                "Adjust id ",
                Hex(t.id as u32 as u64),
                " it_value(",
                now.tv_sec as u64,
                ", ",
                now.tv_nsec as u64,
                ") -> it_value(",
                t.val.it_value.tv_sec as u64,
                ", ",
                t.val.it_value.tv_nsec as u64,
                ")"
            );
        }
        // SAFETY: CRIU restored this fd into the task before jumping here and closes
        // nothing while the restorer runs.
        let fd = unsafe { BorrowedFd::borrow_raw(t.fd) };
        let mut ret = c_ret(timerfd_settime(fd, flags, &kernel_time::itimerspec(&t.val), None));
        if t.ticks != 0 {
            ret |= c_ret(timerfd_set_ticks(fd, t.ticks));
        }
        if ret != 0 {
            pr_err!("Can't restore ticks/time for timerfd - ", i);
            return Err(ret);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pie_sys::fs::read;
    use pie_sys::time::{timerfd_create, timerfd_gettime, TimerfdFlags};

    const MONOTONIC: i32 = 1;

    fn tfd(fd: i32, flags: u32, value_sec: i64, interval_sec: i64, ticks: u64) -> restore_timerfd {
        let mut t = restore_timerfd {
            id: 7,
            fd,
            clockid: MONOTONIC,
            settime_flags: flags as i32,
            ticks,
            ..Default::default()
        };
        t.val.it_value.tv_sec = value_sec;
        t.val.it_interval.tv_sec = interval_sec;
        t
    }

    #[test]
    fn arms_relative_and_absolute_and_sets_ticks() {
        let rel = timerfd_create(ClockId::MONOTONIC, TimerfdFlags::NONBLOCK).unwrap();
        let abs = timerfd_create(ClockId::MONOTONIC, TimerfdFlags::NONBLOCK).unwrap();
        let mut ts = [
            tfd(rel.as_raw_fd(), 0, 100, 3, 5),
            tfd(abs.as_raw_fd(), TimerfdTimerFlags::ABSTIME.bits(), 200, 0, 0),
        ];
        let now = clock_gettime(ClockId::MONOTONIC).unwrap();
        arm(&mut ts).unwrap();

        let r = timerfd_gettime(&rel).unwrap();
        assert!(r.it_value.tv_sec > 90 && r.it_value.tv_sec <= 100, "{r:?}");
        assert_eq!(r.it_interval.tv_sec, 3);
        // The absolute one was moved by the clock's seconds: ~200 s from now, not past.
        let a = timerfd_gettime(&abs).unwrap();
        assert!(a.it_value.tv_sec > 190 && a.it_value.tv_sec <= 200, "{a:?}");
        assert!(ts[1].val.it_value.tv_sec >= now.tv_sec + 200);
        // The ticks are readable as the expiration count.
        let mut buf = [0u8; 8];
        assert_eq!(read(&rel, &mut buf).unwrap(), 8);
        assert_eq!(u64::from_ne_bytes(buf), 5);
        assert!(read(&abs, &mut buf).is_err());
    }

    #[test]
    fn fails_on_a_bad_fd_with_the_c_return() {
        let ok = timerfd_create(ClockId::MONOTONIC, TimerfdFlags::NONBLOCK).unwrap();
        // An fd that is not a timerfd (and never opened): settime fails with EBADF.
        let mut ts = [tfd(ok.as_raw_fd(), 0, 10, 0, 0), tfd(4000, 0, 10, 0, 0)];
        assert_eq!(arm_all(&mut ts), Err(Errno::EBADF.neg() as i64));
        assert!(timerfd_gettime(&ok).unwrap().it_value.tv_sec > 0);
    }
}
