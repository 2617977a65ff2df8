//! The x86_64 `syscall` instruction, nothing more.
//!
//! The kernel takes the number in rax and arguments in rdi, rsi, rdx, r10, r8, r9; it
//! returns in rax and clobbers rcx (return address) and r11 (rflags). These functions
//! return the raw kernel value; [`super::Errno::result`] turns it into a `Result`.

use core::arch::asm;

/// Issue syscall `nr` with no arguments.
///
/// # Safety
/// The syscall must be one whose effects on memory and the task the caller accounts for.
#[inline(always)]
pub unsafe fn syscall0(nr: usize) -> usize {
    let ret;
    // SAFETY: the caller vouches for the syscall's effects; the asm touches only the
    // registers declared here.
    unsafe {
        asm!("syscall", inlateout("rax") nr => ret, lateout("rcx") _, lateout("r11") _,
             options(nostack, preserves_flags));
    }
    ret
}

/// Issue syscall `nr` with one argument.
///
/// # Safety
/// See [`syscall0`]; pointer arguments must be valid for what the kernel does with them.
#[inline(always)]
pub unsafe fn syscall1(nr: usize, a1: usize) -> usize {
    let ret;
    // SAFETY: as for syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr => ret, in("rdi") a1,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

/// Issue syscall `nr` with two arguments.
///
/// # Safety
/// See [`syscall1`].
#[inline(always)]
pub unsafe fn syscall2(nr: usize, a1: usize, a2: usize) -> usize {
    let ret;
    // SAFETY: as for syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr => ret, in("rdi") a1, in("rsi") a2,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

/// Issue syscall `nr` with three arguments.
///
/// # Safety
/// See [`syscall1`].
#[inline(always)]
pub unsafe fn syscall3(nr: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let ret;
    // SAFETY: as for syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

/// Issue syscall `nr` with four arguments.
///
/// # Safety
/// See [`syscall1`].
#[inline(always)]
pub unsafe fn syscall4(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> usize {
    let ret;
    // SAFETY: as for syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
             in("r10") a4, lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    ret
}

/// Issue syscall `nr` with five arguments.
///
/// # Safety
/// See [`syscall1`].
#[inline(always)]
pub unsafe fn syscall5(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> usize {
    let ret;
    // SAFETY: as for syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
             in("r10") a4, in("r8") a5, lateout("rcx") _, lateout("r11") _,
             options(nostack, preserves_flags));
    }
    ret
}

/// Issue syscall `nr` with six arguments.
///
/// # Safety
/// See [`syscall1`].
#[inline(always)]
pub unsafe fn syscall6(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> usize {
    let ret;
    // SAFETY: as for syscall0.
    unsafe {
        asm!("syscall", inlateout("rax") nr => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
             in("r10") a4, in("r8") a5, in("r9") a6, lateout("rcx") _, lateout("r11") _,
             options(nostack, preserves_flags));
    }
    ret
}
