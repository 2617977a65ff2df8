//! Scheduling and limits: nice values, policies, CPU affinity, yielding, rlimits.

use super::ret::{ret_c_int, ret_unit, ret_usize};
use super::{nr, opt_mut, opt_ptr, raw, Result};
use syscalls::Sysno;

// `setpriority`/`getpriority` targets.
pub const PRIO_PROCESS: i32 = linux_raw_sys::general::PRIO_PROCESS as i32;
pub const PRIO_PGRP: i32 = linux_raw_sys::general::PRIO_PGRP as i32;
pub const PRIO_USER: i32 = linux_raw_sys::general::PRIO_USER as i32;

// Scheduling policies.
pub const SCHED_OTHER: i32 = 0;
pub const SCHED_FIFO: i32 = linux_raw_sys::general::SCHED_FIFO as i32;
pub const SCHED_RR: i32 = linux_raw_sys::general::SCHED_RR as i32;
pub const SCHED_BATCH: i32 = linux_raw_sys::general::SCHED_BATCH as i32;
pub const SCHED_IDLE: i32 = linux_raw_sys::general::SCHED_IDLE as i32;
pub const SCHED_DEADLINE: i32 = linux_raw_sys::general::SCHED_DEADLINE as i32;
pub const SCHED_EXT: i32 = linux_raw_sys::general::SCHED_EXT as i32;
/// Policy flag: children go back to the default policy.
pub const SCHED_RESET_ON_FORK: i32 = linux_raw_sys::general::SCHED_RESET_ON_FORK as i32;

// Resource limits.
pub const RLIMIT_CPU: i32 = linux_raw_sys::general::RLIMIT_CPU as i32;
pub const RLIMIT_FSIZE: i32 = linux_raw_sys::general::RLIMIT_FSIZE as i32;
pub const RLIMIT_DATA: i32 = linux_raw_sys::general::RLIMIT_DATA as i32;
pub const RLIMIT_STACK: i32 = linux_raw_sys::general::RLIMIT_STACK as i32;
pub const RLIMIT_CORE: i32 = linux_raw_sys::general::RLIMIT_CORE as i32;
pub const RLIMIT_RSS: i32 = linux_raw_sys::general::RLIMIT_RSS as i32;
pub const RLIMIT_NPROC: i32 = linux_raw_sys::general::RLIMIT_NPROC as i32;
pub const RLIMIT_NOFILE: i32 = linux_raw_sys::general::RLIMIT_NOFILE as i32;
pub const RLIMIT_MEMLOCK: i32 = linux_raw_sys::general::RLIMIT_MEMLOCK as i32;
pub const RLIMIT_AS: i32 = linux_raw_sys::general::RLIMIT_AS as i32;
pub const RLIMIT_LOCKS: i32 = linux_raw_sys::general::RLIMIT_LOCKS as i32;
pub const RLIMIT_SIGPENDING: i32 = linux_raw_sys::general::RLIMIT_SIGPENDING as i32;
pub const RLIMIT_MSGQUEUE: i32 = linux_raw_sys::general::RLIMIT_MSGQUEUE as i32;
pub const RLIMIT_NICE: i32 = linux_raw_sys::general::RLIMIT_NICE as i32;
pub const RLIMIT_RTPRIO: i32 = linux_raw_sys::general::RLIMIT_RTPRIO as i32;
pub const RLIMIT_RTTIME: i32 = linux_raw_sys::general::RLIMIT_RTTIME as i32;
pub const RLIM_NLIMITS: i32 = linux_raw_sys::general::RLIM_NLIMITS as i32;
/// No limit.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// The kernel's `struct sched_param`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedParam {
    pub sched_priority: i32,
}
assert_layout!(SchedParam, size = 4);

/// The kernel's `struct rlimit` (64-bit, as `setrlimit`/`prlimit64` take it on x86_64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rlimit {
    pub cur: u64,
    pub max: u64,
}
assert_layout!(Rlimit, size = 16);

/// `setpriority(2)`: set the nice value (-20..=19) of a process, group or user (`PRIO_*`,
/// `who == 0`: the caller). Lowering it needs `CAP_SYS_NICE`.
#[inline]
pub fn setpriority(which: i32, who: i32, nice: i32) -> Result<()> {
    // SAFETY: setpriority touches no user memory.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::setpriority), which as usize, who as usize, nice as usize) })
}

