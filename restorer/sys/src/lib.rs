//! The no-libc syscall layer of CRIU blobs, and their runtime.
//!
//! Typed wrappers over raw Linux syscalls, one function a syscall, errors as values.
//!
//! Numbers come from the `syscalls` crate; the instruction itself is in `raw` (private
//! to this module). Every wrapper is a thin layer: it takes typed arguments (fds as
//! [`fd::AsFd`], flag sets as `bitflags` types, buffers as slices or
//! [`io_slice::IoSliceMut`]), issues the call and decodes the result with one function a
//! shape (`ret`). Wrappers that can break memory (or fd) safety are `unsafe fn`.
//!
//! Constants and kernel structs' values come from `linux-raw-sys` (generated from the
//! kernel's UAPI headers); the few it lacks are written here and checked against this
//! machine's C headers by `restorer/sys/tests/c_headers.rs`.
//!
//! Families, one module each:
//!
//! | module | syscalls |
//! |---|---|
//! | [`fs`] | fds and file data: open/openat/openat2, close/close_range, dup*, fcntl, flock, pipe2, memfd_create, ioctl, lseek, read/write and their positioned and vectored forms, readahead, fadvise64, fallocate, fsync, vmsplice, cachestat, ppoll |
//! | [`path`] | names and metadata: mkdir(at), rmdir, unlink(at), readlinkat, umask, fstat/newfstatat/statx, name_to_handle_at, open_by_handle_at |
//! | [`mm`] | memory: mmap, munmap, mprotect, mremap, madvise, process_madvise, mincore, brk, SysV shm, map_shadow_stack |
//! | [`process`] | ids, exit, wait4/waitid, kill/tgkill, prctl, personality, namespaces, pidfds, kcmp, seccomp, ptrace |
//! | [`creds`] | uids, gids, groups, fsuid/fsgid, capabilities |
//! | [`sched`] | priorities, scheduling policy, affinity, yield, rlimits |
//! | [`thread`] | clone, clone3, set_tid_address, robust lists, rseq, thread area, arch_prctl, membarrier |
//! | [`futex`] | futex and its wait/wake helpers |
//! | [`signal`] | rt_sigaction, rt_sigprocmask, rt_sigreturn, sigqueueinfo, sigaltstack, restart_syscall |
//! | [`time`] | clocks, nanosleep, itimers, POSIX timers, timerfd |
//! | [`net`] | sockets |
//! | [`mount`] | mount, umount2 and the new mount API |
//! | [`aio`] | Linux native AIO |
//! | [`io_uring`] | io_uring setup, enter, register and its shared structures |
//! | [`notify`] | fanotify, userfaultfd, signalfd |
//! | [`random`] | getrandom |
#![cfg_attr(not(test), no_std)]

// The `std` feature (host tools such as the benches) lends std's fds to the wrappers.
#[cfg(all(feature = "std", not(test)))]
extern crate std;

/// Give plain kernel structs an all-zero constructor and a `Default` built on it.
macro_rules! zeroed_default {
    ($($t:ty),* $(,)?) => {$(
        impl $t {
            /// Every field zero, a valid value of this plain kernel struct.
            #[inline]
            pub const fn zeroed() -> Self {
                // SAFETY: the struct holds only integers, arrays of integers and raw
                // pointers, for all of which all-zero bytes are a valid value.
                unsafe { core::mem::zeroed() }
            }
        }
        impl Default for $t {
            #[inline]
            fn default() -> Self {
                Self::zeroed()
            }
        }
    )*};
}

/// Compile-time checks that a struct matches the kernel's size (and field offsets).
macro_rules! assert_layout {
    ($t:ty, size = $size:expr $(, $field:ident = $off:expr)* $(,)?) => {
        const _: () = assert!(core::mem::size_of::<$t>() == $size);
        $(const _: () = assert!(core::mem::offset_of!($t, $field) == $off);)*
    };
}

pub mod errno;
mod raw;

// Leaves: types and constants shared by several families; they import no family.
pub mod at_flags;
pub mod clone_flags;
pub mod fd;
pub mod io_slice;
pub mod ioctl;
pub mod oflags;
pub mod sigtypes;
pub mod timespec;

mod layout;
mod ret;

pub mod aio;
pub mod creds;
pub mod fs;
pub mod futex;
pub mod io_uring;
pub mod mm;
pub mod mount;
pub mod net;
pub mod notify;
pub mod path;
pub mod process;
pub mod random;
pub mod sched;
pub mod signal;
pub mod thread;
pub mod time;

#[cfg(test)]
mod tests;

pub use errno::{Errno, Result};

/// What a freestanding blob needs besides syscalls: mem builtins and a panic handler.
#[cfg(feature = "blob")]
pub mod rt;

/// A syscall number as the raw layer takes it.
#[inline(always)]
pub(crate) const fn nr(s: syscalls::Sysno) -> usize {
    s as usize
}

/// A C string argument as the raw layer takes it.
#[inline(always)]
pub(crate) fn cstr(s: &core::ffi::CStr) -> usize {
    s.as_ptr() as usize
}

/// An optional C string argument: null when absent.
#[inline(always)]
pub(crate) fn opt_cstr(s: Option<&core::ffi::CStr>) -> usize {
    s.map_or(0, cstr)
}

/// An optional shared reference as a pointer argument: null when absent.
#[inline(always)]
pub(crate) fn opt_ptr<T>(r: Option<&T>) -> usize {
    r.map_or(0, |r| r as *const T as usize)
}

/// An optional exclusive reference as a pointer argument: null when absent.
#[inline(always)]
pub(crate) fn opt_mut<T>(r: Option<&mut T>) -> usize {
    r.map_or(0, |r| r as *mut T as usize)
}
