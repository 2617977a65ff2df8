//! Argument and result conversions, one function a shape (as rustix's `conv`): every
//! wrapper decodes the kernel's return through one of these.

use super::errno::{Errno, Result};
use super::fd::{AsFd, OwnedFd};

/// A return whose value carries no information.
#[inline(always)]
pub(crate) fn ret_unit(raw: usize) -> Result<()> {
    Errno::result(raw).map(|_| ())
}

/// A return that is a count or an address.
#[inline(always)]
pub(crate) fn ret_usize(raw: usize) -> Result<usize> {
    Errno::result(raw)
}

/// A return that is a C `int` (a pid, a flag word, a count).
#[inline(always)]
pub(crate) fn ret_c_int(raw: usize) -> Result<i32> {
    Errno::result(raw).map(|v| v as i32)
}

/// A return that is a new file descriptor, owned by the caller from now on.
///
/// Only for calls whose success value is an fd nothing else owns.
#[inline(always)]
pub(crate) fn ret_owned_fd(raw: usize) -> Result<OwnedFd> {
    // SAFETY: the callers pass returns of calls that create an fd for the caller alone.
    Errno::result(raw).map(|v| unsafe { OwnedFd::from_raw_fd(v as i32) })
}

/// An fd argument as the raw layer takes it (sign-extended, as the kernel's `int`).
#[inline(always)]
pub(crate) fn fd_arg(fd: &impl AsFd) -> usize {
    fd.as_fd().as_raw_fd() as usize
}
