//! `__export_restore_task`, step by step, in CRIU's order: the leader of a task maps the
//! task's memory, reads its pages, restores its per-task state, clones its threads, goes
//! through the restore stages with CRIU and the other tasks, and sigreturns into the
//! task's code. Any `Err` makes the entry point take CRIU's abort path.

use core::convert::Infallible;

use criu_abi::raw::{rt_sigaction_t, task_restore_args, VmaEntry};
use restorer::sys::fd::{AsFd, BorrowedFd, OwnedFd};
use restorer::sys::signal::{self, KernelSigaction, SigprocmaskHow, SIGCHLD};
use restorer::sys::sigtypes::SigSet;
use restorer::sys::{fs, mm, process};

use crate::error::Result;
use crate::stage::{self, Stage};
use crate::{bail, entry, log, mm as task_mm, pages, pr_debug, pr_info, sigchld, state, thread_common, threads, vmas};

// CRIU's SIGCHLD action is handed over in the kernel's layout.
const _: () = assert!(core::mem::size_of::<rt_sigaction_t>() == core::mem::size_of::<KernelSigaction>());

/// Restore the task; returns only on failure.
pub fn restore(args: &mut task_restore_args) -> Result<Infallible> {
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
    check_shadow_stack(args)?;
    // SAFETY: CRIU dup'ed a /proc fd for the restorer; closed before the sigreturn.
    let proc_fd = unsafe { OwnedFd::from_raw_fd(args.proc_fd) };

    unregister_libc_rseq(args);
    vmas::unmap_old(
        (args.premmapped_addr as usize, args.premmapped_len as usize),
        (args.bootstrap_start as usize, args.bootstrap_len as usize),
        args.task_size as usize,
    )?;

    let vmas = vmas_of(args);
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
    pages::restore(args, proc_fd.as_fd())?;

    vmas::restore_protections(vmas);
    vmas::advise_after_read(vmas)?;

    task_mm::restore_name(&args.comm)?;
    task_mm::restore_mm(args)?;

    // SAFETY: `t` is the leader's own thread args, in the bootstrap area.
    let me = unsafe { &mut *args.t };
    thread_common::restore_tid_address_and_robust_list(me, false)?;
    thread_common::restore_nonsigframe_gpregs(me)?;
    thread_common::check_tls(me)?;

    threads::clone_all(args, proc_fd.as_fd())?;

    pr_info!(process::getpid(), ": Restored");
    stage::finish(Stage::Restore);

    sigchld::wait_helpers()?;
    sigchld::wait_zombies()?;

    if let Err(e) = signal::rt_sigprocmask(SigprocmaskHow::SETMASK, Some(&SigSet::FULL), None) {
        bail!("Unable to block signals ", e);
    }
    // SAFETY: CRIU's saved SIGCHLD action of the task, in the kernel's layout (checked
    // above); its handler is the task's code, mapped by now.
    let act = unsafe { &*(&args.sigchld_act as *const rt_sigaction_t).cast::<KernelSigaction>() };
    // SAFETY: see above.
    if let Err(e) = unsafe { signal::rt_sigaction(SIGCHLD, Some(act), None) } {
        bail!("Failed to restore SIGCHLD: ", e);
    }
    stage::finish(Stage::RestoreSigchld);

    state::threads_in_progress().set_and_wake(args.nr_threads as u32);
    stage::finish(Stage::RestoreCreds);

    // The threads use task_entries until they are done: wait for them.
    state::threads_in_progress().wait_while_gt(1);
    drop(proc_fd);
    log::close();

    // The frame is in the memory zone, which stays; the args do not (below).
    let (sp, frame) = entry::sigframe_of(me);
    let (rst_mem, rst_mem_size) = (args.rst_mem, args.rst_mem_size as usize);
    // SAFETY: rst_mem holds the args themselves and what they point to (VMA list,
    // records, thread args): none is used after this. `args` and `me` are not touched
    // again.
    let _ = unsafe { mm::munmap(rst_mem.cast(), rst_mem_size) };
    entry::rst_sigreturn(sp, frame)
}

fn vmas_of(args: &mut task_restore_args) -> &'static mut [VmaEntry] {
    if args.vmas.is_null() || args.vmas_n == 0 {
        return &mut [];
    }
    // SAFETY: CRIU lays out `vmas_n` VMA entries at `vmas` in rst_mem, which stays
    // mapped until the restorer unmaps it last thing.
    unsafe { core::slice::from_raw_parts_mut(args.vmas, args.vmas_n as usize) }
}

/// CRIU's own C library registered an rseq area in this thread; it is about to be
/// unmapped, and the kernel would kill the thread at its next update of the area.
fn unregister_libc_rseq(args: &task_restore_args) {
    let r = &args.libc_rseq;
    if r.rseq_abi_pointer == 0 {
        return;
    }
    // SAFETY: unregistration of the area CRIU says is registered; it cannot fail then.
    let _ = unsafe {
        restorer::sys::thread::rseq(
            r.rseq_abi_pointer as *mut _,
            r.rseq_abi_size,
            restorer::sys::thread::RSEQ_FLAG_UNREGISTER,
            r.signature,
        )
    };
}

/// A task with an x86 shadow stack is not restored by this restorer: say so and fail
/// cleanly (trees without shadow-stack restore have no such field, and no such task).
fn check_shadow_stack(_args: &task_restore_args) -> Result {
    // ARCH_SHSTK_SHSTK: the task ran with a shadow stack.
    #[cfg(criu_has_shstk)]
    if _args.shstk.cet & 1 != 0 {
        bail!("The task had an x86 shadow stack, which the Rust restorer does not restore");
    }
    Ok(())
}
