//! Worker threads without libc: `clone3` onto an mmapped stack, joined through
//! CLONE_CHILD_CLEARTID and a futex, then until the thread has left the thread group.
//!
//! A thread created with CLONE_VM starts on its new stack with nothing of Rust's frame
//! around it, so the child side runs in a small assembly trampoline: call the entry with
//! its argument, then `exit` (the thread only). Workers take TIDs above the restore's
//! highest PID (clone3 `set_tid`), so that they never hold a PID a restored task needs.

use core::arch::global_asm;
use core::sync::atomic::{AtomicU32, Ordering};

use super::hooks::Hooks;
use pie_sys::thread::{CloneArgs, CloneFlags};
use pie_sys::time::{nanosleep, Timespec};
use pie_sys::{futex, mm, process, sched, Errno, Result};
use vma_io::PAGE_SIZE;

/// Stack of a worker: the reader needs a few KiB; the rest is headroom.
pub const STACK_SIZE: usize = 128 * 1024;
/// TIDs tried above the highest PID before giving up (each EEXIST moves one up).
const TID_TRIES: i32 = 256;
/// Polls, after the TID was cleared, for the thread to leave the thread group: first
/// yields (the exit usually ends within them), then naps, about a second in all.
const GONE_YIELDS: u32 = 64;
const GONE_NAPS: u32 = 10_000;
const GONE_NAP: Timespec = Timespec {
    tv_sec: 0,
    tv_nsec: 100_000,
};

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

/// A worker's stack: an anonymous mapping with a guard page at its foot, unmapped on
/// drop.
struct Stack<'a> {
    base: *mut u8,
    hooks: Hooks<'a>,
}

impl<'a> Stack<'a> {
    fn map(hooks: Hooks<'a>) -> Result<Stack<'a>> {
        hooks.map_stack()?;
        // SAFETY: a fresh anonymous mapping, owned by the Stack.
        let base = unsafe {
            mm::mmap(
                core::ptr::null_mut(),
                STACK_SIZE,
                mm::ProtFlags::READ | mm::ProtFlags::WRITE,
                mm::MapFlags::PRIVATE | mm::MapFlags::ANONYMOUS | mm::MapFlags::STACK | mm::MapFlags::NORESERVE,
                None,
                0,
            )?
        };
        hooks.stacks(1);
        let stack = Stack { base, hooks };
        // A guard page below the stack turns an overflow into a fault, not corruption.
        // SAFETY: the first page of our own mapping.
        unsafe { mm::mprotect(stack.base, PAGE_SIZE, mm::ProtFlags::NONE) }?;
        Ok(stack)
    }
}

impl Drop for Stack<'_> {
    fn drop(&mut self) {
        // SAFETY: our own mapping; no thread runs on it any more (a Thread drops its
        // Stack only after the kernel cleared its TID).
        let _ = unsafe { mm::munmap(self.base, STACK_SIZE) };
        self.hooks.stacks(-1);
    }
}

/// A running worker: its stack, the word the kernel clears when it exits and its TID.
/// Dropping it joins the thread (as [`Thread::join`], its error unseen).
pub struct Thread<'a> {
    stack: Stack<'a>,
    tid: &'a AtomicU32,
    id: i32,
    joined: bool,
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
    hooks: Hooks<'a>,
) -> Result<Thread<'a>> {
    let stack = Stack::map(hooks)?;
    tid.store(0, Ordering::Relaxed);
    let flags = CloneFlags::VM
        | CloneFlags::FS
        | CloneFlags::FILES
        | CloneFlags::SIGHAND
        | CloneFlags::THREAD
        | CloneFlags::SYSVSEM
        | CloneFlags::PARENT_SETTID
        | CloneFlags::CHILD_CLEARTID;
    let mut tries = 0;
    loop {
        let want = tids.next;
        let mut args = CloneArgs {
            flags,
            parent_tid: tid.as_ptr() as u64,
            child_tid: tid.as_ptr() as u64,
            stack: stack.base as u64,
            stack_size: STACK_SIZE as u64,
            ..CloneArgs::default()
        };
        if want > 0 {
            args.set_tid = &want as *const i32 as u64;
            args.set_tid_size = 1;
        }
        hooks.clone3()?;
        // SAFETY: the stack is ours and unused; the caller vouches for entry and arg.
        let ret = unsafe { pie_clone3_thread(&args, core::mem::size_of::<CloneArgs>(), entry, arg) };
        match Errno::result(ret as usize) {
            Ok(_) => {
                if want > 0 {
                    tids.next = want.saturating_add(1);
                }
                hooks.threads(1);
                return Ok(Thread {
                    stack,
                    tid,
                    id: ret as i32,
                    joined: false,
                });
            }
            // Someone holds that TID: move on, a bounded number of times.
            Err(Errno::EEXIST) if want > 0 && tries < TID_TRIES => {
                tids.next = want.saturating_add(1);
                tries += 1;
            }
            // No thread runs on the stack: it is unmapped on the way out.
            Err(e) => return Err(e),
        }
    }
}

impl Thread<'_> {
    /// The thread's TID.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// Wait until the thread has exited and left the thread group, then unmap its stack.
    /// `ETIMEDOUT`: it exited (its stack is free) but was still a thread of the group
    /// about a second after; another error: tgkill's, which could not tell.
    pub fn join(mut self) -> Result<()> {
        self.wait()
    }

    fn wait(&mut self) -> Result<()> {
        if self.joined {
            return Ok(());
        }
        self.joined = true;
        loop {
            let t = self.tid.load(Ordering::Acquire);
            if t == 0 {
                break;
            }
            // The kernel's clear-tid wake is a shared futex wake: wait non-private.
            let _ = futex::wait(self.tid, t, None);
        }
        self.stack.hooks.threads(-1);
        // The clear-tid wake comes from the exit's release of the memory map, before the
        // exit is done: the thread stays listed in /proc/self/task and holds its TID until
        // it is reaped. Reaping unhashes its TID and unlinks it from the group at once;
        // signal 0 finds it until then.
        let pid = process::getpid();
        for i in 0..GONE_YIELDS + GONE_NAPS {
            match process::tgkill(pid, self.id, 0) {
                Err(Errno::ESRCH) => return Ok(()),
                // Not told (a filter refuses tgkill): no wait can prove it gone.
                Err(e) => return Err(e),
                _ if i < GONE_YIELDS => {
                    let _ = sched::sched_yield();
                }
                _ => {
                    let _ = nanosleep(&GONE_NAP, None);
                }
            }
        }
        Err(Errno::ETIMEDOUT)
    }
}

impl Drop for Thread<'_> {
    fn drop(&mut self) {
        let _ = self.wait();
        // The kernel cleared the TID after the thread last touched its stack: the Stack
        // field unmaps it next.
    }
}
