//! A thread's nice value and scheduling policy, as CRIU's `restore_sched_info`: both
//! calls' failures are ignored (a policy the restoring user may not set is not fatal).

use criu_abi::raw::rst_sched_param;
use pie_sys::sched::{self as sys, SchedParam, PRIO_PROCESS};

use crate::pr_info;

/// Restore the calling thread's nice value, then its policy and static priority.
pub fn restore(p: &rst_sched_param) {
    pr_info!("Restoring scheduler params ", p.policy, ".", p.nice, ".", p.prio);
    let _ = sys::setpriority(PRIO_PROCESS, 0, p.nice);
    let param = SchedParam { sched_priority: p.prio };
    let _ = sys::sched_setscheduler(0, p.policy, &param);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child;

    #[test]
    fn nice_and_policy_are_set_and_errors_ignored() {
        in_child(|| {
            restore(&rst_sched_param {
                policy: sys::SCHED_BATCH,
                nice: 7,
                prio: 0,
            });
            assert_eq!(sys::getpriority(PRIO_PROCESS, 0).unwrap(), 7);
            assert_eq!(sys::sched_getscheduler(0).unwrap(), sys::SCHED_BATCH);
            // An invalid policy: ignored, the nice value still applies.
            restore(&rst_sched_param {
                policy: 99,
                nice: 3,
                prio: 0,
            });
            assert_eq!(sys::getpriority(PRIO_PROCESS, 0).unwrap(), 3);
            assert_eq!(sys::sched_getscheduler(0).unwrap(), sys::SCHED_BATCH);
        });
    }
}
