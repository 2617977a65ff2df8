//! Memory: mappings, protections, advice, residency, the heap break, SysV shared memory
//! and shadow stacks.

use core::ffi::c_void;

use super::io_slice::IoVec;
use super::{int, nr, raw, unit, Errno, Result};
use syscalls::Sysno;

/// The base page size on x86_64.
pub const PAGE_SIZE: usize = 4096;

// Protections.
pub const PROT_NONE: i32 = 0x0;
pub const PROT_READ: i32 = 0x1;
pub const PROT_WRITE: i32 = 0x2;
pub const PROT_EXEC: i32 = 0x4;
pub const PROT_GROWSDOWN: i32 = 0x0100_0000;
pub const PROT_GROWSUP: i32 = 0x0200_0000;

// Mapping flags (x86_64 values).
pub const MAP_SHARED: i32 = 0x01;
pub const MAP_PRIVATE: i32 = 0x02;
pub const MAP_SHARED_VALIDATE: i32 = 0x03;
pub const MAP_TYPE: i32 = 0x0f;
pub const MAP_FIXED: i32 = 0x10;
pub const MAP_ANONYMOUS: i32 = 0x20;
pub const MAP_32BIT: i32 = 0x40;
pub const MAP_GROWSDOWN: i32 = 0x0100;
pub const MAP_DENYWRITE: i32 = 0x0800;
pub const MAP_EXECUTABLE: i32 = 0x1000;
pub const MAP_LOCKED: i32 = 0x2000;
pub const MAP_NORESERVE: i32 = 0x4000;
pub const MAP_POPULATE: i32 = 0x8000;
pub const MAP_NONBLOCK: i32 = 0x10000;
pub const MAP_STACK: i32 = 0x20000;
pub const MAP_HUGETLB: i32 = 0x40000;
pub const MAP_SYNC: i32 = 0x80000;
pub const MAP_FIXED_NOREPLACE: i32 = 0x100000;
pub const MAP_UNINITIALIZED: i32 = 0x4000000;

// `mremap` flags.
pub const MREMAP_MAYMOVE: i32 = 1;
pub const MREMAP_FIXED: i32 = 2;
pub const MREMAP_DONTUNMAP: i32 = 4;

// `madvise` advice.
pub const MADV_NORMAL: i32 = 0;
pub const MADV_RANDOM: i32 = 1;
pub const MADV_SEQUENTIAL: i32 = 2;
pub const MADV_WILLNEED: i32 = 3;
pub const MADV_DONTNEED: i32 = 4;
pub const MADV_FREE: i32 = 8;
pub const MADV_REMOVE: i32 = 9;
pub const MADV_DONTFORK: i32 = 10;
pub const MADV_DOFORK: i32 = 11;
pub const MADV_MERGEABLE: i32 = 12;
pub const MADV_UNMERGEABLE: i32 = 13;
pub const MADV_HUGEPAGE: i32 = 14;
pub const MADV_NOHUGEPAGE: i32 = 15;
pub const MADV_DONTDUMP: i32 = 16;
pub const MADV_DODUMP: i32 = 17;
pub const MADV_WIPEONFORK: i32 = 18;
pub const MADV_KEEPONFORK: i32 = 19;
pub const MADV_COLD: i32 = 20;
pub const MADV_PAGEOUT: i32 = 21;
pub const MADV_POPULATE_READ: i32 = 22;
pub const MADV_POPULATE_WRITE: i32 = 23;
pub const MADV_DONTNEED_LOCKED: i32 = 24;
pub const MADV_COLLAPSE: i32 = 25;
pub const MADV_HWPOISON: i32 = 100;
pub const MADV_SOFT_OFFLINE: i32 = 101;
pub const MADV_GUARD_INSTALL: i32 = 102;
pub const MADV_GUARD_REMOVE: i32 = 103;

// SysV IPC.
pub const IPC_PRIVATE: i32 = 0;
pub const IPC_CREAT: i32 = 0o1000;
pub const IPC_EXCL: i32 = 0o2000;
pub const IPC_NOWAIT: i32 = 0o4000;
pub const IPC_RMID: i32 = 0;
pub const IPC_SET: i32 = 1;
pub const IPC_STAT: i32 = 2;
pub const SHM_RDONLY: i32 = 0o10000;
pub const SHM_RND: i32 = 0o20000;
pub const SHM_REMAP: i32 = 0o40000;
pub const SHM_EXEC: i32 = 0o100000;

