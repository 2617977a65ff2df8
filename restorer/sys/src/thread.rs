//! Threads and tasks: clone/clone3, the tid address, robust futex lists, rseq, TLS
//! (thread area, `arch_prctl`), membarrier.

use core::ffi::c_void;

pub use super::clone_flags::CloneFlags;
use super::ret::{ret_c_int, ret_unit, ret_usize};
use super::{nr, raw, Errno, Result};
use syscalls::Sysno;

/// `clone`'s low byte: the exit signal (the flags are [`CloneFlags`]).
pub const CSIGNAL: u64 = linux_raw_sys::general::CSIGNAL as u64;

/// Size of the first `struct clone_args` (up to `tls`).
pub const CLONE_ARGS_SIZE_VER0: usize = linux_raw_sys::general::CLONE_ARGS_SIZE_VER0 as usize;
/// With `set_tid`/`set_tid_size` (Linux 5.5).
pub const CLONE_ARGS_SIZE_VER1: usize = linux_raw_sys::general::CLONE_ARGS_SIZE_VER1 as usize;
/// With `cgroup` (Linux 5.7).
pub const CLONE_ARGS_SIZE_VER2: usize = linux_raw_sys::general::CLONE_ARGS_SIZE_VER2 as usize;

// `arch_prctl` codes.
pub const ARCH_SET_GS: i32 = 0x1001;
pub const ARCH_SET_FS: i32 = linux_raw_sys::general::ARCH_SET_FS as i32;
pub const ARCH_GET_FS: i32 = 0x1003;
pub const ARCH_GET_GS: i32 = 0x1004;
pub const ARCH_GET_CPUID: i32 = 0x1011;
pub const ARCH_SET_CPUID: i32 = 0x1012;
pub const ARCH_GET_XCOMP_SUPP: i32 = 0x1021;
pub const ARCH_GET_XCOMP_PERM: i32 = 0x1022;
pub const ARCH_REQ_XCOMP_PERM: i32 = 0x1023;
pub const ARCH_MAP_VDSO_X32: i32 = 0x2001;
pub const ARCH_MAP_VDSO_32: i32 = 0x2002;
pub const ARCH_MAP_VDSO_64: i32 = 0x2003;
pub const ARCH_SHSTK_ENABLE: i32 = 0x5001;
pub const ARCH_SHSTK_DISABLE: i32 = 0x5002;
pub const ARCH_SHSTK_LOCK: i32 = 0x5003;
pub const ARCH_SHSTK_UNLOCK: i32 = 0x5004;
pub const ARCH_SHSTK_STATUS: i32 = 0x5005;
/// Shadow-stack feature bits (`ARCH_SHSTK_*` codes' argument, `ARCH_SHSTK_STATUS`'s value):
/// the shadow stack itself, and writes to it with `wrss`.
pub const ARCH_SHSTK_SHSTK: u64 = 1 << 0;
pub const ARCH_SHSTK_WRSS: u64 = 1 << 1;

// rseq.
/// `rseq` flag: unregister the area.
pub const RSEQ_FLAG_UNREGISTER: i32 = 1;
/// The signature glibc registers with on x86 (the 4 bytes before every abort handler).
pub const RSEQ_SIG: u32 = 0x5305_3053;
/// `cpu_id` before the kernel first fills it.
pub const RSEQ_CPU_ID_UNINITIALIZED: u32 = u32::MAX;
/// `rseq_len` of the original ABI, which [`Rseq`] has.
pub const RSEQ_ORIG_SIZE: u32 = 32;

// membarrier commands.
pub const MEMBARRIER_CMD_QUERY: i32 = linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_QUERY as i32;
pub const MEMBARRIER_CMD_GLOBAL: i32 = linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_GLOBAL as i32;
pub const MEMBARRIER_CMD_GLOBAL_EXPEDITED: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_GLOBAL_EXPEDITED as i32;
pub const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED as i32;
pub const MEMBARRIER_CMD_PRIVATE_EXPEDITED: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_PRIVATE_EXPEDITED as i32;
pub const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED as i32;
pub const MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE as i32;
pub const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE as i32;
pub const MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ as i32;
pub const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ as i32;
pub const MEMBARRIER_CMD_GET_REGISTRATIONS: i32 =
    linux_raw_sys::general::membarrier_cmd::MEMBARRIER_CMD_GET_REGISTRATIONS as i32;

