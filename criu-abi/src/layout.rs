//! Compile-time checks of the restorer ABI facts the Rust restorer relies on.
//!
//! Offsets are asserted where CRIU's layout is fixed by the C declaration order and the
//! x86-64 ABI in every 4.x tree (the head of each struct, `restore_vma_io`); elsewhere
//! the field's type is asserted, since the restorer reads those fields by name and a
//! field moving within the struct is harmless while one changing type is not. The test
//! `tests/c_layout.rs` compares all of these with what the C compiler says for the tree.

use core::ffi::{c_int, c_uint, c_ulong, c_void};
use core::mem::{align_of, offset_of, size_of};

use crate::raw::{iovec, restore_vma_io, task_entries, task_restore_args, thread_restore_args, timeval, VmaEntry};

/// `struct restore_vma_io`'s header: `int nr_iovs; loff_t off;`, then the iovecs.
pub const VMA_IO_HEADER: usize = 16;
/// One `struct iovec` of a `restore_vma_io` record.
pub const IOVEC: usize = 16;
/// Both argument structs are declared `__aligned(64)` in restorer.h.
pub const ARGS_ALIGN: usize = 64;

const _: () = {
    assert!(offset_of!(restore_vma_io, nr_iovs) == 0);
    assert!(offset_of!(restore_vma_io, off) == 8);
    assert!(offset_of!(restore_vma_io, iovs) == VMA_IO_HEADER);
    assert!(size_of::<restore_vma_io>() == VMA_IO_HEADER);
    assert!(size_of::<iovec>() == IOVEC);
    assert!(offset_of!(iovec, iov_base) == 0 && offset_of!(iovec, iov_len) == 8);
};

const _: () = {
    assert!(align_of::<task_restore_args>() == ARGS_ALIGN);
    assert!(align_of::<thread_restore_args>() == ARGS_ALIGN);
};

// task_restore_args: `struct thread_restore_args *t; int fd_exe_link; int logfd;
// unsigned int loglevel; struct timeval logstart;` open the struct in every 4.x tree.
const _: () = {
    assert!(offset_of!(task_restore_args, t) == 0);
    assert!(offset_of!(task_restore_args, fd_exe_link) == 8);
    assert!(offset_of!(task_restore_args, logfd) == 12);
    assert!(offset_of!(task_restore_args, loglevel) == 16);
    assert!(offset_of!(task_restore_args, logstart) == 24);
    assert!(size_of::<timeval>() == 16);
};

// thread_restore_args: `struct restore_mem_zone *mz; int pid;` open it.
const _: () = {
    assert!(offset_of!(thread_restore_args, mz) == 0);
    assert!(offset_of!(thread_restore_args, pid) == 8);
};

/// Asserts at compile time that `$ty.$field` has type `$t` (no code is generated).
macro_rules! field_type {
    ($ty:ty, $($field:ident: $t:ty),* $(,)?) => {
        $(const _: fn(&$ty) -> &$t = |a| &a.$field;)*
    };
}

// What the log, vma and pages phases read.
field_type!(task_restore_args,
    logfd: c_int,
    loglevel: c_uint,
    uffd: c_int,
    thp_disabled: bool,
    nr_threads: c_int,
    thread_args: *mut thread_restore_args,
    task_entries: *mut task_entries,
    rst_mem: *mut c_void,
    rst_mem_size: c_ulong,
    vmas: *mut VmaEntry,
    vmas_n: c_uint,
    vma_ios_fd: c_int,
    vma_ios: *mut restore_vma_io,
    vma_ios_n: c_uint,
    premmapped_addr: c_ulong,
    premmapped_len: c_ulong,
    bootstrap_start: *mut c_void,
    bootstrap_len: c_ulong,
    task_size: c_ulong,
    auto_dedup: bool,
    compatible_mode: bool,
    can_map_vdso: bool,
    vdso_rt_size: c_ulong,
    vdso_rt_parked_at: c_ulong,
);

field_type!(thread_restore_args,
    pid: c_int,
    ta: *mut task_restore_args,
    clear_tid_addr: u64,
    futex_rla: u64,
    futex_rla_len: u32,
    siginfo_n: c_uint,
    pdeath_sig: c_int,
);

field_type!(restore_vma_io, nr_iovs: c_int, off: i64);

field_type!(VmaEntry, start: u64, end: u64, pgoff: u64, prot: u32, flags: u32, status: u32, fd: i64, madv: u64);
