//! The engine as a C function, for CRIU's C restorer linked into the same PIE
//! (declared in `include/pie_restore.h`).

use super::abi::{Options, Outcome};
use super::records::Records;
use pie_sys::fd::BorrowedFd;

/// Restore the pages of `n` packed `restore_vma_io` records at `ios` from `fd`.
///
/// Returns 0, or a negative errno with `res.record`/`res.offset` naming the failure.
/// `res` may be null. A record whose `nr_iovs` is outside 1 to `IOV_MAX` is `-EINVAL`
/// naming it, before anything is read.
///
/// # Safety
/// `fd` stays open for the call; `ios` holds `n` records, each header followed by its
/// iovecs (the area's length is taken from the headers: CRIU passes none), whose iovecs
/// name writable memory; `opts` points to an initialised [`Options`]; `res`, if not null,
/// is writable.
#[no_mangle]
pub unsafe extern "C" fn pie_restore_vma_ios(
    fd: i32,
    ios: *const u8,
    n: u32,
    opts: *const Options,
    res: *mut Outcome,
) -> i64 {
    if opts.is_null() {
        return pie_sys::Errno::EINVAL.neg() as i64;
    }
    // The C API has no byte length (CRIU's restorer gets none): it comes from the headers.
    // SAFETY: the caller's contract.
    let (records, opts, fd) = unsafe { (Records::from_count(ios, n as usize), &*opts, BorrowedFd::borrow_raw(fd)) };
    let (result, outcome) = super::restore(fd, &records, opts);
    if !res.is_null() {
        // SAFETY: the caller's contract.
        unsafe { res.write(outcome) };
    }
    match result {
        Ok(()) => 0,
        Err(f) => f.errno.neg() as i64,
    }
}
