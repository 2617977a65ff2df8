//! POSIX timers: CRIU's `create_posix_timers` (before the CR_STATE_RESTORE stage) and
//! `restore_posix_timers` (the task's very last step, after the itimers).
//!
//! A timer must come back with its dumped id. Without the kernel's help (CRIU 4.1.1) the
//! restorer relies on the kernel handing out ids 0, 1, 2, ... in a fresh process and
//! creates and deletes timers until it gets each wanted id. CRIU 4.2 (whose args carry
//! `posix_timer_cr_ids`, cfg `criu_has_posix_timer_cr_ids`) first asks the kernel for
//! `PR_TIMER_CREATE_RESTORE_IDS` and then creates each timer with its id, falling back
//! to the loop where the kernel lacks the prctl (`EINVAL`).

use criu_abi::raw::{restore_posix_timer, str_posix_timer};
use pie_sys::time::{timer_create, timer_delete, timer_settime, ClockId, Sigevent};

use crate::kernel_time;
use crate::log::Hex;
use crate::{error::Failed, error::Result, pr_err};

/// Create the dumped timers (`ta->posix_timers`, `ta->posix_timers_n`) with their ids,
/// unarmed. On failure logs what failed and then, as CRIU's caller does, `Can't restore
/// posix timers <ret>`: the entry point only takes the abort path.
pub fn create(timers: &[restore_posix_timer]) -> Result {
    #[cfg(not(criu_has_posix_timer_cr_ids))]
    let ret = create_in_order(timers);
    #[cfg(criu_has_posix_timer_cr_ids)]
    let ret = create_with_ids(timers);
    match ret {
        Ok(()) => Ok(()),
        Err(ret) => {
            pr_err!("Can't restore posix timers ", ret);
            Err(Failed)
        }
    }
}

/// Arm every timer with its dumped setting (relative), ignoring failures as CRIU does.
pub fn arm(timers: &[restore_posix_timer]) {
    for t in timers {
        let _ = timer_settime(t.spt.it_id as i32, 0, &kernel_time::itimerspec(&t.val), None);
    }
}

/// The timer's notification, as dumped.
fn sigevent(spt: &str_posix_timer) -> Sigevent {
    Sigevent {
        value: spt.sival_ptr as u64,
        signo: spt.si_signo,
        notify: spt.it_sigev_notify,
        tid: spt.notify_thread_id,
        ..Sigevent::zeroed()
    }
}

/// Create one timer by creating and deleting timers until the kernel hands out its id;
/// `next_id` is the id the kernel must give next. Errors carry what CRIU 4.1.1 returns.
fn create_by_sequence(i: usize, spt: &str_posix_timer, next_id: &mut i32) -> core::result::Result<(), i64> {
    let sev = sigevent(spt);
    loop {
        let id = match timer_create(ClockId::from_raw(spt.clock_id), Some(&sev)) {
            Ok(id) => id,
            Err(e) => {
                pr_err!("Can't create posix timer - ", i);
                return Err(e.neg() as i64);
            }
        };
        if id != *next_id {
            pr_err!("Can't create timers, kernel don't give them consequently");
            return Err(-1);
        }
        *next_id += 1;
        if id as i64 == spt.it_id {
            return Ok(());
        }
        if let Err(e) = timer_delete(id) {
            pr_err!("Can't remove temporaty posix timer ", Hex(id as u32 as u64));
            return Err(e.neg() as i64);
        }
    }
}

/// CRIU 4.1.1: every timer by the create-and-delete sequence.
#[cfg_attr(criu_has_posix_timer_cr_ids, allow(dead_code))]
fn create_in_order(timers: &[restore_posix_timer]) -> core::result::Result<(), i64> {
    let mut next_id = 0;
    for (i, t) in timers.iter().enumerate() {
        create_by_sequence(i, &t.spt, &mut next_id)?;
    }
    Ok(())
}

