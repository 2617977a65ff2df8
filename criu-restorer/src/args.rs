//! CRIU's args name arrays as a pointer and a count: the slices they describe.

/// The `n` entries at `p`, empty for a null pointer or a zero (or negative) count.
///
/// # Safety
/// Where `p` is not null, it points to `n` initialised entries CRIU laid out in the
/// restorer's memory, which stay mapped and are not written for `'a`.
pub unsafe fn slice<'a, T>(p: *const T, n: impl TryInto<usize>) -> &'a [T] {
    match n.try_into() {
        Ok(n) if n > 0 && !p.is_null() => {
            // SAFETY: the caller's contract.
            unsafe { core::slice::from_raw_parts(p, n) }
        }
        _ => &[],
    }
}

/// [`slice`], mutable.
///
/// # Safety
/// As for [`slice`], and no other reference to the entries exists for `'a`.
pub unsafe fn slice_mut<'a, T>(p: *mut T, n: impl TryInto<usize>) -> &'a mut [T] {
    match n.try_into() {
        Ok(n) if n > 0 && !p.is_null() => {
            // SAFETY: the caller's contract.
            unsafe { core::slice::from_raw_parts_mut(p, n) }
        }
        _ => &mut [],
    }
}

use criu_abi::raw::{
    restore_posix_timer, restore_timerfd, rlimit64, rst_aio_ring, rst_tcp_sock, siginfo_t, task_restore_args, VmaEntry,
};

/// The arrays of a task's args, as slices.
pub struct TaskArrays<'a> {
    pub vmas: &'a mut [VmaEntry],
    pub rings: &'a [rst_aio_ring],
    pub rlims: &'a [rlimit64],
    pub posix_timers: &'a [restore_posix_timer],
    pub timerfds: &'a mut [restore_timerfd],
    pub inotify_fds: &'a [i32],
    pub siginfo: &'a [siginfo_t],
    pub tcp_socks: &'a [rst_tcp_sock],
}

impl TaskArrays<'_> {
    /// # Safety
    /// `a` must be CRIU's task args, whose arrays lie in rst_mem; the slices are used
    /// only until rst_mem is unmapped, and nothing else accesses the arrays meanwhile.
    pub unsafe fn of<'a>(a: &task_restore_args) -> TaskArrays<'a> {
        // SAFETY: the caller's contract, for each pointer and count of the args.
        unsafe {
            TaskArrays {
                vmas: slice_mut(a.vmas, a.vmas_n),
                rings: slice(a.rings, a.rings_n),
                rlims: slice(a.rlims, a.rlims_n),
                posix_timers: slice(a.posix_timers, a.posix_timers_n),
                timerfds: slice_mut(a.timerfd, a.timerfd_n),
                inotify_fds: slice(a.inotify_fds, a.inotify_fds_n),
                siginfo: slice(a.siginfo, a.siginfo_n),
                tcp_socks: slice(a.tcp_socks, a.tcp_socks_n),
            }
        }
    }
}
