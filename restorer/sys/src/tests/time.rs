//! time: clocks, sleeps, interval timers, POSIX timers, timerfds.

use std::time::{SystemTime, UNIX_EPOCH};

use super::*;
use crate::fs::read;
use crate::time::*;

fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn clocks_read_and_advance() {
    let a = clock_gettime(ClockId::MONOTONIC).unwrap();
    let b = clock_gettime(ClockId::MONOTONIC).unwrap();
    assert!(b >= a);
    assert!((0..NSEC_PER_SEC).contains(&a.tv_nsec));
    let rt = clock_gettime(ClockId::REALTIME).unwrap();
    assert!((rt.tv_sec - now_unix()).abs() <= 2);
    for c in [
        ClockId::BOOTTIME,
        ClockId::MONOTONIC_RAW,
        ClockId::MONOTONIC_COARSE,
        ClockId::REALTIME_COARSE,
        ClockId::TAI,
        ClockId::PROCESS_CPUTIME_ID,
        ClockId::THREAD_CPUTIME_ID,
    ] {
        clock_gettime(c).unwrap_or_else(|e| panic!("clock {c}: {e:?}"));
    }
    let res = clock_getres(ClockId::MONOTONIC).unwrap();
    assert!(res.tv_sec == 0 && res.tv_nsec > 0);
    assert_eq!(clock_gettime(ClockId::from_raw(99)), Err(Errno::EINVAL));
    assert_eq!(clock_getres(ClockId::from_raw(99)), Err(Errno::EINVAL));
    let tv = gettimeofday().unwrap();
    assert!((tv.tv_sec - now_unix()).abs() <= 2);
    assert!((0..1_000_000).contains(&tv.tv_usec));
}

#[test]
fn nanosleep_sleeps_and_validates() {
    let t0 = clock_gettime(ClockId::MONOTONIC).unwrap();
    nanosleep(&Timespec::from_millis(2), None).unwrap();
    let t1 = clock_gettime(ClockId::MONOTONIC).unwrap();
    assert!(t1.as_nanos() - t0.as_nanos() >= 2_000_000);
    let mut rem = Timespec::new(9, 9);
    nanosleep(&Timespec::new(0, 1000), Some(&mut rem)).unwrap();
    assert_eq!(nanosleep(&Timespec::new(0, NSEC_PER_SEC), None), Err(Errno::EINVAL));
    assert_eq!(nanosleep(&Timespec::new(-1, 0), None), Err(Errno::EINVAL));
    // An absolute deadline in the past returns at once.
    clock_nanosleep(ClockId::MONOTONIC, TIMER_ABSTIME, &t0, None).unwrap();
    clock_nanosleep(ClockId::MONOTONIC, 0, &Timespec::new(0, 1000), None).unwrap();
    assert_eq!(clock_nanosleep(ClockId::from_raw(99), 0, &t0, None), Err(Errno::EINVAL));
    // Sleeping on the thread's own CPU clock is refused (EOPNOTSUPP since 6.x, EINVAL before).
    let r = clock_nanosleep(ClockId::THREAD_CPUTIME_ID, 0, &t0, None);
    assert!(r == Err(Errno::EOPNOTSUPP) || r == Err(Errno::EINVAL), "{r:?}");
}

#[test]
fn interval_timers() {
    in_child(|| {
        let mut cur = Itimerval::default();
        ensure!(getitimer(ITIMER_REAL, &mut cur).is_ok());
        ensure!(cur == Itimerval::default());
        let arm = Itimerval {
            it_interval: Timeval::default(),
            it_value: Timeval {
                tv_sec: 100,
                tv_usec: 0,
            },
        };
        let mut old = Itimerval {
            it_interval: Timeval { tv_sec: 1, tv_usec: 1 },
            it_value: Timeval::default(),
        };
        ensure!(setitimer(ITIMER_REAL, &arm, Some(&mut old)).is_ok());
        ensure!(old == Itimerval::default());
        ensure!(getitimer(ITIMER_REAL, &mut cur).is_ok());
        ensure!(cur.it_value.tv_sec >= 99 && cur.it_value.tv_sec <= 100);
        ensure!(setitimer(ITIMER_REAL, &Itimerval::default(), Some(&mut old)).is_ok());
        ensure!(old.it_value.tv_sec >= 99);
        ensure!(getitimer(ITIMER_REAL, &mut cur).is_ok());
        ensure!(cur == Itimerval::default());
        let prof = Itimerval {
            it_interval: Timeval { tv_sec: 50, tv_usec: 0 },
            it_value: Timeval { tv_sec: 50, tv_usec: 0 },
        };
        ensure!(setitimer(ITIMER_PROF, &prof, None).is_ok());
        ensure!(getitimer(ITIMER_PROF, &mut cur).is_ok());
        ensure!(cur.it_interval.tv_sec == 50);
        ensure!(setitimer(ITIMER_PROF, &Itimerval::default(), None).is_ok());
        ensure!(getitimer(9, &mut cur) == Err(Errno::EINVAL));
        let bad = Itimerval {
            it_interval: Timeval::default(),
            it_value: Timeval {
                tv_sec: 0,
                tv_usec: 2_000_000,
            },
        };
        ensure!(setitimer(ITIMER_REAL, &bad, None) == Err(Errno::EINVAL));
        0
    });
}

