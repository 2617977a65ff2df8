//! Interval timers: the end of CRIU's `__export_restore_task`, after the log is closed,
//! arms each of ITIMER_REAL, ITIMER_VIRTUAL and ITIMER_PROF that was armed at dump.

use criu_abi::raw::itimerval;
use pie_sys::time::{setitimer, ITIMER_PROF, ITIMER_REAL, ITIMER_VIRTUAL};

use crate::kernel_time;

/// Arm `itimers[0..3]` (`ta->itimers`: real, virtual, prof), each only when its value is
/// non-zero; CRIU's restore prepared the values so that setitimer cannot fail, and
/// ignores its result.
pub fn arm(itimers: &[itimerval; 3]) {
    for (which, v) in [ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF].into_iter().zip(itimers) {
        if v.it_value.tv_sec != 0 || v.it_value.tv_usec != 0 {
            let _ = setitimer(which, &kernel_time::itimerval(v), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child_code as in_child;
    use pie_sys::time::{getitimer, Itimerval};

    fn val(value_sec: i64, interval_sec: i64) -> itimerval {
        let mut v = itimerval::default();
        v.it_value.tv_sec = value_sec;
        v.it_interval.tv_sec = interval_sec;
        v
    }

    #[test]
    fn arms_the_armed_ones_and_leaves_the_rest() {
        in_child(|| {
            // A VIRTUAL timer armed before: a zero value in the args must not disarm it.
            let pre = Itimerval {
                it_value: pie_sys::time::Timeval {
                    tv_sec: 500,
                    tv_usec: 0,
                },
                ..Itimerval::default()
            };
            setitimer(ITIMER_VIRTUAL, &pre, None).unwrap();
            arm(&[val(100, 7), val(0, 9), val(300, 0)]);
            let mut real = Itimerval::default();
            let mut virt = Itimerval::default();
            let mut prof = Itimerval::default();
            getitimer(ITIMER_REAL, &mut real).unwrap();
            getitimer(ITIMER_VIRTUAL, &mut virt).unwrap();
            getitimer(ITIMER_PROF, &mut prof).unwrap();
            if !(90..=100).contains(&real.it_value.tv_sec) || real.it_interval.tv_sec != 7 {
                return 1;
            }
            if !(490..=500).contains(&virt.it_value.tv_sec) || virt.it_interval.tv_sec != 0 {
                return 2;
            }
            if !(290..=300).contains(&prof.it_value.tv_sec) {
                return 3;
            }
            0
        });
    }
}