/// CRIU 4.2: with `PR_TIMER_CREATE_RESTORE_IDS` where the kernel has it (switched off
/// again at the end, whatever happened), else the sequence. Errors are -1, as 4.2's.
#[cfg_attr(not(criu_has_posix_timer_cr_ids), allow(dead_code))]
fn create_with_ids(timers: &[restore_posix_timer]) -> core::result::Result<(), i64> {
    use pie_sys::errno::Errno;
    use pie_sys::process::{
        prctl, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, PR_TIMER_CREATE_RESTORE_IDS_ON,
    };
    use pie_sys::time::timer_create_with_id;

    if timers.is_empty() {
        return Ok(());
    }
    // SAFETY: this prctl only switches how timer_create picks ids; it touches no memory.
    let by_id = match unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_ON, 0, 0, 0) } {
        Ok(0) => true,
        Err(Errno::EINVAL) => false,
        Ok(ret) => {
            pr_err!("Can't enabled PR_TIMER_CREATE_RESTORE_IDS: ", ret);
            return Err(-1);
        }
        Err(e) => {
            pr_err!("Can't enabled PR_TIMER_CREATE_RESTORE_IDS: ", e);
            return Err(-1);
        }
    };

    let mut created = Ok(());
    let mut next_id = 0;
    for (i, t) in timers.iter().enumerate() {
        if !by_id {
            if create_by_sequence(i, &t.spt, &mut next_id).is_err() {
                created = Err(-1);
                break;
            }
            continue;
        }
        let clock = ClockId::from_raw(t.spt.clock_id);
        match timer_create_with_id(clock, Some(&sigevent(&t.spt)), t.spt.it_id as i32) {
            Err(e) => {
                pr_err!("Can't create posix timer - ", i, ": ", e);
                created = Err(-1);
                break;
            }
            Ok(id) if id as i64 != t.spt.it_id => {
                pr_err!(
                    "Unexpected timer id ",
                    id as u32,
                    " (expected ",
                    t.spt.it_id as u64,
                    ")"
                );
                created = Err(-1);
                break;
            }
            Ok(_) => {}
        }
    }

    if by_id {
        // SAFETY: as above.
        let off = unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_OFF, 0, 0, 0) };
        match off {
            Ok(0) => {}
            Ok(ret) => {
                pr_err!("Can't disable PR_TIMER_CREATE_RESTORE_IDS: ", ret);
                created = Err(-1);
            }
            Err(e) => {
                pr_err!("Can't disable PR_TIMER_CREATE_RESTORE_IDS: ", e);
                created = Err(-1);
            }
        }
    }
    created
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child_code as in_child;
    use pie_sys::errno::Errno;
    use pie_sys::signal::SIGUSR1;
    use pie_sys::time::{timer_gettime, SIGEV_SIGNAL};

    fn timer(id: i64, clock: i32, value_sec: i64, interval_sec: i64) -> restore_posix_timer {
        let mut t = restore_posix_timer::default();
        t.spt.it_id = id;
        t.spt.clock_id = clock;
        t.spt.si_signo = SIGUSR1;
        t.spt.it_sigev_notify = SIGEV_SIGNAL;
        t.val.it_value.tv_sec = value_sec;
        t.val.it_interval.tv_sec = interval_sec;
        t
    }

    const MONOTONIC: i32 = 1;

    /// The timers exist with the ids asked for, armed as dumped, and the ids in between
    /// do not exist.
    fn check_created_and_armed(ts: &[restore_posix_timer], gaps: &[i32]) -> i32 {
        arm(ts);
        for t in ts {
            match timer_gettime(t.spt.it_id as i32) {
                Ok(cur) => {
                    if !(cur.it_value.tv_sec > 0 && cur.it_value.tv_sec <= t.val.it_value.tv_sec) {
                        return 10;
                    }
                    if cur.it_interval.tv_sec != t.val.it_interval.tv_sec {
                        return 11;
                    }
                }
                Err(_) => return 12,
            }
        }
        for &g in gaps {
            if timer_gettime(g) != Err(Errno::EINVAL) {
                return 13;
            }
        }
        0
    }

    #[test]
    fn create_makes_the_timers_or_fails_the_restore() {
        in_child(|| {
            let ts = [timer(0, MONOTONIC, 100, 0), timer(2, MONOTONIC, 100, 0)];
            if create(&ts) != Ok(()) {
                return 1;
            }
            if check_created_and_armed(&ts, &[1]) != 0 {
                return 2;
            }
            match create(&[timer(3, 12345, 1, 0)]) {
                Err(Failed) => 0,
                Ok(()) => 3,
            }
        });
    }

    #[test]
    fn in_order_gets_each_id_by_creating_and_deleting() {
        in_child(|| {
            let ts = [timer(0, MONOTONIC, 100, 0), timer(3, MONOTONIC, 200, 5)];
            if create_in_order(&ts).is_err() {
                return 1;
            }
            check_created_and_armed(&ts, &[1, 2])
        });
    }

    #[test]
    fn in_order_fails_when_the_kernel_skips_an_id() {
        in_child(|| {
            // A timer the restorer did not make takes id 0: the sequence is off.
            timer_create(ClockId::MONOTONIC, None).unwrap();
            match create_in_order(&[timer(1, MONOTONIC, 1, 0)]) {
                Err(-1) => 0,
                _ => 1,
            }
        });
    }

    #[test]
    fn in_order_fails_on_a_bad_clock() {
        in_child(|| match create_in_order(&[timer(0, 12345, 1, 0)]) {
            Err(ret) if ret == Errno::EINVAL.neg() as i64 => 0,
            _ => 1,
        });
    }

    #[test]
    fn with_ids_creates_each_id_directly_and_switches_the_prctl_off() {
        in_child(|| {
            use pie_sys::process::{prctl, PR_TIMER_CREATE_RESTORE_IDS};
            // SAFETY: the GET form of the prctl only reads the mode.
            if unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, 2, 0, 0, 0) } == Err(Errno::EINVAL) {
                return 0; // kernel without the interface: nothing of it to test
            }
            // Out of order: the create-and-delete sequence could not make these.
            let ts = [timer(5, MONOTONIC, 100, 0), timer(2, MONOTONIC, 50, 1)];
            if create_with_ids(&ts).is_err() {
                return 1;
            }
            // SAFETY: as above.
            if unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, 2, 0, 0, 0) } != Ok(0) {
                return 2;
            }
            check_created_and_armed(&ts, &[0, 1, 3, 4])
        });
    }

    #[test]
    fn with_ids_fails_on_a_taken_id_and_still_switches_off() {
        in_child(|| {
            use pie_sys::process::{prctl, PR_TIMER_CREATE_RESTORE_IDS};
            // SAFETY: the GET form of the prctl only reads the mode.
            if unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, 2, 0, 0, 0) } == Err(Errno::EINVAL) {
                return 0; // kernel without the interface: nothing of it to test
            }
            let first = timer_create(ClockId::MONOTONIC, None).unwrap();
            let ts = [timer(first as i64, MONOTONIC, 1, 0)];
            if create_with_ids(&ts) != Err(-1) {
                return 1;
            }
            // SAFETY: as above.
            match unsafe { prctl(PR_TIMER_CREATE_RESTORE_IDS, 2, 0, 0, 0) } {
                Ok(0) => 0,
                _ => 2,
            }
        });
    }
}