#[test]
fn posix_timers_create_set_get_delete() {
    let ev = Sigevent {
        notify: SIGEV_NONE,
        ..Sigevent::zeroed()
    };
    let id = timer_create(ClockId::MONOTONIC, Some(&ev)).unwrap();
    assert_eq!(timer_gettime(id), Ok(Itimerspec::default()), "created disarmed");
    let arm = Itimerspec {
        it_interval: Timespec::new(1, 0),
        it_value: Timespec::new(10, 0),
    };
    let mut old = Itimerspec {
        it_interval: Timespec::new(5, 5),
        it_value: Timespec::new(5, 5),
    };
    timer_settime(id, 0, &arm, Some(&mut old)).unwrap();
    assert_eq!(old, Itimerspec::default());
    let cur = timer_gettime(id).unwrap();
    assert_eq!(cur.it_interval, Timespec::new(1, 0));
    assert!(
        cur.it_value.tv_sec == 9 || cur.it_value == Timespec::new(10, 0),
        "{cur:?}"
    );
    assert_eq!(timer_getoverrun(id), Ok(0));
    // A one-shot that expires: its value goes back to zero.
    let once = Itimerspec {
        it_interval: Timespec::default(),
        it_value: Timespec::new(0, 1_000_000),
    };
    timer_settime(id, 0, &once, None).unwrap();
    nanosleep(&Timespec::from_millis(5), None).unwrap();
    assert_eq!(timer_gettime(id).unwrap().it_value, Timespec::default());
    let bad = Itimerspec {
        it_interval: Timespec::default(),
        it_value: Timespec::new(0, NSEC_PER_SEC),
    };
    assert_eq!(timer_settime(id, 0, &bad, None), Err(Errno::EINVAL));
    timer_delete(id).unwrap();
    assert_eq!(timer_gettime(id), Err(Errno::EINVAL));
    assert_eq!(timer_delete(id), Err(Errno::EINVAL));
    assert_eq!(timer_getoverrun(id), Err(Errno::EINVAL));
    assert_eq!(timer_create(ClockId::from_raw(99), Some(&ev)), Err(Errno::EINVAL));
    let bad_ev = Sigevent {
        notify: 77,
        ..Sigevent::zeroed()
    };
    assert_eq!(timer_create(ClockId::MONOTONIC, Some(&bad_ev)), Err(Errno::EINVAL));
}

#[test]
fn timerfd_expires_and_reports_counts() {
    let fd = timerfd_create(ClockId::MONOTONIC, TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK).unwrap();
    let mut count = [0u8; 8];
    assert_eq!(read(&fd, &mut count), Err(Errno::EAGAIN), "disarmed");
    let arm = Itimerspec {
        it_interval: Timespec::default(),
        it_value: Timespec::new(0, 1_000_000),
    };
    let mut old = Itimerspec {
        it_value: Timespec::new(1, 1),
        ..Itimerspec::default()
    };
    timerfd_settime(&fd, TimerfdTimerFlags::empty(), &arm, Some(&mut old)).unwrap();
    assert_eq!(old, Itimerspec::default());
    nanosleep(&Timespec::from_millis(10), None).unwrap();
    assert_eq!(read(&fd, &mut count), Ok(8));
    assert_eq!(u64::from_ne_bytes(count), 1);
    let long = Itimerspec {
        it_interval: Timespec::new(3, 0),
        it_value: Timespec::new(30, 0),
    };
    timerfd_settime(&fd, TimerfdTimerFlags::empty(), &long, None).unwrap();
    let cur = timerfd_gettime(&fd).unwrap();
    assert_eq!(cur.it_interval, Timespec::new(3, 0));
    assert!(cur.it_value.tv_sec >= 29);
    // Absolute, in the past: expires at once.
    let past = Itimerspec {
        it_interval: Timespec::default(),
        it_value: Timespec::new(1, 0),
    };
    timerfd_settime(&fd, TimerfdTimerFlags::ABSTIME, &past, None).unwrap();
    assert_eq!(read(&fd, &mut count), Ok(8));
    assert_eq!(
        timerfd_settime(&fd, TimerfdTimerFlags::from_bits_retain(0x100), &arm, None),
        Err(Errno::EINVAL)
    );
    assert_eq!(timerfd_gettime(bad_fd(-1)), Err(Errno::EBADF));
    assert_eq!(
        timerfd_create(ClockId::from_raw(99), TimerfdFlags::empty()),
        Err(Errno::EINVAL)
    );
    close_fd(fd).unwrap();
}

#[test]
fn timerfd_ticks_are_set_by_ioctl() {
    let fd = timerfd_create(ClockId::MONOTONIC, TimerfdFlags::NONBLOCK).unwrap();
    timerfd_set_ticks(&fd, 9).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(read(&fd, &mut buf), Ok(8));
    assert_eq!(u64::from_ne_bytes(buf), 9);
    // Zero ticks is refused, as the kernel's ioctl says.
    assert_eq!(timerfd_set_ticks(&fd, 0), Err(Errno::EINVAL));
}

#[test]
fn timer_create_with_id_takes_the_id_only_in_restore_mode() {
    use crate::process::{
        prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, PR_TIMER_CREATE_RESTORE_IDS_ON,
    };
    in_child(|| {
        // Out of restore mode the id asked for is ignored: the kernel picks 0 first.
        let id = timer_create_with_id(ClockId::MONOTONIC, None, 40).unwrap();
        assert_eq!(id, 0);
        // SAFETY: the prctl only switches how timer_create picks ids.
        match unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0) } {
            Err(Errno::EINVAL) => return 0, // a kernel before 6.17
            r => assert_eq!(r, Ok(0)),
        }
        assert_eq!(timer_create_with_id(ClockId::MONOTONIC, None, 40), Ok(40));
        assert_eq!(timer_create_with_id(ClockId::MONOTONIC, None, 40), Err(Errno::EBUSY));
        // SAFETY: as above.
        unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0) }.unwrap();
        // Out of it again the kernel picks (after the ids it gave last, here 41).
        let next = timer_create_with_id(ClockId::MONOTONIC, None, 40).unwrap();
        assert!(next != 40 && next != 0, "{next}");
        0
    });
}