/// `getpriority(2)`: the nice value of a process, group or user (the best of them). The
/// raw call returns `20 - nice`; this returns the nice value.
#[inline]
pub fn getpriority(which: i32, who: i32) -> Result<i32> {
    // SAFETY: getpriority touches no user memory.
    ret_c_int(unsafe { raw::syscall2(nr(Sysno::getpriority), which as usize, who as usize) }).map(|v| 20 - v)
}

/// `sched_setscheduler(2)`: set the policy (`SCHED_*`) and static priority of thread
/// `pid` (0: the caller).
#[inline]
pub fn sched_setscheduler(pid: i32, policy: i32, param: &SchedParam) -> Result<()> {
    // SAFETY: the kernel only reads `param`.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::sched_setscheduler),
            pid as usize,
            policy as usize,
            param as *const SchedParam as usize,
        )
    })
}

/// `sched_getscheduler(2)`: the policy of thread `pid` (0: the caller).
#[inline]
pub fn sched_getscheduler(pid: i32) -> Result<i32> {
    // SAFETY: sched_getscheduler touches no user memory.
    ret_c_int(unsafe { raw::syscall1(nr(Sysno::sched_getscheduler), pid as usize) })
}

/// `sched_getaffinity(2)`: the CPU mask of thread `pid` into `mask` (bit n of word n/64
/// is CPU n); returns the bytes the kernel wrote. `EINVAL` when `mask` is smaller than
/// the kernel's cpumask.
#[inline]
pub fn sched_getaffinity(pid: i32, mask: &mut [u64]) -> Result<usize> {
    // SAFETY: the kernel writes at most size_of_val(mask) bytes into `mask`.
    ret_usize(unsafe {
        raw::syscall3(
            nr(Sysno::sched_getaffinity),
            pid as usize,
            core::mem::size_of_val(mask),
            mask.as_mut_ptr() as usize,
        )
    })
}

/// `sched_setaffinity(2)`: restrict thread `pid` to the CPUs of `mask`.
#[inline]
pub fn sched_setaffinity(pid: i32, mask: &[u64]) -> Result<()> {
    // SAFETY: the kernel only reads `mask`.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::sched_setaffinity),
            pid as usize,
            core::mem::size_of_val(mask),
            mask.as_ptr() as usize,
        )
    })
}

/// `sched_yield(2)`: let other runnable threads run.
#[inline]
pub fn sched_yield() -> Result<()> {
    // SAFETY: sched_yield touches no user memory.
    ret_unit(unsafe { raw::syscall0(nr(Sysno::sched_yield)) })
}

/// `setrlimit(2)`: set resource limit `resource` (`RLIMIT_*`) of the caller; raising the
/// hard limit needs `CAP_SYS_RESOURCE`, `cur > max` is `EINVAL`.
#[inline]
pub fn setrlimit(resource: i32, rlim: &Rlimit) -> Result<()> {
    // SAFETY: the kernel only reads `rlim`.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::setrlimit), resource as usize, rlim as *const Rlimit as usize) })
}

/// `getrlimit(2)`: resource limit `resource` of the caller.
#[inline]
pub fn getrlimit(resource: i32) -> Result<Rlimit> {
    let mut rlim = Rlimit::default();
    // SAFETY: the kernel writes one rlimit into `rlim`.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::getrlimit),
            resource as usize,
            &mut rlim as *mut Rlimit as usize,
        )
    })?;
    Ok(rlim)
}

/// `prlimit64(2)`: set (if `new`) and get (if `old`) a resource limit of process `pid`
/// (0: the caller).
#[inline]
pub fn prlimit64(pid: i32, resource: i32, new: Option<&Rlimit>, old: Option<&mut Rlimit>) -> Result<()> {
    // SAFETY: the kernel reads `new` and writes `old`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::prlimit64),
            pid as usize,
            resource as usize,
            opt_ptr(new),
            opt_mut(old),
        )
    })
}

/// The number of CPUs the calling thread may run on (`sched_getaffinity` of up to 4096
/// CPUs, counted).
#[inline]
pub fn cpus_allowed() -> Result<usize> {
    let mut mask = [0u64; 64];
    let n = sched_getaffinity(0, &mut mask)?;
    let words = (n / 8).min(mask.len());
    Ok(mask[..words].iter().map(|w| w.count_ones() as usize).sum())
}
