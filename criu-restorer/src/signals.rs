//! Pending signals: CRIU's `restore_signals`, after the SIGCHLD action is back, with all
//! signals blocked: the shared queue (`ta->siginfo`, `group`) and then each thread's own
//! (`thread_restore_args::siginfo`; the leader's in `__export_restore_task`, the others'
//! in `__export_restore_thread`).

use criu_abi::raw::siginfo_t;
use restorer::sys::process::{getpid, gettid};
use restorer::sys::signal::{rt_sigqueueinfo, rt_tgsigqueueinfo};
use restorer::sys::sigtypes::SigInfo;

use crate::log::Hex;
use crate::{bail, error::Result, pr_info};

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
    use restorer::sys::signal::{rt_sigpending, rt_sigprocmask, rt_sigtimedwait, SigprocmaskHow, SIGUSR1};
    use restorer::sys::sigtypes::{SigSet, SI_QUEUE};
    use restorer::sys::time::Timespec;

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
            let rt = restorer::sys::signal::SIGRTMIN + 2;
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
