//! The blob's exported entry points and the symbols compel's generated header names.
//!
//! Entry points are `extern "C"` functions named `__export_*`, so `compel hgen` (and
//! `compel-gen hgen`) emit their offsets as `<prefix>_sym__export_*`. The three parasite
//! symbols make the generated header's setup function link. This module belongs to the
//! standalone blob only: the object linked into CRIU's restorer leaves it out, since
//! compel's std plugin defines those symbols there.

use core::arch::global_asm;
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use crate::abi::{Options, Outcome};
use crate::capi::pie_restore_vma_ios;
use crate::probe::Features;
use crate::read_all::{read_all, Short, Stop};
use pie_sys::fd::BorrowedFd;
use pie_sys::{fs, process, Errno};

/// First command number free for the blob's own use (compel's `PARASITE_USER_CMDS`).
pub const CMD_USER_BASE: u32 = 64;
/// Service command: return the task's PID.
pub const CMD_GETPID: u32 = CMD_USER_BASE;
/// Service command: [`__export_blob_read_range`] with the args pointer.
pub const CMD_READ_RANGE: u32 = CMD_USER_BASE + 1;
/// Service command: [`__export_restore_vma_ios`] with the args pointer.
pub const CMD_RESTORE_VMA_IOS: u32 = CMD_USER_BASE + 2;
/// Service command: [`__export_restore_features`] with the args pointer.
pub const CMD_FEATURES: u32 = CMD_USER_BASE + 3;

/// Command for the trap-mode entry, written by the loader (compel's `cmd_off`).
#[no_mangle]
pub static __export_parasite_service_cmd: AtomicU32 = AtomicU32::new(0);
/// Argument area pointer for the trap-mode entry (compel's `args_ptr_off`).
#[no_mangle]
pub static __export_parasite_service_args_ptr: AtomicPtr<u8> = AtomicPtr::new(core::ptr::null_mut());

// The head must be first in the blob (`.head.text`, placed first by the linker script).
// It aligns the stack, runs the requested command and stops at int3 with the result in
// rax, which is how compel runs a blob in trap mode.
global_asm!(
    ".pushsection .head.text, \"ax\", @progbits",
    ".globl __export_parasite_head_start",
    ".type __export_parasite_head_start, @function",
    "__export_parasite_head_start:",
    "and rsp, -16",
    "call {service}",
    "int3",
    ".size __export_parasite_head_start, . - __export_parasite_head_start",
    ".popsection",
    service = sym blob_service,
);

/// Dispatch the command left in `__export_parasite_service_cmd`.
extern "C" fn blob_service() -> i64 {
    let cmd = __export_parasite_service_cmd.load(Ordering::Relaxed);
    let args = __export_parasite_service_args_ptr.load(Ordering::Relaxed);
    match cmd {
        CMD_GETPID => __export_blob_getpid(),
        // SAFETY: the loader that chose this command put a ReadRangeArgs at `args`.
        CMD_READ_RANGE => unsafe { __export_blob_read_range(args as *const ReadRangeArgs) },
        // SAFETY: as above, a RestoreArgs.
        CMD_RESTORE_VMA_IOS => unsafe { __export_restore_vma_ios(args as *mut RestoreArgs) },
        // SAFETY: as above, a Features to fill.
        CMD_FEATURES => unsafe { __export_restore_features(args as *mut Features) },
        _ => Errno::EINVAL.neg() as i64,
    }
}

/// Entry: the PID of the task the blob runs in.
#[no_mangle]
pub extern "C" fn __export_blob_getpid() -> i64 {
    process::getpid() as i64
}

/// Arguments of [`__export_blob_read_range`] (C layout).
#[repr(C)]
pub struct ReadRangeArgs {
    pub fd: i32,
    pub offset: i64,
    pub buf: *mut u8,
    pub len: u64,
}

// The layout tests/harness/blob_loader.c passes (`struct read_range_args`).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<ReadRangeArgs>() == 32 && align_of::<ReadRangeArgs>() == 8);
    assert!(offset_of!(ReadRangeArgs, fd) == 0);
    assert!(offset_of!(ReadRangeArgs, offset) == 8);
    assert!(offset_of!(ReadRangeArgs, buf) == 16);
    assert!(offset_of!(ReadRangeArgs, len) == 24);
};

/// Entry: `readahead` then `preadv` `len` bytes of `fd` at `offset` into `buf`, retrying
/// short reads and EINTR. Returns the bytes read (less only at end of file) or `-errno`.
///
/// # Safety
/// `args` points to a valid [`ReadRangeArgs`] whose buffer is writable for `len` bytes and
/// whose fd stays open for the call.
#[no_mangle]
pub unsafe extern "C" fn __export_blob_read_range(args: *const ReadRangeArgs) -> i64 {
    // SAFETY: the caller passes a valid args pointer.
    let a = unsafe { &*args };
    // SAFETY: the caller keeps the fd open for the call.
    let fd = unsafe { BorrowedFd::borrow_raw(a.fd) };
    let len = a.len as usize;
    if let Err(e) = fs::readahead(fd, a.offset, len) {
        return e.neg() as i64;
    }
    let mut iov = [fs::IoVec { base: a.buf, len }];
    let read = |iov: &[fs::IoVec], off: i64| {
        // SAFETY: the iovec lies in the caller's writable buffer.
        unsafe { fs::preadv_raw(fd, iov, off) }
    };
    match read_all(&mut iov, a.offset, read, |_| false) {
        Ok(done) => done as i64,
        Err(Short {
            why: Stop::Eof, done, ..
        }) => done as i64,
        Err(Short {
            why: Stop::Failed(e), ..
        }) => e.neg() as i64,
    }
}

/// Arguments of [`__export_restore_vma_ios`] (C layout): the engine's inputs and its
/// result, in one block a loader can fill.
#[repr(C)]
pub struct RestoreArgs {
    pub fd: i32,
    pub nr_ios: u32,
    pub ios: *const u8,
    pub opts: Options,
    pub result: Outcome,
}

// The layout tests/harness/blob_loader.c passes (`struct restore_args`, whose `opts` and
// `result` are include/pie_restore.h's structs).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<RestoreArgs>() == 88 && align_of::<RestoreArgs>() == 8);
    assert!(offset_of!(RestoreArgs, fd) == 0);
    assert!(offset_of!(RestoreArgs, nr_ios) == 4);
    assert!(offset_of!(RestoreArgs, ios) == 8);
    assert!(offset_of!(RestoreArgs, opts) == 16);
    assert!(offset_of!(RestoreArgs, result) == 56);
};

/// Entry: the page-restore engine ([`crate::restore`]) on CRIU's records.
/// Returns 0 or `-errno`; `args.result` says what ran and, on error, where it failed.
///
/// # Safety
/// `args` points to a valid [`RestoreArgs`]; see [`pie_restore_vma_ios`].
#[no_mangle]
pub unsafe extern "C" fn __export_restore_vma_ios(args: *mut RestoreArgs) -> i64 {
    // SAFETY: the caller passes a valid, exclusive args block.
    let a = unsafe { &mut *args };
    // SAFETY: forwarded from the caller's contract.
    unsafe { pie_restore_vma_ios(a.fd, a.ios, a.nr_ios, &a.opts, &mut a.result) }
}

/// Entry: what the running kernel offers the engine ([`crate::probe::features`]).
///
/// # Safety
/// `out` points to writable memory for one [`Features`].
#[no_mangle]
pub unsafe extern "C" fn __export_restore_features(out: *mut Features) -> i64 {
    // SAFETY: the caller's contract.
    unsafe { out.write(crate::probe::features()) };
    0
}
