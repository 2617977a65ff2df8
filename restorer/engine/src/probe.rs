//! What the running kernel offers the engine, and how much of the image is cached.
//! Each probe is cheap and has no lasting effect.

use super::records::{Cursor, Records};
use super::uring::Ring;
use pie_sys::fd::BorrowedFd;
use pie_sys::fs::{self, Cachestat, CachestatRange, IoVec};
use pie_sys::io_uring::{io_uring_register, IoUringProbe, IORING_OP_READV, IORING_REGISTER_PROBE, IO_URING_PROBE_OPS};
use pie_sys::thread::{clone3, CloneArgs};
use pie_sys::{mm, process, signal, Errno};
use vma_io::PAGE_SIZE;

/// Probe results (C: `struct pie_restore_features`): 0 where the feature works, else
/// the negative errno the kernel answered with.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// cachestat(2) (Linux 6.5).
    pub cachestat: i32,
    /// io_uring_setup(2) (Linux 5.1; EPERM where `kernel.io_uring_disabled` forbids it).
    pub io_uring: i32,
    /// IORING_OP_READV reported by IORING_REGISTER_PROBE (Linux 5.6 for the probe).
    pub io_uring_readv: i32,
    /// madvise(MADV_POPULATE_WRITE) (Linux 5.14).
    pub populate_write: i32,
    /// clone3(2) (Linux 5.3).
    pub clone3: i32,
    /// clone3 `set_tid` (Linux 5.5, needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN).
    pub clone3_set_tid: i32,
    /// CPUs this task may run on.
    pub cpus: u32,
}

// `struct pie_restore_features` of include/pie_restore.h (checked against it by
// tests/c_abi.rs).
const _: () = {
    use core::mem::{align_of, offset_of, size_of};
    assert!(size_of::<Features>() == 28 && align_of::<Features>() == 4);
    assert!(offset_of!(Features, cachestat) == 0);
    assert!(offset_of!(Features, io_uring) == 4);
    assert!(offset_of!(Features, io_uring_readv) == 8);
    assert!(offset_of!(Features, populate_write) == 12);
    assert!(offset_of!(Features, clone3) == 16);
    assert!(offset_of!(Features, clone3_set_tid) == 20);
    assert!(offset_of!(Features, cpus) == 24);
};

fn code<T>(r: pie_sys::Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.neg(),
    }
}

/// Probe everything.
pub fn features() -> Features {
    Features {
        cachestat: cachestat(),
        io_uring: 0,
        io_uring_readv: 0,
        populate_write: populate_write(),
        clone3: 0,
        clone3_set_tid: 0,
        cpus: pie_sys::sched::cpus_allowed().unwrap_or(1) as u32,
    }
    .with_uring()
    .with_clone3()
}

impl Features {
    fn with_uring(mut self) -> Features {
        match Ring::new(2) {
            Err(e) => {
                self.io_uring = e.neg();
                self.io_uring_readv = e.neg();
            }
            Ok(ring) => {
                let mut probe = IoUringProbe::default();
                // SAFETY: the kernel fills one probe of IO_URING_PROBE_OPS entries.
                let r = unsafe {
                    io_uring_register(
                        ring.fd(),
                        IORING_REGISTER_PROBE,
                        &mut probe as *mut IoUringProbe as *mut _,
                        IO_URING_PROBE_OPS as u32,
                    )
                };
                self.io_uring_readv = match r {
                    Ok(_) if probe.supports(IORING_OP_READV) => 0,
                    Ok(_) => Errno::EOPNOTSUPP.neg(),
                    // No probe (before 5.6): READV itself dates from 5.1, with the ring.
                    Err(Errno::EINVAL) => 0,
                    Err(e) => e.neg(),
                };
            }
        }
        self
    }

    fn with_clone3(mut self) -> Features {
        self.clone3 = clone3_probe();
        self.clone3_set_tid = if self.clone3 != 0 { self.clone3 } else { set_tid() };
        self
    }
}

