//! The blob's entry points, as CRIU's `cr-restore.c` and the header `compel hgen` makes
//! expect them, and the way out of the restorer (sigreturn into the task, or CRIU's
//! abort path).
//!
//! - `__export_restore_task`: CRIU jumps here on a fresh stack in the task's leader.
//! - `__export_restore_thread`: the leader clones each other thread into it.
//! - `__export_unmap`: CRIU runs it by ptrace once the task is restored, to unmap the
//!   restorer; it stops the task at the munmap's exit, so nothing after the call runs.
//! - `__export_unmap_compat`, `__export_parasite_head_start(_compat)`,
//!   `__export_parasite_service_{cmd,args_ptr}`: named by the header (its setup function
//!   and CONFIG_COMPAT paths), never run for a task this restorer restores: it refuses
//!   32-bit tasks in `__export_restore_task`, and CRIU runs no parasite commands in it.

use core::arch::global_asm;
use core::sync::atomic::{AtomicPtr, AtomicU32};

use criu_abi::raw::{rt_sigframe, task_restore_args, thread_restore_args};
use pie_sys::{mm, process};

use crate::{pr_err, stage, state, task, thread};

/// The parasite service slots the header's setup function names.
#[no_mangle]
pub static __export_parasite_service_cmd: AtomicU32 = AtomicU32::new(0);
#[no_mangle]
pub static __export_parasite_service_args_ptr: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());

// The parasite heads (first in the blob, as the linker script wants) and the 32-bit
// unmap: a trap each, since nothing may run them in a restorer blob.
global_asm!(
    ".pushsection .head.text, \"ax\", @progbits",
    ".globl __export_parasite_head_start_compat",
    ".type __export_parasite_head_start_compat, @function",
    "__export_parasite_head_start_compat:",
    "int3",
    "ud2",
    ".size __export_parasite_head_start_compat, . - __export_parasite_head_start_compat",
    ".globl __export_parasite_head_start",
    ".type __export_parasite_head_start, @function",
    "__export_parasite_head_start:",
    "int3",
    "ud2",
    ".size __export_parasite_head_start, . - __export_parasite_head_start",
    ".popsection",
    ".pushsection .text.__export_unmap_compat, \"ax\", @progbits",
    ".globl __export_unmap_compat",
    ".type __export_unmap_compat, @function",
    "__export_unmap_compat:",
    "int3",
    "ud2",
    ".size __export_unmap_compat, . - __export_unmap_compat",
    ".popsection",
);

/// Restore the task whose args CRIU passes; never returns.
///
/// # Safety
/// Called by CRIU only, with its `task_restore_args` laid out by the tree this blob was
/// built against, on the restorer's stack in the bootstrap area.
#[no_mangle]
pub unsafe extern "C" fn __export_restore_task(args: *mut task_restore_args) -> i64 {
    // SAFETY: CRIU's args, in the bootstrap area, for the whole restore; this thread is
    // the only one touching them until it clones the others (task::restore).
    state::init(unsafe { &*args });
    // CRIU's main process puts a breakpoint here to catch the task before its sigreturn.
    // SAFETY: `breakpoint` points into CRIU's per-task restore info, writable shared memory.
    unsafe { *(*args).breakpoint = rst_sigreturn as *mut core::ffi::c_void };
    // SAFETY: as above.
    let Err(_) = unsafe { task::restore(args) };
    stage::abort();
    pr_err!("Restorer fail ", process::getpid());
    process::exit_group(1)
}

/// Restore one thread CRIU's leader cloned; never returns.
///
/// # Safety
/// Called by the clone in `threads` only, with the thread's own args.
#[no_mangle]
pub unsafe extern "C" fn __export_restore_thread(args: *mut thread_restore_args) -> i64 {
    // SAFETY: the thread's own args, in rst_mem until every thread has counted out;
    // nothing writes them (the leader and this thread only read).
    let args = unsafe { &*args };
    let Err(_) = thread::restore(args);
    pr_err!("Restorer abnormal termination for ", process::getpid());
    stage::abort();
    process::exit_group(1)
}

/// A panic is a bug of this restorer: it takes CRIU's abort path like any failure (after
/// the SIGCHLD stage CRIU no longer watches the task's exit, only the stage futex, and
/// would wait for ever), then ends the task.
#[cfg(all(feature = "blob", not(test)))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // The log line first (CRIU kills the tree once it sees the abort), written raw: the
    // logger's own code may be what panicked, and nothing here may panic again (the
    // blob's stack check refuses the recursion that would be). Touching `_info` would
    // pull core's formatting machinery into the blob.
    crate::log::write_raw(b"pie: Error: the Rust restorer panicked; aborting the restore\n");
    stage::abort();
    process::exit_group(pie_sys::rt::panic::PANIC_EXIT_CODE as i32)
}

/// Unmap the restorer (bootstrap area but a runtime vDSO a proxy still uses).
#[no_mangle]
pub extern "C" fn __export_unmap() {
    let (start, len) = state::unmap_range();
    // SAFETY: CRIU runs this once the task is restored, to drop the restorer itself;
    // it stops the task at the syscall's exit, so no code of the unmapped blob runs after.
    let _ = unsafe { mm::munmap(start as *mut u8, len) };
}

/// Leave the restorer: sigreturn through `frame`, CRIU's prepared signal frame, into the
/// task's code. Not inlined: CRIU sets a breakpoint at its address.
#[inline(never)]
pub extern "C" fn rst_sigreturn(new_sp: usize, _frame: *mut rt_sigframe) -> ! {
    // SAFETY: `new_sp` points just past the frame's return address, where CRIU built a
    // complete frame of the thread's registers, mask and FPU state; with a shadow stack,
    // the caller is the frame that restored it, whose top is the sigreturn token.
    #[cfg(criu_has_shstk)]
    unsafe {
        crate::shstk::sigreturn(new_sp)
    }
    // SAFETY: as above (trees without shadow stacks restore none).
    #[cfg(not(criu_has_shstk))]
    unsafe {
        pie_sys::signal::rt_sigreturn(new_sp)
    }
}

/// The signal frame of a thread's memory zone and the stack pointer its sigreturn wants
/// (CRIU's `RT_SIGFRAME_OFFSET`: just past a native frame's return address).
pub fn sigframe_of(t: &thread_restore_args) -> (usize, *mut rt_sigframe) {
    // SAFETY: `mz` is the thread's memory zone in the bootstrap area.
    let frame = unsafe { core::ptr::addr_of_mut!((*t.mz).rt_sigframe) }.cast::<rt_sigframe>();
    (frame as usize + 8, frame)
}