// `struct user_desc` flag bits (the C bitfield, low bit first).
pub const USER_DESC_SEG_32BIT: u32 = 1 << 0;
/// Two bits: 0 data, 1 stack (expand down), 2 code.
pub const USER_DESC_CONTENTS_SHIFT: u32 = 1;
pub const USER_DESC_READ_EXEC_ONLY: u32 = 1 << 3;
pub const USER_DESC_LIMIT_IN_PAGES: u32 = 1 << 4;
pub const USER_DESC_SEG_NOT_PRESENT: u32 = 1 << 5;
pub const USER_DESC_USEABLE: u32 = 1 << 6;
pub const USER_DESC_LM: u32 = 1 << 7;
/// First GDT TLS entry on x86_64 (`GDT_ENTRY_TLS_MIN`); there are three.
pub const GDT_ENTRY_TLS_MIN: u32 = 12;

/// The kernel's `struct clone_args` (version 2, 88 bytes): pointers are passed as u64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CloneArgs {
    /// What the child shares and gets (the exit signal is [`CloneArgs::exit_signal`]).
    pub flags: CloneFlags,
    /// With `CLONE_PIDFD`: where the kernel stores the child's pidfd (an `int`).
    pub pidfd: u64,
    /// With `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID`: the child's tid word.
    pub child_tid: u64,
    /// With `CLONE_PARENT_SETTID`: where the parent gets the child's tid.
    pub parent_tid: u64,
    /// Signal sent to the parent when the child exits (`SIGCHLD` for fork-like).
    pub exit_signal: u64,
    /// Lowest address of the child's stack (the kernel starts it at `stack + stack_size`).
    pub stack: u64,
    pub stack_size: u64,
    /// With `CLONE_SETTLS`: the new fs base.
    pub tls: u64,
    /// Address of an array of pids to give the child, one a pid namespace level:
    /// `set_tid[0]` is the pid in the child's own (innermost) namespace, the last entry
    /// the outermost (needs `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN`; `EEXIST` when
    /// a pid is taken).
    pub set_tid: u64,
    /// Number of entries of `set_tid`.
    pub set_tid_size: u64,
    /// With `CLONE_INTO_CGROUP`: an fd of the target cgroup directory.
    pub cgroup: u64,
}
assert_layout!(
    CloneArgs,
    size = CLONE_ARGS_SIZE_VER2,
    pidfd = 8,
    exit_signal = 32,
    stack = 40,
    tls = 56,
    set_tid = 64,
    set_tid_size = 72,
    cgroup = 80,
);

/// The kernel's `struct robust_list_head`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RobustListHead {
    /// Head of the list of held robust futexes (`struct robust_list`, a `next` pointer).
    pub list: *mut c_void,
    /// Offset from a list entry to its futex word.
    pub futex_offset: isize,
    /// An entry being added or removed.
    pub list_op_pending: *mut c_void,
}
assert_layout!(RobustListHead, size = 24);
zeroed_default!(RobustListHead);

/// The kernel's `struct rseq` in its original 32-byte ABI.
#[repr(C, align(32))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rseq {
    pub cpu_id_start: u32,
    /// The CPU the thread runs on, kept up to date by the kernel.
    pub cpu_id: u32,
    /// Address of the current `struct rseq_cs` critical section descriptor, or 0.
    pub rseq_cs: u64,
    pub flags: u32,
    pub node_id: u32,
    pub mm_cid: u32,
}
assert_layout!(
    Rseq,
    size = RSEQ_ORIG_SIZE as usize,
    rseq_cs = 8,
    node_id = 20,
    mm_cid = 24
);

impl Rseq {
    /// An area ready for registration (`cpu_id` uninitialized).
    #[inline]
    pub const fn new() -> Rseq {
        Rseq {
            cpu_id_start: 0,
            cpu_id: RSEQ_CPU_ID_UNINITIALIZED,
            rseq_cs: 0,
            flags: 0,
            node_id: 0,
            mm_cid: 0,
        }
    }
}

impl Default for Rseq {
    fn default() -> Self {
        Self::new()
    }
}