/// `map_shadow_stack` flag: put a restore token at the top of the new stack.
pub const SHADOW_STACK_SET_TOKEN: u32 = 1 << 0;
/// `map_shadow_stack` flag: put an end marker at the top of the new stack.
pub const SHADOW_STACK_SET_MARKER: u32 = 1 << 1;

/// `mmap(2)`: map `len` bytes of `fd` at `offset` (or anonymous memory) with `prot`;
/// `addr` is a hint, or the exact place with `MAP_FIXED*`. Returns the mapping's start.
///
/// # Safety
/// With `MAP_FIXED` the new mapping silently replaces whatever was at `addr`, which must
/// not be memory the program still uses. Without it the call creates fresh memory and
/// is harmless.
#[inline]
pub unsafe fn mmap(addr: *mut u8, len: usize, prot: i32, flags: i32, fd: i32, offset: i64) -> Result<*mut u8> {
    // SAFETY: the caller vouches for the target range.
    Errno::result(unsafe {
        raw::syscall6(
            nr(Sysno::mmap),
            addr as usize,
            len,
            prot as usize,
            flags as usize,
            fd as usize,
            offset as usize,
        )
    })
    .map(|a| a as *mut u8)
}

/// `munmap(2)`: remove the mappings of the pages in `addr..addr + len`.
///
/// # Safety
/// Nothing may use the range afterwards.
#[inline]
pub unsafe fn munmap(addr: *mut u8, len: usize) -> Result<()> {
    // SAFETY: the caller vouches that the range is no longer used.
    unit(unsafe { raw::syscall2(nr(Sysno::munmap), addr as usize, len) })
}

/// `mprotect(2)`: set the protection of the pages in `addr..addr + len`.
///
/// # Safety
/// Removing access from memory the program still uses makes it fault; making memory
/// executable executes whatever it holds.
#[inline]
pub unsafe fn mprotect(addr: *mut u8, len: usize, prot: i32) -> Result<()> {
    // SAFETY: the caller vouches for the range.
    unit(unsafe { raw::syscall3(nr(Sysno::mprotect), addr as usize, len, prot as usize) })
}

/// `mremap(2)`: grow, shrink or move the mapping at `old`; `new_addr` is used with
/// `MREMAP_FIXED`. Returns the mapping's (possibly new) start.
///
/// # Safety
/// The old range may move or shrink away, and with `MREMAP_FIXED` whatever was at
/// `new_addr` is replaced: the caller must own all of it.
#[inline]
pub unsafe fn mremap(old: *mut u8, old_len: usize, new_len: usize, flags: i32, new_addr: *mut u8) -> Result<*mut u8> {
    // SAFETY: the caller vouches for both ranges.
    Errno::result(unsafe {
        raw::syscall5(
            nr(Sysno::mremap),
            old as usize,
            old_len,
            new_len,
            flags as usize,
            new_addr as usize,
        )
    })
    .map(|a| a as *mut u8)
}

/// `madvise(2)`: give `advice` (`MADV_*`) about `addr..addr + len`.
///
/// # Safety
/// Some advice changes contents: `MADV_DONTNEED`/`MADV_FREE`/`MADV_REMOVE` discard them,
/// `MADV_WIPEONFORK` zeroes them in children, `MADV_GUARD_INSTALL` makes them fault. The
/// caller must own the range for those.
#[inline]
pub unsafe fn madvise(addr: *mut u8, len: usize, advice: i32) -> Result<()> {
    // SAFETY: the caller vouches for the range and advice.
    unit(unsafe { raw::syscall3(nr(Sysno::madvise), addr as usize, len, advice as usize) })
}

