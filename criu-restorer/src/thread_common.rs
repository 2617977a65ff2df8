//! What every thread (the leader included) restores for itself before its stages:
//! clear-child-tid, the robust futex list, fs/gs bases, GDT TLS descriptors (CRIU's
//! `restore_thread_common`; the scheduling policy and rseq have modules of their own).

use criu_abi::raw::thread_restore_args;
use pie_sys::thread::{self, ARCH_SET_FS, ARCH_SET_GS};

use crate::error::Result;
use crate::{bail, pr_info};

/// CRIU's `restore_thread_common`, in its order: clear-child-tid, the robust futex list,
/// the scheduling policy, fs/gs bases, TLS descriptors, rseq.
pub fn restore(t: &thread_restore_args) -> Result {
    restore_tid_address_and_robust_list(t, false)?;
    crate::sched::restore(&t.sp);
    restore_nonsigframe_gpregs(t)?;
    check_tls(t)?;
    crate::rseq::restore(&t.rseq)
}

/// set_tid_address and the robust futex list.
fn restore_tid_address_and_robust_list(t: &thread_restore_args, compat: bool) -> Result {
    // SAFETY: the address is the thread's own clear-child-tid word in the restored
    // memory (or 0); the kernel only writes it when the thread exits.
    unsafe { thread::set_tid_address(t.clear_tid_addr as *mut i32) };
    if t.futex_rla_len == 0 {
        return Ok(());
    }
    if compat {
        bail!("Failed to recover futex robust list: 32-bit tasks are not restored by this restorer");
    }
    // SAFETY: the list head is the thread's own, in the restored memory; the kernel reads
    // it only when the thread exits.
    if let Err(e) = unsafe { thread::set_robust_list(t.futex_rla as *mut _, t.futex_rla_len as usize) } {
        bail!("Failed to recover futex robust list: ", e);
    }
    Ok(())
}

/// fs and gs bases: the registers the signal frame does not carry.
fn restore_nonsigframe_gpregs(t: &thread_restore_args) -> Result {
    for (code, base) in [(ARCH_SET_FS, t.gpregs.fs_base), (ARCH_SET_GS, t.gpregs.gs_base)] {
        // SAFETY: a base register of this thread; the restorer's own code uses neither
        // (no TLS, no stack protector).
        if let Err(e) = unsafe { thread::arch_prctl(code, base as usize) } {
            pr_info!(
                if code == ARCH_SET_FS {
                    "SET_FS fail "
                } else {
                    "SET_GS fail "
                },
                e
            );
            return Err(crate::error::Failed);
        }
    }
    Ok(())
}

/// GDT TLS descriptors are set by 32-bit code only (x86_64 code uses fs_base): a thread
/// with one present cannot be restored by this restorer, and says so.
fn check_tls(t: &thread_restore_args) -> Result {
    for d in &t.tls.desc {
        if d.seg_not_present() == 0 {
            bail!(
                "Failed to restore TLS descriptor ",
                d.entry_number,
                " in GDT: 32-bit TLS is not restored by this restorer"
            );
        }
    }
    Ok(())
}
