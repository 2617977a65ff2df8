//! Futexes: the raw call and the wait/wake operations on an `AtomicU32`
//! ([`wait`], [`wake`], [`wait_private`], [`wake_private`]).

use core::sync::atomic::AtomicU32;

use super::ret::ret_usize;
use super::timespec::Timespec;
use super::{nr, opt_ptr, raw, Result};
use syscalls::Sysno;

// Operations.
pub const FUTEX_WAIT: i32 = linux_raw_sys::general::FUTEX_WAIT as i32;
pub const FUTEX_WAKE: i32 = linux_raw_sys::general::FUTEX_WAKE as i32;
pub const FUTEX_FD: i32 = linux_raw_sys::general::FUTEX_FD as i32;
pub const FUTEX_REQUEUE: i32 = linux_raw_sys::general::FUTEX_REQUEUE as i32;
pub const FUTEX_CMP_REQUEUE: i32 = linux_raw_sys::general::FUTEX_CMP_REQUEUE as i32;
pub const FUTEX_WAKE_OP: i32 = linux_raw_sys::general::FUTEX_WAKE_OP as i32;
pub const FUTEX_LOCK_PI: i32 = linux_raw_sys::general::FUTEX_LOCK_PI as i32;
pub const FUTEX_UNLOCK_PI: i32 = linux_raw_sys::general::FUTEX_UNLOCK_PI as i32;
pub const FUTEX_TRYLOCK_PI: i32 = linux_raw_sys::general::FUTEX_TRYLOCK_PI as i32;
pub const FUTEX_WAIT_BITSET: i32 = linux_raw_sys::general::FUTEX_WAIT_BITSET as i32;
pub const FUTEX_WAKE_BITSET: i32 = linux_raw_sys::general::FUTEX_WAKE_BITSET as i32;
pub const FUTEX_WAIT_REQUEUE_PI: i32 = linux_raw_sys::general::FUTEX_WAIT_REQUEUE_PI as i32;
pub const FUTEX_CMP_REQUEUE_PI: i32 = linux_raw_sys::general::FUTEX_CMP_REQUEUE_PI as i32;
pub const FUTEX_LOCK_PI2: i32 = linux_raw_sys::general::FUTEX_LOCK_PI2 as i32;
/// Operation flag: the futex is private to this process (cheaper).
pub const FUTEX_PRIVATE_FLAG: i32 = linux_raw_sys::general::FUTEX_PRIVATE_FLAG as i32;
/// Operation flag: timeouts of `WAIT_BITSET`/`WAIT_REQUEUE_PI` are on CLOCK_REALTIME.
pub const FUTEX_CLOCK_REALTIME: i32 = linux_raw_sys::general::FUTEX_CLOCK_REALTIME as i32;
pub const FUTEX_WAIT_PRIVATE: i32 = FUTEX_WAIT | FUTEX_PRIVATE_FLAG;
pub const FUTEX_WAKE_PRIVATE: i32 = FUTEX_WAKE | FUTEX_PRIVATE_FLAG;
pub const FUTEX_WAIT_BITSET_PRIVATE: i32 = FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG;
pub const FUTEX_WAKE_BITSET_PRIVATE: i32 = FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG;
/// Bitset matching every waiter.
pub const FUTEX_BITSET_MATCH_ANY: u32 = linux_raw_sys::general::FUTEX_BITSET_MATCH_ANY;
// PI and robust futex word bits.
pub const FUTEX_WAITERS: u32 = linux_raw_sys::general::FUTEX_WAITERS;
pub const FUTEX_OWNER_DIED: u32 = linux_raw_sys::general::FUTEX_OWNER_DIED;
pub const FUTEX_TID_MASK: u32 = linux_raw_sys::general::FUTEX_TID_MASK;

/// `futex(2)`: operation `op` on the word at `uaddr`; the meaning of `val`, `timeout`
/// (a pointer, or a count for requeue operations), `uaddr2` and `val3` depends on `op`.
///
/// # Safety
/// `uaddr` (and `uaddr2` where `op` uses it) must point to aligned `u32` words that stay
/// valid during the call; `timeout` must be null, a valid `Timespec`, or the integer that
/// `op` expects there.
#[inline]
pub unsafe fn futex(
    uaddr: *const u32,
    op: i32,
    val: u32,
    timeout: usize,
    uaddr2: *const u32,
    val3: u32,
) -> Result<usize> {
    // SAFETY: the caller vouches for the words and the timeout.
    ret_usize(unsafe {
        raw::syscall6(
            nr(Sysno::futex),
            uaddr as usize,
            op as usize,
            val as usize,
            timeout,
            uaddr2 as usize,
            val3 as usize,
        )
    })
}

#[inline]
fn wait_op(word: &AtomicU32, op: i32, expected: u32, timeout: Option<&Timespec>) -> Result<()> {
    // SAFETY: the word is a live, aligned AtomicU32; FUTEX_WAIT only reads it (atomically)
    // and reads the relative timeout.
    unsafe { futex(word.as_ptr(), op, expected, opt_ptr(timeout), core::ptr::null(), 0) }.map(|_| ())
}

#[inline]
fn wake_op(word: &AtomicU32, op: i32, count: u32) -> Result<usize> {
    // SAFETY: the word is a live, aligned AtomicU32; FUTEX_WAKE does not access it.
    unsafe { futex(word.as_ptr(), op, count, 0, core::ptr::null(), 0) }
}

/// `FUTEX_WAIT`: sleep while `*word == expected`, up to the relative `timeout` (`None`:
/// forever). `EAGAIN` when the value differed, `ETIMEDOUT`, `EINTR`; `Ok` on a wake
/// (which may be spurious: re-check the word).
#[inline]
pub fn wait(word: &AtomicU32, expected: u32, timeout: Option<&Timespec>) -> Result<()> {
    wait_op(word, FUTEX_WAIT, expected, timeout)
}

/// [`wait`] for a word only this process uses (`FUTEX_WAIT_PRIVATE`). The kernel's
/// clear-child-tid wake is a shared wake: wait on such a word with [`wait`].
#[inline]
pub fn wait_private(word: &AtomicU32, expected: u32, timeout: Option<&Timespec>) -> Result<()> {
    wait_op(word, FUTEX_WAIT_PRIVATE, expected, timeout)
}

/// `FUTEX_WAKE`: wake up to `count` waiters of `word`; returns how many were woken.
#[inline]
pub fn wake(word: &AtomicU32, count: u32) -> Result<usize> {
    wake_op(word, FUTEX_WAKE, count)
}

/// [`wake`] for a word only this process uses (`FUTEX_WAKE_PRIVATE`).
#[inline]
pub fn wake_private(word: &AtomicU32, count: u32) -> Result<usize> {
    wake_op(word, FUTEX_WAKE_PRIVATE, count)
}