/// `process_madvise(2)`: give `advice` about the ranges `iov` of the process `pidfd`
/// refers to; returns the bytes advised. The kernel takes only non-destructive advice
/// (`MADV_COLD`, `MADV_PAGEOUT`, `MADV_WILLNEED`, `MADV_COLLAPSE`).
///
/// # Safety
/// The iovecs name address ranges of the target, not memory of the caller; when the
/// target is the caller itself the same rules as for [`madvise`] apply to each range.
#[inline]
pub unsafe fn process_madvise(pidfd: i32, iov: &[IoVec], advice: i32, flags: u32) -> Result<usize> {
    // SAFETY: the kernel reads the iovec array; the caller vouches for the ranges.
    Errno::result(unsafe {
        raw::syscall5(
            nr(Sysno::process_madvise),
            pidfd as usize,
            iov.as_ptr() as usize,
            iov.len(),
            advice as usize,
            flags as usize,
        )
    })
}

/// `mincore(2)`: one byte a page of `addr..addr + len` (page aligned) into `vec`, bit 0
/// set when the page is resident. `ENOMEM` when part of the range is unmapped; `EINVAL`
/// (without a call) when `vec` is too short.
#[inline]
pub fn mincore(addr: *const u8, len: usize, vec: &mut [u8]) -> Result<()> {
    if vec.len() < len.div_ceil(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: the kernel reads page tables only and writes one byte a page of the range,
    // which fits in `vec` as just checked.
    unit(unsafe { raw::syscall3(nr(Sysno::mincore), addr as usize, len, vec.as_mut_ptr() as usize) })
}

/// `brk(2)`: move the program break to `addr`; returns the new break (the old one when
/// the move failed; `brk(0)` queries).
///
/// # Safety
/// Lowering the break unmaps heap memory that must no longer be in use; the C library's
/// allocator, if any, keeps its own idea of the break.
#[inline]
pub unsafe fn brk(addr: usize) -> usize {
    // SAFETY: the caller vouches for the heap range given up.
    unsafe { raw::syscall1(nr(Sysno::brk), addr) }
}

/// `shmget(2)`: the id of the SysV shared memory segment for `key` (create with
/// `IPC_CREAT`), `size` bytes.
#[inline]
pub fn shmget(key: i32, size: usize, flags: i32) -> Result<i32> {
    // SAFETY: shmget touches no user memory.
    int(unsafe { raw::syscall3(nr(Sysno::shmget), key as usize, size, flags as usize) })
}

/// `shmat(2)`: attach segment `shmid` at `addr` (null: anywhere); returns its address.
///
/// # Safety
/// With `SHM_REMAP` and an address, existing mappings there are replaced.
#[inline]
pub unsafe fn shmat(shmid: i32, addr: *mut u8, flags: i32) -> Result<*mut u8> {
    // SAFETY: the caller vouches for the target range.
    Errno::result(unsafe { raw::syscall3(nr(Sysno::shmat), shmid as usize, addr as usize, flags as usize) })
        .map(|a| a as *mut u8)
}

/// `shmdt(2)`: detach the segment attached at `addr`.
///
/// # Safety
/// Nothing may use the attachment afterwards.
#[inline]
pub unsafe fn shmdt(addr: *mut u8) -> Result<()> {
    // SAFETY: the caller vouches that the attachment is no longer used.
    unit(unsafe { raw::syscall1(nr(Sysno::shmdt), addr as usize) })
}

/// `shmctl(2)`: control operation `cmd` (`IPC_RMID`, `IPC_STAT`, ...) on segment `shmid`.
///
/// # Safety
/// `buf` must be null or point to a `struct shmid_ds` valid for what `cmd` reads/writes.
#[inline]
pub unsafe fn shmctl(shmid: i32, cmd: i32, buf: *mut c_void) -> Result<i32> {
    // SAFETY: the caller vouches for buf.
    int(unsafe { raw::syscall3(nr(Sysno::shmctl), shmid as usize, cmd as usize, buf as usize) })
}

/// `map_shadow_stack(2)`: map a new `size`-byte shadow stack (at `addr`, which must be
/// free, or anywhere when 0). `EOPNOTSUPP` when the CPU or kernel has no user shadow
/// stacks.
#[inline]
pub fn map_shadow_stack(addr: usize, size: usize, flags: u32) -> Result<*mut u8> {
    // SAFETY: the kernel maps fresh memory and never replaces an existing mapping.
    Errno::result(unsafe { raw::syscall3(nr(Sysno::map_shadow_stack), addr, size, flags as usize) })
        .map(|a| a as *mut u8)
}
