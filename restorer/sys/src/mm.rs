//! Memory: mappings, protections, advice, residency, the heap break, SysV shared memory
//! and shadow stacks.

use core::ffi::c_void;

use super::fd::{AsFd, BorrowedFd};
use super::io_slice::IoVec;
use super::ret::{fd_arg, ret_c_int, ret_unit, ret_usize};
use super::{nr, raw, Errno, Result};
use syscalls::Sysno;

/// The base page size on x86_64: of the images' pages and of the restored task.
pub const PAGE_SIZE: usize = 4096;

bitflags::bitflags! {
    /// `PROT_*`: what a mapping's pages allow.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct ProtFlags: u32 {
        const NONE = linux_raw_sys::general::PROT_NONE;
        const READ = linux_raw_sys::general::PROT_READ;
        const WRITE = linux_raw_sys::general::PROT_WRITE;
        const EXEC = linux_raw_sys::general::PROT_EXEC;
        const GROWSDOWN = linux_raw_sys::general::PROT_GROWSDOWN;
        const GROWSUP = linux_raw_sys::general::PROT_GROWSUP;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// `MAP_*`: the kind of a mapping and how `mmap` places it.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MapFlags: u32 {
        const SHARED = linux_raw_sys::general::MAP_SHARED;
        const PRIVATE = linux_raw_sys::general::MAP_PRIVATE;
        const SHARED_VALIDATE = linux_raw_sys::general::MAP_SHARED_VALIDATE;
        const TYPE = linux_raw_sys::general::MAP_TYPE;
        const FIXED = linux_raw_sys::general::MAP_FIXED;
        const ANONYMOUS = linux_raw_sys::general::MAP_ANONYMOUS;
        const _32BIT = linux_raw_sys::general::MAP_32BIT;
        const GROWSDOWN = linux_raw_sys::general::MAP_GROWSDOWN;
        const DENYWRITE = linux_raw_sys::general::MAP_DENYWRITE;
        const EXECUTABLE = linux_raw_sys::general::MAP_EXECUTABLE;
        const LOCKED = linux_raw_sys::general::MAP_LOCKED;
        const NORESERVE = linux_raw_sys::general::MAP_NORESERVE;
        const POPULATE = linux_raw_sys::general::MAP_POPULATE;
        const NONBLOCK = linux_raw_sys::general::MAP_NONBLOCK;
        const STACK = linux_raw_sys::general::MAP_STACK;
        const HUGETLB = linux_raw_sys::general::MAP_HUGETLB;
        const SYNC = linux_raw_sys::general::MAP_SYNC;
        const FIXED_NOREPLACE = linux_raw_sys::general::MAP_FIXED_NOREPLACE;
        const UNINITIALIZED = linux_raw_sys::general::MAP_UNINITIALIZED;
        const _ = !0;
    }
}

bitflags::bitflags! {
    /// `MREMAP_*`: whether `mremap` may move the mapping, and where.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MremapFlags: u32 {
        const MAYMOVE = linux_raw_sys::general::MREMAP_MAYMOVE;
        const FIXED = linux_raw_sys::general::MREMAP_FIXED;
        const DONTUNMAP = linux_raw_sys::general::MREMAP_DONTUNMAP;
        const _ = !0;
    }
}

/// `MADV_*`: one piece of advice for `madvise`/`process_madvise` (a value, not a set).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MadviseAdvice(u32);