/// clone3(2): 0 where it exists, else the negative errno (ENOSYS before 5.3 and under
/// container seccomp profiles that make glibc fall back to clone, EPERM under others).
fn clone3_probe() -> i32 {
    // A zero-sized clone3 is refused with EINVAL where the call exists.
    match pie_sys::thread::clone3_probe() {
        Err(Errno::EINVAL) => 0,
        Err(e) => e.neg(),
        Ok(_) => 0,
    }
}

/// Whether the parallel strategies' worker threads cannot be started at all here.
pub fn threads_refused() -> bool {
    clone3_probe() != 0
}

fn cachestat() -> i32 {
    let mut out = Cachestat::default();
    // An invalid fd tells whether the call exists (EBADF) or not (ENOSYS).
    // SAFETY: -1 is never an open fd; the kernel only answers.
    let invalid = unsafe { BorrowedFd::borrow_raw(-1) };
    match fs::cachestat(invalid, &CachestatRange { off: 0, len: 0 }, &mut out, 0) {
        Err(Errno::EBADF) | Ok(()) => 0,
        Err(e) => e.neg(),
    }
}

fn populate_write() -> i32 {
    // SAFETY: a private page of our own, unmapped below.
    let page = match unsafe {
        mm::mmap(
            core::ptr::null_mut(),
            PAGE_SIZE,
            mm::ProtFlags::READ | mm::ProtFlags::WRITE,
            mm::MapFlags::PRIVATE | mm::MapFlags::ANONYMOUS,
            None,
            0,
        )
    } {
        Ok(p) => p,
        Err(e) => return e.neg(),
    };
    // SAFETY: advice on our own page.
    let r = code(unsafe { mm::madvise(page, PAGE_SIZE, mm::MadviseAdvice::POPULATE_WRITE) });
    // SAFETY: our own page.
    let _ = unsafe { mm::munmap(page, PAGE_SIZE) };
    r
}

/// Ask for TID 1, which always exists: EEXIST means set_tid works (and we may use it),
/// EPERM that we lack the capability, EINVAL that the kernel predates it.
fn set_tid() -> i32 {
    let tid: i32 = 1;
    let args = CloneArgs {
        exit_signal: signal::SIGCHLD as u64,
        set_tid: &tid as *const i32 as u64,
        set_tid_size: 1,
        ..CloneArgs::default()
    };
    // SAFETY: a fork-like clone (no shared memory); if it ever created a child, the
    // child leaves at once and the parent reaps it.
    match unsafe { clone3(&args) } {
        Err(Errno::EEXIST) => 0,
        Err(e) => e.neg(),
        Ok(0) => process::exit_group(0),
        Ok(pid) => {
            let _ = process::wait4(pid, None, process::WaitOptions::empty(), None);
            0
        }
    }
}

/// Fraction of the records' bytes in the page cache, in percent: cachestat(2) over the
/// file where the kernel has it, else a `preadv2(RWF_NOWAIT)` probe of the first page
/// read (100 if it came from the cache, 0 if not).
pub fn cached_percent(fd: BorrowedFd<'_>, records: &Records, bytes: u64) -> u32 {
    if bytes == 0 {
        return 100;
    }
    let mut cs = Cachestat::default();
    if fs::cachestat(fd, &CachestatRange { off: 0, len: 0 }, &mut cs, 0).is_ok() {
        return ((cs.nr_cache.saturating_mul(PAGE_SIZE as u64)).min(bytes) * 100 / bytes) as u32;
    }
    // Probe into the first destination page: the restore overwrites it anyway.
    let Some((base, off)) = records
        .iter_from(Cursor::default())
        .find_map(|r| r.iovs.iter().find(|v| v.len > 0).map(|v| (v.base, r.off)))
    else {
        return 100;
    };
    let iov = [IoVec { base, len: 1 }];
    // SAFETY: the first byte of a destination iovec, which the restore writes anyway.
    match unsafe { fs::preadv2_raw(fd, &iov, off, fs::ReadWriteFlags::NOWAIT) } {
        Ok(_) => 100,
        Err(_) => 0,
    }
}
