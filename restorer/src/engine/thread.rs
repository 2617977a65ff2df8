//! Worker threads without libc: `clone3` onto an mmapped stack, joined through
//! CLONE_CHILD_CLEARTID and a futex.
//!
//! A thread created with CLONE_VM starts on its new stack with nothing of Rust's frame
//! around it, so the child side runs in a small assembly trampoline: call the entry with
//! its argument, then `exit` (the thread only). Workers take TIDs above the restore's
//! highest PID (clone3 `set_tid`), so that they never hold a PID a restored task needs.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::sys::mm;
use crate::sys::thread::{
    CloneArgs, CLONE_CHILD_CLEARTID, CLONE_FILES, CLONE_FS, CLONE_PARENT_SETTID, CLONE_SIGHAND, CLONE_SYSVSEM,
    CLONE_THREAD, CLONE_VM,
};
use crate::sys::{futex, Errno, Result};
use vma_io::PAGE_SIZE;

/// Stack of a worker: the reader needs a few KiB; the rest is headroom.
pub const STACK_SIZE: usize = 128 * 1024;
/// TIDs tried above the highest PID before giving up (each EEXIST moves one up).
const TID_TRIES: i32 = 256;

/// The entry of a worker: takes its argument, returns an exit code (ignored).
pub type Entry = extern "C" fn(arg: *mut u8) -> i32;

extern "C" {
    /// clone3 with `args`; in the child, call `entry(arg)` then exit the thread.
    /// Returns the child's TID or a negative errno in the parent.
    fn pie_clone3_thread(args: *const CloneArgs, size: usize, entry: Entry, arg: *mut u8) -> isize;
}

global_asm!(
    ".pushsection .text.pie_clone3_thread, \"ax\", @progbits",
    ".globl pie_clone3_thread",
    ".hidden pie_clone3_thread",
    ".type pie_clone3_thread, @function",
    "pie_clone3_thread:",
    // r8/r9 survive the syscall in both parent and child.
    "    mov r8, rdx",
    "    mov r9, rcx",
    "    mov eax, {clone3}",
    "    syscall",
    "    test rax, rax",
    "    jnz 1f",
    // Child: on the new stack (16-byte aligned by the caller), no frame above it.
    "    xor ebp, ebp",
    "    mov rdi, r9",
    "    call r8",
    "    mov edi, eax",
    "    mov eax, {exit}",
    "    syscall",
    "    ud2",
    "1:  ret",
    ".size pie_clone3_thread, . - pie_clone3_thread",
    ".popsection",
    clone3 = const syscalls::Sysno::clone3 as usize,
    exit = const syscalls::Sysno::exit as usize,
);

/// A running worker: its stack and the word the kernel clears when it exits.
pub struct Thread<'a> {
    stack: *mut u8,
    tid: &'a AtomicU32,
    #[cfg(test)]
    faults: Option<&'a super::fault::Faults>,
}

/// Where worker TIDs come from.
pub struct TidSource {
    /// Next TID to ask for; 0 = let the kernel choose.
    next: i32,
}

impl TidSource {
    /// TIDs above `max_pid`, or any TID if `max_pid` is 0.
    pub fn above(max_pid: i32) -> TidSource {
        TidSource {
            next: if max_pid > 0 { max_pid.saturating_add(1) } else { 0 },
        }
    }
}

