//! Signals after the CR_STATE_RESTORE stage, with all of them blocked: the task's
//! SIGCHLD action (the restorer's own handler was in place until now), then CRIU's
//! `restore_signals`: the shared queue (`ta->siginfo`, `group`) and then each thread's
//! own (`thread_restore_args::siginfo`; the leader's in `__export_restore_task`, the
//! others' in `__export_restore_thread`).

use criu_abi::raw::{rt_sigaction_t, siginfo_t};
use pie_sys::process::{getpid, gettid};
use pie_sys::signal::{rt_sigaction, rt_sigqueueinfo, rt_tgsigqueueinfo, KernelSigaction, SIGCHLD};
use pie_sys::sigtypes::{SigInfo, SigSet};

use crate::log::Hex;
use crate::{bail, error::Result, pr_info};

/// Put back the task's dumped SIGCHLD action (`ta->sigchld_act`), for a native task
/// (CRIU's `compatible_mode` route through a 32-bit stack is not here). A refusal fails
/// the restore.
pub fn restore_sigchld_action(act: &rt_sigaction_t) -> Result {
    let ka = KernelSigaction {
        handler: act.rt_sa_handler.map_or(0, |f| f as usize),
        flags: act.rt_sa_flags,
        restorer: act.rt_sa_restorer.map_or(0, |f| f as usize),
        mask: SigSet(act.rt_sa_mask.sig[0]),
    };
    // SAFETY: the handler and restorer are the task's own code, dumped with the action
    // and mapped back; signals are blocked, so nothing is delivered inside the restorer.
    if let Err(e) = unsafe { rt_sigaction(SIGCHLD, Some(&ka), None) } {
        bail!("Failed to restore SIGCHLD: ", e);
    }
    Ok(())
}

const _: () = assert!(core::mem::size_of::<siginfo_t>() == core::mem::size_of::<SigInfo>());

/// Queue each dumped siginfo again, in order: to the thread group when `group`, else to
/// the calling thread. The first that the kernel refuses fails the restore.
pub fn restore(infos: &[siginfo_t], group: bool) -> Result {
    for info in infos {
        pr_info!("Restore signal ", info.si_signo, " group ", group as i32);
        let si = as_siginfo(info);
        let queued = if group {
            rt_sigqueueinfo(getpid(), info.si_signo, &si)
        } else {
            rt_tgsigqueueinfo(getpid(), gettid(), info.si_signo, &si)
        };
        if let Err(e) = queued {
            bail!(
                "Unable to send siginfo ",
                info.si_signo,
                " ",
                Hex(info.si_code as u32 as u64),
                " with code ",
                e
            );
        }
    }
    Ok(())
}

/// The dumped bytes as the syscall layer's siginfo (both are the kernel's 128 bytes).
fn as_siginfo(info: &siginfo_t) -> SigInfo {
    // SAFETY: same size (asserted above); every bit pattern is a valid SigInfo (integers
    // only), and read_unaligned needs no alignment.
    unsafe { core::ptr::read_unaligned(info as *const siginfo_t as *const SigInfo) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child_code as in_child;
    use criu_abi::raw::rt_sighandler_t;
    use pie_sys::signal::{rt_sigpending, rt_sigprocmask, rt_sigtimedwait, SigprocmaskHow, SIGUSR1};
    use pie_sys::sigtypes::{SigSet, SI_QUEUE};
    use pie_sys::time::Timespec;

    fn info(signo: i32, value: u64) -> siginfo_t {
        let si = SigInfo::queue(signo, 4242, 0, value);
        // SAFETY: same size, both plain kernel siginfo bytes.
        unsafe { core::mem::transmute::<SigInfo, siginfo_t>(si) }
    }

    /// `ShdPnd` (group) and `SigPnd` (thread) masks from /proc/thread-self/status.
    fn pending_masks() -> (u64, u64) {
        let s = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let get = |k: &str| {
            let l = s.lines().find(|l| l.starts_with(k)).unwrap();
            u64::from_str_radix(l[k.len()..].trim(), 16).unwrap()
        };
        (get("ShdPnd:"), get("SigPnd:"))
    }

    #[test]
    fn group_and_thread_queues_get_their_siginfos() {
        in_child(|| {
            let rt = pie_sys::signal::SIGRTMIN + 2;
            let set = SigSet::FULL;
            rt_sigprocmask(SigprocmaskHow::SETMASK, Some(&set), None).unwrap();
            restore(&[info(SIGUSR1, 11), info(rt, 22)], true).unwrap();
            restore(&[info(rt, 33)], false).unwrap();

            let (shared, thread) = pending_masks();
            let bit = |s: i32| 1u64 << (s - 1);
            if shared != bit(SIGUSR1) | bit(rt) || thread != bit(rt) {
                return 1;
            }
            let mut p = SigSet::EMPTY;
            rt_sigpending(&mut p).unwrap();
            if !(p.contains(SIGUSR1) && p.contains(rt)) {
                return 2;
            }
            // The siginfos come back as dumped: thread queue first, then the group's.
            let zero = Timespec::new(0, 0);
            let mut got = SigInfo::zeroed();
            let mut values = Vec::new();
            while let Ok(s) = rt_sigtimedwait(&set, Some(&mut got), Some(&zero)) {
                if got.code != SI_QUEUE || got.pid() != 4242 {
                    return 3;
                }
                values.push((s, got.value()));
            }
            if values != [(rt, 33), (SIGUSR1, 11), (rt, 22)] {
                return 4;
            }
            0
        });
    }

    #[test]
    fn sigchld_action_is_put_back() {
        use pie_sys::signal::{SA_RESTORER, SIG_IGN};
        in_child(|| {
            let act = rt_sigaction_t {
                // SAFETY: SIG_IGN (1) as the bindgen'd handler type, which the kernel
                // reads as a number; it is never called.
                rt_sa_handler: unsafe { core::mem::transmute::<usize, rt_sighandler_t>(SIG_IGN) },
                rt_sa_flags: SA_RESTORER,
                rt_sa_mask: criu_abi::raw::k_rtsigset_t { sig: [1 << 9] },
                ..Default::default()
            };
            if restore_sigchld_action(&act).is_err() {
                return 1;
            }
            let mut old = KernelSigaction::default();
            // SAFETY: only reads the action back.
            unsafe { rt_sigaction(SIGCHLD, None, Some(&mut old)) }.unwrap();
            if old.handler != SIG_IGN || old.flags & SA_RESTORER == 0 || old.mask != SigSet(1 << 9) {
                return 2;
            }
            0
        });
    }

    #[test]
    fn a_refused_signal_fails_and_stops() {
        in_child(|| {
            rt_sigprocmask(SigprocmaskHow::SETMASK, Some(&SigSet::FULL), None).unwrap();
            // Signal 100 does not exist: EINVAL; the one after it must not be queued.
            if restore(&[info(100, 1), info(SIGUSR1, 2)], true).is_ok() {
                return 1;
            }
            let mut p = SigSet::EMPTY;
            rt_sigpending(&mut p).unwrap();
            if p != SigSet::EMPTY {
                return 2;
            }
            0
        });
    }
}