/// The kernel's `struct user_desc`: a TLS segment descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserDesc {
    /// GDT entry; `u32::MAX` in `set_thread_area` picks a free one and reports it.
    pub entry_number: u32,
    pub base_addr: u32,
    pub limit: u32,
    /// The `USER_DESC_*` bits.
    pub flags: u32,
}
assert_layout!(UserDesc, size = 16);

/// `clone(2)`: create a task sharing what `flags` says; `exit_signal` is the signal the
/// parent gets at the child's exit (0: none). x86_64's order is (flags, stack,
/// parent_tid, child_tid, tls). Returns the child's tid in the parent and 0 in the child.
///
/// # Safety
/// The child resumes right after the `syscall` instruction with rax = 0 and every other
/// register as the parent had it, but on `stack` (the highest address; null: the same
/// stack pointer). Rust code can only continue in the child when it has its own copy of
/// memory and the stack (no `CLONE_VM`, `stack` null: the fork-like case). A child that
/// shares memory or gets a new stack must be started by an asm trampoline that never
/// returns into the compiler's frames. The tid pointers must be valid for the flags that
/// use them.
#[inline(always)]
pub unsafe fn clone(
    flags: CloneFlags,
    exit_signal: i32,
    stack: *mut u8,
    parent_tid: *mut i32,
    child_tid: *mut i32,
    tls: usize,
) -> Result<i32> {
    // SAFETY: the caller vouches for the child's execution and the pointers.
    ret_c_int(unsafe {
        raw::syscall5(
            nr(Sysno::clone),
            (flags.bits() | (exit_signal as u64 & CSIGNAL)) as usize,
            stack as usize,
            parent_tid as usize,
            child_tid as usize,
            tls,
        )
    })
}

/// `clone3(2)`: `clone` with an extensible [`CloneArgs`] (pidfd, `set_tid`, cgroup).
/// Returns the child's tid in the parent and 0 in the child.
///
/// # Safety
/// As for [`clone`]: the child resumes after the `syscall` instruction with rax = 0, on
/// `stack + stack_size` when a stack is given. Only the fork-like case (no `CLONE_VM`, no
/// stack) may continue in Rust. The pointers in `args` must be valid for their flags.
#[inline(always)]
pub unsafe fn clone3(args: &CloneArgs) -> Result<i32> {
    // SAFETY: the caller vouches for the child's execution and the pointers in `args`.
    ret_c_int(unsafe {
        raw::syscall2(
            nr(Sysno::clone3),
            args as *const CloneArgs as usize,
            core::mem::size_of::<CloneArgs>(),
        )
    })
}

/// `clone3(2)` with a null argument of size zero: creates nothing, and tells whether the
/// call exists (`EINVAL`: it does; `ENOSYS`: it does not).
#[inline]
pub fn clone3_probe() -> Result<i32> {
    // SAFETY: the kernel rejects the size before it reads the (null) argument or creates
    // a task.
    ret_c_int(unsafe { raw::syscall2(nr(Sysno::clone3), 0, 0) })
}

/// `set_tid_address(2)`: make `tidptr` the calling thread's clear-child-tid word (zeroed
/// and futex-woken at its exit); returns the caller's tid.
///
/// # Safety
/// `tidptr` must stay valid for as long as the thread lives (or until replaced); the C
/// library's threads rely on their own word.
#[inline]
pub unsafe fn set_tid_address(tidptr: *mut i32) -> i32 {
    // SAFETY: the caller vouches for the word.
    unsafe { raw::syscall1(nr(Sysno::set_tid_address), tidptr as usize) as i32 }
}

/// `set_robust_list(2)`: register the calling thread's robust futex list head (`len`
/// must be `size_of::<RobustListHead>()`, else `EINVAL`).
///
/// # Safety
/// The head and the list must stay valid while registered: the kernel walks and writes
/// them when the thread exits.
#[inline]
pub unsafe fn set_robust_list(head: *mut RobustListHead, len: usize) -> Result<()> {
    // SAFETY: the caller vouches for the list.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::set_robust_list), head as usize, len) })
}