impl MadviseAdvice {
    pub const NORMAL: Self = Self(linux_raw_sys::general::MADV_NORMAL);
    pub const RANDOM: Self = Self(linux_raw_sys::general::MADV_RANDOM);
    pub const SEQUENTIAL: Self = Self(linux_raw_sys::general::MADV_SEQUENTIAL);
    pub const WILLNEED: Self = Self(linux_raw_sys::general::MADV_WILLNEED);
    pub const DONTNEED: Self = Self(linux_raw_sys::general::MADV_DONTNEED);
    pub const FREE: Self = Self(linux_raw_sys::general::MADV_FREE);
    pub const REMOVE: Self = Self(linux_raw_sys::general::MADV_REMOVE);
    pub const DONTFORK: Self = Self(linux_raw_sys::general::MADV_DONTFORK);
    pub const DOFORK: Self = Self(linux_raw_sys::general::MADV_DOFORK);
    pub const MERGEABLE: Self = Self(linux_raw_sys::general::MADV_MERGEABLE);
    pub const UNMERGEABLE: Self = Self(linux_raw_sys::general::MADV_UNMERGEABLE);
    pub const HUGEPAGE: Self = Self(linux_raw_sys::general::MADV_HUGEPAGE);
    pub const NOHUGEPAGE: Self = Self(linux_raw_sys::general::MADV_NOHUGEPAGE);
    pub const DONTDUMP: Self = Self(linux_raw_sys::general::MADV_DONTDUMP);
    pub const DODUMP: Self = Self(linux_raw_sys::general::MADV_DODUMP);
    pub const WIPEONFORK: Self = Self(linux_raw_sys::general::MADV_WIPEONFORK);
    pub const KEEPONFORK: Self = Self(linux_raw_sys::general::MADV_KEEPONFORK);
    pub const COLD: Self = Self(linux_raw_sys::general::MADV_COLD);
    pub const PAGEOUT: Self = Self(linux_raw_sys::general::MADV_PAGEOUT);
    pub const POPULATE_READ: Self = Self(linux_raw_sys::general::MADV_POPULATE_READ);
    pub const POPULATE_WRITE: Self = Self(linux_raw_sys::general::MADV_POPULATE_WRITE);
    pub const DONTNEED_LOCKED: Self = Self(linux_raw_sys::general::MADV_DONTNEED_LOCKED);
    pub const COLLAPSE: Self = Self(linux_raw_sys::general::MADV_COLLAPSE);
    pub const HWPOISON: Self = Self(linux_raw_sys::general::MADV_HWPOISON);
    pub const SOFT_OFFLINE: Self = Self(linux_raw_sys::general::MADV_SOFT_OFFLINE);
    pub const GUARD_INSTALL: Self = Self(linux_raw_sys::general::MADV_GUARD_INSTALL);
    pub const GUARD_REMOVE: Self = Self(linux_raw_sys::general::MADV_GUARD_REMOVE);

    /// Advice by its number, for values this list lacks (the kernel rejects unknown ones).
    #[inline]
    pub const fn from_raw(advice: u32) -> Self {
        Self(advice)
    }

    /// The advice's number.
    #[inline]
    pub const fn as_raw(self) -> u32 {
        self.0
    }
}

impl core::fmt::Display for MadviseAdvice {
    /// The number, as `<asm-generic/mman-common.h>` writes it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

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
pub const SHADOW_STACK_SET_TOKEN: u32 = linux_raw_sys::general::SHADOW_STACK_SET_TOKEN;
/// `map_shadow_stack` flag: put an end marker at the top of the new stack.
pub const SHADOW_STACK_SET_MARKER: u32 = linux_raw_sys::general::SHADOW_STACK_SET_MARKER;

/// A fresh private anonymous read-write mapping of whole pages, unmapped on drop: the
/// scratch memory of code that has no allocator (the engine's tables and plans).
pub struct AnonMap {
    base: *mut u8,
    len: usize,
}

impl AnonMap {
    /// At least `len` bytes (rounded up to pages, one page at least), zero-filled.
    pub fn new(len: usize) -> Result<AnonMap> {
        let len = len.max(1).checked_next_multiple_of(PAGE_SIZE).ok_or(Errno::ENOMEM)?;
        // SAFETY: no MAP_FIXED: fresh memory, replacing nothing.
        let base = unsafe {
            mmap(
                core::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::ANONYMOUS,
                None,
                0,
            )?
        };
        Ok(AnonMap { base, len })
    }

    /// The mapping's first byte (page-aligned).
    pub fn as_ptr(&self) -> *mut u8 {
        self.base
    }

