//! Process and thread lifetime: ids, exit.

use super::{nr, raw, Errno, Result};
use syscalls::Sysno;

/// `getpid(2)`: the thread group id of the caller.
#[inline]
pub fn getpid() -> i32 {
    // SAFETY: getpid has no arguments and no side effects.
    unsafe { raw::syscall0(nr(Sysno::getpid)) as i32 }
}

/// `gettid(2)`: the thread id of the caller.
#[inline]
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and no side effects.
    unsafe { raw::syscall0(nr(Sysno::gettid)) as i32 }
}

/// `exit_group(2)`: end every thread of the task with `code`.
#[inline]
pub fn exit_group(code: i32) -> ! {
    // SAFETY: ends the task; nothing after it runs.
    unsafe { raw::syscall1(nr(Sysno::exit_group), code as usize) };
    // exit_group cannot return; trap if a broken kernel ever did.
    loop {
        // SAFETY: ud2 only raises SIGILL.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
    }
}

#[allow(dead_code)]
fn _unused(_: Result<()>, _: Errno) {}
