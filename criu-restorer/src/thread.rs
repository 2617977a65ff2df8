//! `__export_restore_thread`: a thread the leader cloned restores its own state, goes
//! through the stages with the leader, and sigreturns into the task's code.

use core::convert::Infallible;

use criu_abi::raw::thread_restore_args;
use pie_sys::process;
use pie_sys::signal::{self, SigprocmaskHow};
use pie_sys::sigtypes::SigSet;

use crate::error::Result;
use crate::stage::{self, Stage};
use crate::{args, bail, cg_set, creds, dumpable, entry, pdeath, pr_info, seccomp, signals, state, thread_common};
use pie_sys::fd::BorrowedFd;

/// Restore the calling thread from `t`; returns only on failure.
///
/// Inlined into the entry point: once its shadow stack is switched, it may not return.
#[inline(always)]
pub fn restore(t: &thread_restore_args) -> Result<Infallible> {
    let tid = process::gettid();
    if tid != t.pid {
        bail!("Thread pid mismatch ", tid, "/", t.pid);
    }
    #[cfg(criu_has_shstk)]
    crate::shstk::restore(&t.shstk)?;
    // All signals go to the leader until the task is back.
    if let Err(e) = signal::rt_sigprocmask(SigprocmaskHow::SETMASK, Some(&SigSet::FULL), None) {
        bail!("Unable to block signals ", e);
    }
    match state::cgroupd_lock() {
        Some(lock) => cg_set::restore(t, lock)?,
        None => bail!("No task_entries in the args"),
    }
    thread_common::restore(t)?;
    if let Err(e) = crate::mm::set_name(&t.comm) {
        bail!("Unable to set a thread name: ", e);
    }
    pr_info!(process::gettid(), ": Restored");
    stage::finish(Stage::Restore);
    // SAFETY: the thread's own siginfo array in rst_mem, mapped until the leader unmaps
    // it after every thread is counted out.
    signals::restore(unsafe { args::slice(t.siginfo, t.siginfo_n) }, false)?;
    stage::finish(Stage::RestoreSigchld);
    // SAFETY: the task args the leader was given, and this thread's creds args, in the
    // restorer's memory until the leader unmaps it after every thread is counted out.
    let (ta, creds) = unsafe { (&*t.ta, &*t.creds_args) };
    // SAFETY: CRIU's /proc fd, open until the leader closes it after the last stage.
    let proc_fd = unsafe { BorrowedFd::borrow_raw(ta.proc_fd) };
    seccomp::restore(t)?;
    creds::restore(creds, proc_fd, ta.lsm_type, ta.uid)?;
    dumpable::restore(&ta.mm)?;
    pdeath::restore(t.pdeath_sig)?;
    stage::finish(Stage::RestoreCreds);
    // Once counted out, the leader may unmap the thread args: read the frame first.
    let (sp, frame) = entry::sigframe_of(t);
    state::threads_in_progress().dec_and_wake();
    entry::rst_sigreturn(sp, frame)
}
