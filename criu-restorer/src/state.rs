//! What the restorer keeps between its entry points and its signal handler: the few
//! values CRIU's C restorer keeps in globals, here as atomics in the blob's data.
//!
//! `__export_restore_task` fills them first thing; the threads it clones, the SIGCHLD
//! handler and `__export_unmap` (which CRIU runs long after, by ptrace) read them.

use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use criu_abi::raw::{faults, task_entries, task_restore_args};

use crate::lock::{Futex, Mutex};

static TASK_ENTRIES: AtomicPtr<task_entries> = AtomicPtr::new(core::ptr::null_mut());
static HELPERS: AtomicPtr<i32> = AtomicPtr::new(core::ptr::null_mut());
static N_HELPERS: AtomicUsize = AtomicUsize::new(0);
static ZOMBIES: AtomicPtr<i32> = AtomicPtr::new(core::ptr::null_mut());
static N_ZOMBIES: AtomicUsize = AtomicUsize::new(0);
static FAULT: AtomicU32 = AtomicU32::new(0);
static BOOTSTRAP_START: AtomicUsize = AtomicUsize::new(0);
static BOOTSTRAP_LEN: AtomicUsize = AtomicUsize::new(0);
static VDSO_RT_SIZE: AtomicUsize = AtomicUsize::new(0);
/// Threads of this task still inside the restorer (CRIU's `thread_inprogress`).
static THREADS_IN_PROGRESS: AtomicU32 = AtomicU32::new(0);

/// Take what later steps need from CRIU's task args.
pub fn init(args: &task_restore_args) {
    TASK_ENTRIES.store(args.task_entries, Ordering::Release);
    HELPERS.store(args.helpers, Ordering::Relaxed);
    N_HELPERS.store(args.helpers_n as usize, Ordering::Relaxed);
    ZOMBIES.store(args.zombies, Ordering::Relaxed);
    N_ZOMBIES.store(args.zombies_n as usize, Ordering::Relaxed);
    FAULT.store(args.fault_strategy, Ordering::Relaxed);
    BOOTSTRAP_START.store(args.bootstrap_start as usize, Ordering::Relaxed);
    BOOTSTRAP_LEN.store(args.bootstrap_len as usize, Ordering::Relaxed);
    VDSO_RT_SIZE.store(args.vdso_rt_size as usize, Ordering::Relaxed);
    if let Some(nr) = nr_in_progress() {
        crate::lock::set_abort_futex(nr);
    }
}

/// The Rust restorer's own fault point, for tests of its abort path: with
/// `CRIU_FAULT=126` the leader panics right after the SIGCHLD stage, where CRIU watches
/// only the stage futex. CRIU accepts any value below its `FI_MAX` and gives this one no
/// meaning (its fatal faults count up from 1, its other ones from 127).
pub const FI_RESTORER_PANIC: faults = 126;
const _: () = assert!(FI_RESTORER_PANIC < criu_abi::raw::faults_FI_VDSO_TRAMPOLINES);

/// CRIU's `fault_injected`: whether the tree's fault-injection setting is `f`.
pub fn fault_injected(f: faults) -> bool {
    FAULT.load(Ordering::Relaxed) == f
}

fn entries() -> Option<&'static task_entries> {
    // SAFETY: CRIU's task_entries lives in shared memory that stays mapped (at the same
    // address in every task) for the whole restore; it is only ever accessed through
    // the futex and mutex views below, atomically.
    unsafe { TASK_ENTRIES.load(Ordering::Acquire).as_ref() }
}

/// `task_entries->nr_in_progress`: the count of tasks (and threads) still in a stage.
pub fn nr_in_progress() -> Option<Futex<'static>> {
    let te = TASK_ENTRIES.load(Ordering::Acquire);
    entries()?;
    // SAFETY: see `entries`; the field is a futex_t inside it.
    Some(unsafe { Futex::from_raw(core::ptr::addr_of_mut!((*te).nr_in_progress)) })
}

/// `task_entries->start`: the stage CRIU lets the tasks into.
pub fn start() -> Option<Futex<'static>> {
    let te = TASK_ENTRIES.load(Ordering::Acquire);
    entries()?;
    // SAFETY: as for nr_in_progress.
    Some(unsafe { Futex::from_raw(core::ptr::addr_of_mut!((*te).start)) })
}

/// `task_entries->last_pid_mutex`: serialises writes of ns_last_pid across tasks.
pub fn last_pid_mutex() -> Option<Mutex<'static>> {
    let te = TASK_ENTRIES.load(Ordering::Acquire);
    entries()?;
    // SAFETY: as for nr_in_progress.
    Some(unsafe { Mutex::from_raw(core::ptr::addr_of_mut!((*te).last_pid_mutex)) })
}

/// `task_entries->cgroupd_sync_lock`: serialises threads' talks with CRIU's cgroupd.
pub fn cgroupd_lock() -> Option<Mutex<'static>> {
    let te = TASK_ENTRIES.load(Ordering::Acquire);
    entries()?;
    // SAFETY: as for nr_in_progress.
    Some(unsafe { Mutex::from_raw(core::ptr::addr_of_mut!((*te).cgroupd_sync_lock)) })
}

fn pids(p: &AtomicPtr<i32>, n: &AtomicUsize) -> &'static [i32] {
    // SAFETY: CRIU's args name `n` PIDs there, in the restorer's memory that stays
    // mapped, unchanged, until the task leaves the restorer.
    unsafe { crate::args::slice(p.load(Ordering::Relaxed), n.load(Ordering::Relaxed)) }
}

/// PIDs of the helper tasks (they may exit once CR_STATE_RESTORE is done).
pub fn helpers() -> &'static [i32] {
    pids(&HELPERS, &N_HELPERS)
}

/// PIDs of the zombies this task must collect.
pub fn zombies() -> &'static [i32] {
    pids(&ZOMBIES, &N_ZOMBIES)
}

/// The threads-in-progress counter.
pub fn threads_in_progress() -> Futex<'static> {
    Futex::new(&THREADS_IN_PROGRESS)
}

/// Whether the runtime vDSO must stay after `__export_unmap` (a proxy jumps into it).
pub fn keep_rt_vdso(keep: bool) {
    if !keep {
        VDSO_RT_SIZE.store(0, Ordering::Relaxed);
    }
}

/// The range `__export_unmap` unmaps: the bootstrap area but the runtime vDSO at its end.
pub fn unmap_range() -> (usize, usize) {
    let len = BOOTSTRAP_LEN.load(Ordering::Relaxed);
    (
        BOOTSTRAP_START.load(Ordering::Relaxed),
        len - VDSO_RT_SIZE.load(Ordering::Relaxed).min(len),
    )
}
