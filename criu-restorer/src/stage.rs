//! The restore stages, as CRIU's main process drives them: each task (and each thread)
//! says it is done with a stage by decrementing `nr_in_progress`, then sleeps until CRIU
//! moves `start` past that stage (`restore_finish_stage` of criu/include/restorer.h).
//! The abort path sets `nr_in_progress` to the abort value, which wakes every waiter
//! and tells CRIU the restore failed.

use criu_abi::raw::{CR_STATE_RESTORE, CR_STATE_RESTORE_CREDS, CR_STATE_RESTORE_SIGCHLD};

use crate::state;

/// The stages the restorer finishes, in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(i32)]
pub enum Stage {
    Restore = CR_STATE_RESTORE,
    RestoreSigchld = CR_STATE_RESTORE_SIGCHLD,
    RestoreCreds = CR_STATE_RESTORE_CREDS,
}

/// Done with `stage`: tell CRIU and wait until it starts the next one. Returns the
/// stage CRIU moved to (CR_STATE_FAIL's value if it aborted).
pub fn finish(stage: Stage) -> i32 {
    let (Some(nr), Some(start)) = (state::nr_in_progress(), state::start()) else {
        return -1;
    };
    nr.dec_and_wake();
    start.wait_while(stage as i32 as u32);
    start.get() as i32
}

/// CRIU's abort: every task and CRIU itself stop waiting, and CRIU sees the failure.
pub fn abort() {
    crate::lock::abort_restore();
}