    /// Its length in bytes: a whole number of pages.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Never: a mapping has one page at least.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl Drop for AnonMap {
    fn drop(&mut self) {
        // SAFETY: the value's own mapping; whoever borrowed from it did so through the
        // value, so no borrow outlives it.
        let _ = unsafe { munmap(self.base, self.len) };
    }
}

/// `mmap(2)`: map `len` bytes of `fd` at `offset` (or anonymous memory) with `prot`;
/// `addr` is a hint, or the exact place with `MAP_FIXED*`. Returns the mapping's start.
///
/// # Safety
/// With `MAP_FIXED` the new mapping silently replaces whatever was at `addr`, which must
/// not be memory the program still uses. Without it the call creates fresh memory and
/// is harmless.
#[inline]
pub unsafe fn mmap(
    addr: *mut u8,
    len: usize,
    prot: ProtFlags,
    flags: MapFlags,
    fd: Option<BorrowedFd<'_>>,
    offset: i64,
) -> Result<*mut u8> {
    // SAFETY: the caller vouches for the target range.
    ret_usize(unsafe {
        raw::syscall6(
            nr(Sysno::mmap),
            addr as usize,
            len,
            prot.bits() as usize,
            flags.bits() as usize,
            fd.map_or(-1, |fd| fd.as_raw_fd()) as usize,
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
    ret_unit(unsafe { raw::syscall2(nr(Sysno::munmap), addr as usize, len) })
}

/// `mprotect(2)`: set the protection of the pages in `addr..addr + len`.
///
/// # Safety
/// Removing access from memory the program still uses makes it fault; making memory
/// executable executes whatever it holds.
#[inline]
pub unsafe fn mprotect(addr: *mut u8, len: usize, prot: ProtFlags) -> Result<()> {
    // SAFETY: the caller vouches for the range.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::mprotect), addr as usize, len, prot.bits() as usize) })
}

/// `mremap(2)`: grow, shrink or move the mapping at `old`; `new_addr` is used with
/// `MREMAP_FIXED`. Returns the mapping's (possibly new) start.
///
/// # Safety
/// The old range may move or shrink away, and with `MREMAP_FIXED` whatever was at
/// `new_addr` is replaced: the caller must own all of it.
#[inline]
pub unsafe fn mremap(
    old: *mut u8,
    old_len: usize,
    new_len: usize,
    flags: MremapFlags,
    new_addr: *mut u8,
) -> Result<*mut u8> {
    // SAFETY: the caller vouches for both ranges.
    ret_usize(unsafe {
        raw::syscall5(
            nr(Sysno::mremap),
            old as usize,
            old_len,
            new_len,
            flags.bits() as usize,
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
pub unsafe fn madvise(addr: *mut u8, len: usize, advice: MadviseAdvice) -> Result<()> {
    // SAFETY: the caller vouches for the range and advice.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::madvise), addr as usize, len, advice.as_raw() as usize) })
}

/// `process_madvise(2)`: give `advice` about the ranges `iov` of the process `pidfd`
/// refers to; returns the bytes advised. The kernel takes only non-destructive advice
/// (`MADV_COLD`, `MADV_PAGEOUT`, `MADV_WILLNEED`, `MADV_COLLAPSE`).
///
/// # Safety
/// The iovecs name address ranges of the target, not memory of the caller; when the
/// target is the caller itself the same rules as for [`madvise`] apply to each range.
#[inline]
pub unsafe fn process_madvise(pidfd: impl AsFd, iov: &[IoVec], advice: MadviseAdvice, flags: u32) -> Result<usize> {
    // SAFETY: the kernel reads the iovec array; the caller vouches for the ranges.
    ret_usize(unsafe {
        raw::syscall5(
            nr(Sysno::process_madvise),
            fd_arg(&pidfd),
            iov.as_ptr() as usize,
            iov.len(),
            advice.as_raw() as usize,
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
    ret_unit(unsafe { raw::syscall3(nr(Sysno::mincore), addr as usize, len, vec.as_mut_ptr() as usize) })
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
    ret_c_int(unsafe { raw::syscall3(nr(Sysno::shmget), key as usize, size, flags as usize) })
}

/// `shmat(2)`: attach segment `shmid` at `addr` (null: anywhere); returns its address.
///
/// # Safety
/// With `SHM_REMAP` and an address, existing mappings there are replaced.
#[inline]
pub unsafe fn shmat(shmid: i32, addr: *mut u8, flags: i32) -> Result<*mut u8> {
    // SAFETY: the caller vouches for the target range.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::shmat), shmid as usize, addr as usize, flags as usize) })
        .map(|a| a as *mut u8)
}

/// `shmdt(2)`: detach the segment attached at `addr`.
///
/// # Safety
/// Nothing may use the attachment afterwards.
#[inline]
pub unsafe fn shmdt(addr: *mut u8) -> Result<()> {
    // SAFETY: the caller vouches that the attachment is no longer used.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::shmdt), addr as usize) })
}

/// `shmctl(2)`: control operation `cmd` (`IPC_RMID`, `IPC_STAT`, ...) on segment `shmid`.
///
/// # Safety
/// `buf` must be null or point to a `struct shmid_ds` valid for what `cmd` reads/writes.
#[inline]
pub unsafe fn shmctl(shmid: i32, cmd: i32, buf: *mut c_void) -> Result<i32> {
    // SAFETY: the caller vouches for buf.
    ret_c_int(unsafe { raw::syscall3(nr(Sysno::shmctl), shmid as usize, cmd as usize, buf as usize) })
}

/// `map_shadow_stack(2)`: map a new `size`-byte shadow stack (at `addr`, which must be
/// free, or anywhere when 0). `EOPNOTSUPP` when the CPU or kernel has no user shadow
/// stacks.
#[inline]
pub fn map_shadow_stack(addr: usize, size: usize, flags: u32) -> Result<*mut u8> {
    // SAFETY: the kernel maps fresh memory and never replaces an existing mapping.
    ret_usize(unsafe { raw::syscall3(nr(Sysno::map_shadow_stack), addr, size, flags as usize) }).map(|a| a as *mut u8)
}
