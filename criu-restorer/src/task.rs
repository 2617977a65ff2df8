//! `__export_restore_task`, step by step, in CRIU's order: the leader of a task maps the
//! task's memory, reads its pages, restores its per-task state, clones its threads, goes
//! through the restore stages with CRIU and the other tasks, and sigreturns into the
//! task's code. Any `Err` makes the entry point take CRIU's abort path.

use core::convert::Infallible;

use criu_abi::raw::{faults_FI_VDSO_TRAMPOLINES, task_restore_args};
use pie_sys::fd::{AsFd, BorrowedFd, OwnedFd};
use pie_sys::signal::{self, SigprocmaskHow};
use pie_sys::sigtypes::SigSet;
use pie_sys::{fs, mm, process};

use crate::args::{self, TaskArrays};
use crate::error::Result;
use crate::stage::{self, Stage};
use crate::{
    aio_ring, bail, creds, dumpable, entry, inotify, itimers, log, lsm, membarrier, mm as task_mm, pages, pdeath,
    posix_timers, pr_debug, pr_info, rlimits, rseq, seccomp, sigchld, signals, state, subreaper, tcp, thread_common,
    threads, timerfd, vdso, vmas,
};

/// Restore the task; returns only on failure.
///
/// Inlined into the entry point: once its shadow stack is switched, it may not return.
///
/// # Safety
/// `task` is CRIU's task args, in the bootstrap area for the whole restore, untouched by
/// any other thread until this one clones the task's threads.
#[inline(always)]
pub unsafe fn restore(task: *mut task_restore_args) -> Result<Infallible> {
    // SAFETY: the caller's contract: until the threads are cloned (below), this thread
    // alone touches the args.
    let args = unsafe { &mut *task };
    let my_pid = process::getpid();
    sigchld::install()?;
    log::init(args.logfd, args.loglevel, args.logstart.tv_sec, args.logstart.tv_usec);
    pr_info!("Switched to the restorer ", my_pid);
    if args.compatible_mode {
        bail!("32-bit (compat) tasks are not restored by the Rust restorer");
    }
    if args.uffd > -1 {
        pr_debug!("lazy-pages: uffd ", args.uffd);
    }
    #[cfg(criu_has_shstk)]
    crate::shstk::switch_to_restorer(&args.shstk, (args.bootstrap_start as u64, args.bootstrap_len))?;
    // SAFETY: CRIU dup'ed a /proc fd for the restorer; closed before the sigreturn.
    let proc_fd = unsafe { OwnedFd::from_raw_fd(args.proc_fd) };

    // SAFETY: CRIU's args; the arrays are used only before rst_mem is unmapped below.
    let arr = unsafe { TaskArrays::of(args) };
    let vmas = arr.vmas;
    let compat = args.compatible_mode;
    // Park the runtime vDSO where the unmap spares it, if the kernel cannot map one.
    vdso::park::before_unmap(
        &mut args.vdso_maps_rt,
        vmas,
        args.can_map_vdso,
        compat,
        args.vdso_rt_parked_at,
        args.vdso_rt_size,
    )?;
    rseq::unregister_libc(&args.libc_rseq);
    vmas::unmap_old(
        (args.premmapped_addr as usize, args.premmapped_len as usize),
        (args.bootstrap_start as usize, args.bootstrap_len as usize),
        args.task_size as usize,
    )?;

    vdso::park::after_unmap(
        &mut args.vdso_maps_rt,
        args.can_map_vdso,
        compat,
        args.vdso_rt_parked_at,
    )?;
    {
        // SAFETY: CRIU's uffd, valid until closed just below.
        let uffd = (args.uffd > -1).then(|| unsafe { BorrowedFd::borrow_raw(args.uffd) });
        vmas::remap_premapped(vmas, args.task_size, uffd)?;
    }
    task_mm::restore_thp_disable(args.thp_disabled)?;
    if args.uffd > -1 {
        pr_debug!("lazy-pages: closing uffd ", args.uffd);
        // SAFETY: the uffd is the restorer's to close once every VMA is registered.
        let _ = unsafe { fs::close(args.uffd) };
    }
    vmas::map_others(vmas)?;
    vmas::advise_before_read(vmas)?;
    pages::restore(args, vmas, proc_fd.as_fd())?;

    let force_trampolines = state::fault_injected(faults_FI_VDSO_TRAMPOLINES);
    let has_proxy = vdso::proxy::proxify(&mut args.vdso_maps_rt, vmas, compat, force_trampolines)?;
    // The runtime vDSO stays after __export_unmap only if a proxy jumps into it.
    state::keep_rt_vdso(has_proxy);

    vmas::restore_protections(vmas);
    for ring in arr.rings {
        aio_ring::restore(ring)?;
    }
    vmas::advise_after_read(vmas)?;
    vmas::install_guards(vmas)?;

    task_mm::restore_name(&args.comm)?;
    task_mm::restore_mm(args)?;

    // SAFETY: `t` is the leader's own thread args, in rst_mem; nothing writes them.
    let me = unsafe { &*args.t };
    // SAFETY: the leader's creds args, relocated by CRIU into rst_mem.
    let creds = unsafe { &*me.creds_args };
    // The SELinux context must be set before the threads exist.
    lsm::set_selinux_context(args.lsm_type, creds, proc_fd.as_fd())?;
    thread_common::restore(me)?;

    // From here on the threads read the task args too (`thread_restore_args.ta`): the
    // leader's view of them becomes shared, and the exclusive one is not used again.
    // SAFETY: as above; every access from here on, the threads' included, is a read.
    let args: &task_restore_args = unsafe { &*task };
    threads::clone_all(args, proc_fd.as_fd())?;

    rlimits::restore(arr.rlims);
    posix_timers::create(arr.posix_timers)?;
    timerfd::arm(arr.timerfds)?;
    membarrier::restore(args.membarrier_registration_mask)?;

    pr_info!(process::getpid(), ": Restored");
    stage::finish(Stage::Restore);

    sigchld::wait_helpers()?;
    sigchld::wait_zombies()?;

    if let Err(e) = signal::rt_sigprocmask(SigprocmaskHow::SETMASK, Some(&SigSet::FULL), None) {
        bail!("Unable to block signals ", e);
    }
    inotify::cleanup(arr.inotify_fds)?;
    signals::restore_sigchld_action(&args.sigchld_act)?;
    signals::restore(arr.siginfo, true)?;
    // SAFETY: the leader's own siginfo array in rst_mem, mapped until the end.
    signals::restore(unsafe { args::slice(me.siginfo, me.siginfo_n) }, false)?;
    stage::finish(Stage::RestoreSigchld);
    if state::fault_injected(state::FI_RESTORER_PANIC) {
        panic!("fault injected");
    }

    tcp::repair_off_all(arr.tcp_socks);
    // Privileged (uid 0 in the task's user namespace): before the creds.
    seccomp::restore(me)?;
    // Last: ns_last_pid, TCP repair and seccomp need the privileges the creds drop.
    let creds_ok = creds::restore(creds, proc_fd.as_fd(), args.lsm_type, args.uid).is_ok()
        && dumpable::restore(&args.mm).is_ok()
        && pdeath::restore(me.pdeath_sig).is_ok()
        && subreaper::restore(args.child_subreaper).is_ok();

    state::threads_in_progress().set_and_wake(args.nr_threads as u32);
    // Locking the shadow stack stops wrss: only once every thread is cloned.
    #[cfg(criu_has_shstk)]
    crate::shstk::restore(&args.shstk)?;
    stage::finish(Stage::RestoreCreds);
    if !creds_ok {
        bail!("Failed to restore the task's credentials or prctl state");
    }

    // The threads use task_entries until they are done: wait for them.
    state::threads_in_progress().wait_while_gt(1);
    drop(proc_fd);
    log::close();

    // CRIU made sure, when it prepared them, that these cannot fail on bad values.
    itimers::arm(&args.itimers);
    posix_timers::arm(arr.posix_timers);

    // The frame is in the memory zone, which stays; the args do not (below).
    let (sp, frame) = entry::sigframe_of(me);
    let (rst_mem, rst_mem_size) = (args.rst_mem, args.rst_mem_size as usize);
    // SAFETY: rst_mem holds the args themselves and what they point to (VMA list,
    // records, thread args): none is used after this (every thread has counted out).
    // `args` and `me` are not touched again.
    let _ = unsafe { mm::munmap(rst_mem.cast(), rst_mem_size) };
    entry::rst_sigreturn(sp, frame)
}