/// Start `entry(arg)` on a thread of its own. `tid` must outlive the thread (the kernel
/// writes the TID there and clears it at exit); [`Thread::join`] waits for that.
///
/// # Safety
/// `entry` must only touch memory that stays valid until the join, use no thread-local
/// storage, and not unwind.
pub unsafe fn spawn<'a>(
    entry: Entry,
    arg: *mut u8,
    tid: &'a AtomicU32,
    tids: &mut TidSource,
    inject: super::Inject<'a>,
) -> Result<Thread<'a>> {
    #[cfg(test)]
    if let Some(e) = inject.faults.and_then(|f| f.stack()) {
        return Err(e);
    }
    let _ = inject;
    // SAFETY: a fresh anonymous mapping, owned by the Thread until join unmaps it.
    let stack = unsafe {
        mm::mmap(
            core::ptr::null_mut(),
            STACK_SIZE,
            mm::PROT_READ | mm::PROT_WRITE,
            mm::MAP_PRIVATE | mm::MAP_ANONYMOUS | mm::MAP_STACK | mm::MAP_NORESERVE,
            -1,
            0,
        )?
    };
    #[cfg(test)]
    let faults = inject.faults;
    #[cfg(test)]
    let unmapped = || faults.inspect(|f| super::fault::Faults::count(&f.stacks_live, -1));
    #[cfg(test)]
    faults.inspect(|f| super::fault::Faults::count(&f.stacks_live, 1));
    // A guard page below the stack turns an overflow into a fault, not corruption.
    // SAFETY: the first page of our own mapping.
    if let Err(e) = unsafe { mm::mprotect(stack, PAGE_SIZE, mm::PROT_NONE) } {
        // SAFETY: unmapping what was just mapped.
        let _ = unsafe { mm::munmap(stack, STACK_SIZE) };
        #[cfg(test)]
        unmapped();
        return Err(e);
    }
    tid.store(0, Ordering::Relaxed);
    let flags = CLONE_VM
        | CLONE_FS
        | CLONE_FILES
        | CLONE_SIGHAND
        | CLONE_THREAD
        | CLONE_SYSVSEM
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_CLEARTID;
    let mut tries = 0;
    loop {
        let want = tids.next;
        let mut args = CloneArgs {
            flags,
            parent_tid: tid.as_ptr() as u64,
            child_tid: tid.as_ptr() as u64,
            stack: stack as u64,
            stack_size: STACK_SIZE as u64,
            ..CloneArgs::default()
        };
        if want > 0 {
            args.set_tid = &want as *const i32 as u64;
            args.set_tid_size = 1;
        }
        #[cfg(test)]
        if let Some(e) = inject.faults.and_then(|f| f.clone3()) {
            // SAFETY: no thread runs on the stack.
            let _ = unsafe { mm::munmap(stack, STACK_SIZE) };
            unmapped();
            return Err(e);
        }
        // SAFETY: the stack is ours and unused; the caller vouches for entry and arg.
        let ret = unsafe { pie_clone3_thread(&args, core::mem::size_of::<CloneArgs>(), entry, arg) };
        match Errno::result(ret as usize) {
            Ok(_) => {
                if want > 0 {
                    tids.next = want.saturating_add(1);
                }
                #[cfg(test)]
                faults.inspect(|f| super::fault::Faults::count(&f.threads_live, 1));
                return Ok(Thread {
                    stack,
                    tid,
                    #[cfg(test)]
                    faults,
                });
            }
            // Someone holds that TID: move on, a bounded number of times.
            Err(Errno::EEXIST) if want > 0 && tries < TID_TRIES => {
                tids.next = want.saturating_add(1);
                tries += 1;
            }
            Err(e) => {
                // SAFETY: no thread runs on the stack.
                let _ = unsafe { mm::munmap(stack, STACK_SIZE) };
                #[cfg(test)]
                unmapped();
                return Err(e);
            }
        }
    }
}

impl Thread<'_> {
    /// Wait until the thread has exited, then unmap its stack.
    pub fn join(self) {
        loop {
            let t = self.tid.load(Ordering::Acquire);
            if t == 0 {
                break;
            }
            // The kernel's clear-tid wake is a shared futex wake: wait non-private.
            let _ = futex::wait(self.tid, t, None);
        }
        // SAFETY: the kernel cleared the TID after the thread last touched its stack.
        let _ = unsafe { mm::munmap(self.stack, STACK_SIZE) };
        #[cfg(test)]
        self.faults.inspect(|f| {
            super::fault::Faults::count(&f.threads_live, -1);
            super::fault::Faults::count(&f.stacks_live, -1);
        });
    }
}