/// `get_robust_list(2)`: the robust list head and its length registered by thread `pid`
/// (0: the caller).
#[inline]
pub fn get_robust_list(pid: i32) -> Result<(*mut RobustListHead, usize)> {
    let mut head: *mut RobustListHead = core::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: the kernel writes one pointer and one size into the locals.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::get_robust_list),
            pid as usize,
            &mut head as *mut *mut RobustListHead as usize,
            &mut len as *mut usize as usize,
        )
    })?;
    Ok((head, len))
}

/// `rseq(2)`: register (or with [`RSEQ_FLAG_UNREGISTER`] unregister) the calling
/// thread's restartable sequences area. `EBUSY` when that same area is registered
/// already, `EINVAL` when a different one is (as a C library's usually is), `EPERM` on a
/// signature mismatch at unregistration.
///
/// # Safety
/// The area must stay valid until unregistered or the thread exits: the kernel writes
/// `cpu_id` and friends on every return to user space and reads `rseq_cs`.
#[inline]
pub unsafe fn rseq(area: *mut Rseq, len: u32, flags: i32, sig: u32) -> Result<()> {
    // SAFETY: the caller vouches for the area.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::rseq),
            area as usize,
            len as usize,
            flags as usize,
            sig as usize,
        )
    })
}

/// `set_thread_area(2)`: install a TLS descriptor in the GDT (`entry_number ==
/// u32::MAX` picks a free entry and writes it back). Through the 64-bit `syscall` entry
/// current x86_64 kernels answer `ENOSYS` (the table has no 64-bit implementation); the
/// call works for 32-bit code through `int 0x80`, which is how CRIU uses it for compat
/// tasks.
///
/// # Safety
/// Replacing a descriptor that a loaded segment register uses changes what that segment
/// addresses (64-bit code normally uses none; 32-bit code and its TLS do).
#[inline]
pub unsafe fn set_thread_area(desc: &mut UserDesc) -> Result<()> {
    // SAFETY: the kernel reads and writes one user_desc; the caller vouches for the entry.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::set_thread_area), desc as *mut UserDesc as usize) })
}

/// `get_thread_area(2)`: read TLS descriptor `desc.entry_number` (`EINVAL` outside the
/// three TLS entries). `ENOSYS` through the 64-bit entry, as for [`set_thread_area`].
#[inline]
pub fn get_thread_area(desc: &mut UserDesc) -> Result<()> {
    // SAFETY: the kernel reads the entry number and writes one user_desc.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::get_thread_area), desc as *mut UserDesc as usize) })
}

/// `arch_prctl(2)`: x86-specific thread state: fs/gs bases, CPUID faulting, vDSO, shadow
/// stacks.
///
/// # Safety
/// `ARCH_SET_FS`/`ARCH_SET_GS` change what thread-local accesses of compiled code reach;
/// the `GET` codes write a `u64` at `addr`.
#[inline]
pub unsafe fn arch_prctl(code: i32, addr: usize) -> Result<usize> {
    // SAFETY: the caller vouches for the effect and the pointer.
    ret_usize(unsafe { raw::syscall2(nr(Sysno::arch_prctl), code as usize, addr) })
}

/// `arch_prctl` for the codes that store a value: `ARCH_GET_FS`, `ARCH_GET_GS`,
/// `ARCH_SHSTK_STATUS` (`EINVAL`, without a call, for any other).
#[inline]
pub fn arch_prctl_get(code: i32) -> Result<u64> {
    if !matches!(code, ARCH_GET_FS | ARCH_GET_GS | ARCH_SHSTK_STATUS) {
        return Err(Errno::EINVAL);
    }
    let mut v = 0u64;
    // SAFETY: these codes write one u64 at the address.
    unsafe { arch_prctl(code, &mut v as *mut u64 as usize) }?;
    Ok(v)
}

/// `membarrier(2)`: issue or register for memory barriers across the threads of the
/// process or system (`MEMBARRIER_CMD_*`); `MEMBARRIER_CMD_QUERY` returns the supported
/// commands as a mask.
#[inline]
pub fn membarrier(cmd: i32, flags: u32, cpu_id: i32) -> Result<i32> {
    // SAFETY: membarrier touches no user memory.
    ret_c_int(unsafe { raw::syscall3(nr(Sysno::membarrier), cmd as usize, flags as usize, cpu_id as usize) })
}
