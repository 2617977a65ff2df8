//! Randomness from the kernel.

use super::ret::ret_usize;
use super::{nr, raw, Result};
use syscalls::Sysno;

/// `getrandom` flag: fail with `EAGAIN` rather than block before the pool is ready.
pub const GRND_NONBLOCK: u32 = linux_raw_sys::general::GRND_NONBLOCK;
/// `getrandom` flag: draw from the (legacy) blocking pool.
pub const GRND_RANDOM: u32 = linux_raw_sys::general::GRND_RANDOM;
/// `getrandom` flag: never block, even before the pool is ready.
pub const GRND_INSECURE: u32 = linux_raw_sys::general::GRND_INSECURE;

/// `getrandom(2)`: fill `buf` with random bytes; returns how many were written (may be
/// fewer than asked for requests over 256 bytes interrupted by a signal).
#[inline]
pub fn getrandom(buf: &mut [u8], flags: u32) -> Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into buf.
    ret_usize(unsafe {
        raw::syscall3(
            nr(Sysno::getrandom),
            buf.as_mut_ptr() as usize,
            buf.len(),
            flags as usize,
        )
    })
}
