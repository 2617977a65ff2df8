//! Typed wrappers over raw Linux syscalls, one function a syscall, errors as values.
//!
//! Numbers come from the `syscalls` crate; the instruction itself is in [`raw`]. Every
//! wrapper is a thin layer: it converts arguments, issues the call and maps the result
//! through [`Errno::result`]. Wrappers that can break memory safety are `unsafe fn`.

pub mod errno;
pub mod raw;

pub mod fs;
pub mod process;

pub use errno::{Errno, Result};

/// A syscall number as the raw layer takes it.
#[inline(always)]
pub(crate) const fn nr(s: syscalls::Sysno) -> usize {
    s as usize
}
