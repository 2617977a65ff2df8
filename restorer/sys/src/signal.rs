//! Signals: actions, masks, queued signals with data, the alternate stack, returning from
//! a handler, restarting an interrupted call. (`kill`/`tgkill` are in
//! [`super::process`], `signalfd4` in [`super::notify`].)

use super::ret::{ret_c_int, ret_unit, ret_usize};
pub use super::sigtypes::{SigInfo, SigSet, SI_QUEUE};
use super::timespec::Timespec;
use super::{nr, opt_mut, opt_ptr, raw, Result};
use syscalls::Sysno;

// Signal numbers (x86_64).
pub const SIGHUP: i32 = linux_raw_sys::general::SIGHUP as i32;
pub const SIGINT: i32 = linux_raw_sys::general::SIGINT as i32;
pub const SIGQUIT: i32 = linux_raw_sys::general::SIGQUIT as i32;
pub const SIGILL: i32 = linux_raw_sys::general::SIGILL as i32;
pub const SIGTRAP: i32 = linux_raw_sys::general::SIGTRAP as i32;
pub const SIGABRT: i32 = linux_raw_sys::general::SIGABRT as i32;
pub const SIGIOT: i32 = linux_raw_sys::general::SIGIOT as i32;
pub const SIGBUS: i32 = linux_raw_sys::general::SIGBUS as i32;
pub const SIGFPE: i32 = linux_raw_sys::general::SIGFPE as i32;
pub const SIGKILL: i32 = linux_raw_sys::general::SIGKILL as i32;
pub const SIGUSR1: i32 = linux_raw_sys::general::SIGUSR1 as i32;
pub const SIGSEGV: i32 = linux_raw_sys::general::SIGSEGV as i32;
pub const SIGUSR2: i32 = linux_raw_sys::general::SIGUSR2 as i32;
pub const SIGPIPE: i32 = linux_raw_sys::general::SIGPIPE as i32;
pub const SIGALRM: i32 = linux_raw_sys::general::SIGALRM as i32;
pub const SIGTERM: i32 = linux_raw_sys::general::SIGTERM as i32;
pub const SIGSTKFLT: i32 = linux_raw_sys::general::SIGSTKFLT as i32;
pub const SIGCHLD: i32 = linux_raw_sys::general::SIGCHLD as i32;
pub const SIGCONT: i32 = linux_raw_sys::general::SIGCONT as i32;
pub const SIGSTOP: i32 = linux_raw_sys::general::SIGSTOP as i32;
pub const SIGTSTP: i32 = linux_raw_sys::general::SIGTSTP as i32;
pub const SIGTTIN: i32 = linux_raw_sys::general::SIGTTIN as i32;
pub const SIGTTOU: i32 = linux_raw_sys::general::SIGTTOU as i32;
pub const SIGURG: i32 = linux_raw_sys::general::SIGURG as i32;
pub const SIGXCPU: i32 = linux_raw_sys::general::SIGXCPU as i32;
pub const SIGXFSZ: i32 = linux_raw_sys::general::SIGXFSZ as i32;
pub const SIGVTALRM: i32 = linux_raw_sys::general::SIGVTALRM as i32;
pub const SIGPROF: i32 = linux_raw_sys::general::SIGPROF as i32;
pub const SIGWINCH: i32 = linux_raw_sys::general::SIGWINCH as i32;
pub const SIGIO: i32 = linux_raw_sys::general::SIGIO as i32;
pub const SIGPOLL: i32 = SIGIO;
pub const SIGPWR: i32 = linux_raw_sys::general::SIGPWR as i32;
pub const SIGSYS: i32 = linux_raw_sys::general::SIGSYS as i32;
/// First real-time signal as the kernel numbers them (C libraries reserve a few).
pub const SIGRTMIN: i32 = linux_raw_sys::general::SIGRTMIN as i32;
/// Last real-time signal.
pub const SIGRTMAX: i32 = 64;
/// Number of signals plus one (`_NSIG`).
pub const NSIG: i32 = 65;

// `sa_flags`.
pub const SA_NOCLDSTOP: u64 = linux_raw_sys::general::SA_NOCLDSTOP as u64;
pub const SA_NOCLDWAIT: u64 = linux_raw_sys::general::SA_NOCLDWAIT as u64;
pub const SA_SIGINFO: u64 = linux_raw_sys::general::SA_SIGINFO as u64;
pub const SA_UNSUPPORTED: u64 = linux_raw_sys::general::SA_UNSUPPORTED as u64;
pub const SA_EXPOSE_TAGBITS: u64 = linux_raw_sys::general::SA_EXPOSE_TAGBITS as u64;
pub const SA_RESTORER: u64 = linux_raw_sys::general::SA_RESTORER as u64;
pub const SA_ONSTACK: u64 = linux_raw_sys::general::SA_ONSTACK as u64;
pub const SA_RESTART: u64 = linux_raw_sys::general::SA_RESTART as u64;
pub const SA_NODEFER: u64 = linux_raw_sys::general::SA_NODEFER as u64;
pub const SA_RESETHAND: u64 = linux_raw_sys::general::SA_RESETHAND as u64;

/// Handler value: the default action.
pub const SIG_DFL: usize = 0;
/// Handler value: ignore the signal.
pub const SIG_IGN: usize = 1;

// `rt_sigprocmask` how.
/// How `rt_sigprocmask` changes the mask (`SIG_BLOCK`, `SIG_UNBLOCK`, `SIG_SETMASK`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SigprocmaskHow(i32);

impl SigprocmaskHow {
    /// Add the set to the mask.
    pub const BLOCK: Self = Self(linux_raw_sys::general::SIG_BLOCK as i32);
    /// Remove the set from the mask.
    pub const UNBLOCK: Self = Self(linux_raw_sys::general::SIG_UNBLOCK as i32);
    /// Make the set the mask.
    pub const SETMASK: Self = Self(linux_raw_sys::general::SIG_SETMASK as i32);

    /// A value by its number, for ones this list lacks (the kernel rejects unknown ones).
    #[inline]
    pub const fn from_raw(how: i32) -> Self {
        Self(how)
    }
}

// `sigaltstack` flags and sizes.
pub const SS_ONSTACK: i32 = linux_raw_sys::general::SS_ONSTACK as i32;
pub const SS_DISABLE: i32 = linux_raw_sys::general::SS_DISABLE as i32;
pub const SS_AUTODISARM: i32 = linux_raw_sys::general::SS_AUTODISARM as i32;
pub const MINSIGSTKSZ: usize = linux_raw_sys::general::MINSIGSTKSZ as usize;
pub const SIGSTKSZ: usize = linux_raw_sys::general::SIGSTKSZ as usize;

// `si_code` values.
pub const SI_USER: i32 = linux_raw_sys::general::SI_USER as i32;
pub const SI_KERNEL: i32 = linux_raw_sys::general::SI_KERNEL as i32;
pub const SI_TIMER: i32 = linux_raw_sys::general::SI_TIMER;
pub const SI_MESGQ: i32 = linux_raw_sys::general::SI_MESGQ;
pub const SI_ASYNCIO: i32 = linux_raw_sys::general::SI_ASYNCIO;
pub const SI_SIGIO: i32 = linux_raw_sys::general::SI_SIGIO;
pub const SI_TKILL: i32 = linux_raw_sys::general::SI_TKILL;
pub const CLD_EXITED: i32 = linux_raw_sys::general::CLD_EXITED as i32;
pub const CLD_KILLED: i32 = linux_raw_sys::general::CLD_KILLED as i32;
pub const CLD_DUMPED: i32 = linux_raw_sys::general::CLD_DUMPED as i32;
pub const CLD_TRAPPED: i32 = linux_raw_sys::general::CLD_TRAPPED as i32;
pub const CLD_STOPPED: i32 = linux_raw_sys::general::CLD_STOPPED as i32;
pub const CLD_CONTINUED: i32 = linux_raw_sys::general::CLD_CONTINUED as i32;

/// The kernel's `struct sigaction` as `rt_sigaction` takes it on x86_64 (the order
/// differs from the C library's).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelSigaction {
    /// Handler address, or [`SIG_DFL`]/[`SIG_IGN`].
    pub handler: usize,
    /// `SA_*` flags; x86_64 delivers only with [`SA_RESTORER`] and a restorer.
    pub flags: u64,
    /// Where the handler returns to: code that calls `rt_sigreturn`, such as
    /// [`restore_rt`].
    pub restorer: usize,
    /// Signals blocked while the handler runs.
    pub mask: SigSet,
}
assert_layout!(
    KernelSigaction,
    size = 32,
    handler = 0,
    flags = 8,
    restorer = 16,
    mask = 24
);

/// The kernel's `stack_t`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackT {
    pub sp: *mut u8,
    pub flags: i32,
    pub size: usize,
}
assert_layout!(StackT, size = 24, sp = 0, flags = 8, size = 16);
zeroed_default!(StackT);

/// `rt_sigaction(2)`: install `act` (if given) for `sig`, storing the old action in
/// `old` (if given).
///
/// # Safety
/// A handler is code the kernel will jump to on delivery, with the restorer as return
/// address: both must be valid for that, and the handler async-signal safe.
#[inline]
pub unsafe fn rt_sigaction(sig: i32, act: Option<&KernelSigaction>, old: Option<&mut KernelSigaction>) -> Result<()> {
    // SAFETY: the kernel reads `act` and writes `old`; the caller vouches for the code
    // addresses.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::rt_sigaction),
            sig as usize,
            opt_ptr(act),
            opt_mut(old),
            core::mem::size_of::<SigSet>(),
        )
    })
}

/// `rt_sigprocmask(2)`: change the calling thread's mask (`SIG_BLOCK`, `SIG_UNBLOCK`,
/// `SIG_SETMASK` with `set`), storing the old one in `old`. `SIGKILL`/`SIGSTOP` stay
/// unblocked.
#[inline]
pub fn rt_sigprocmask(how: SigprocmaskHow, set: Option<&SigSet>, old: Option<&mut SigSet>) -> Result<()> {
    // SAFETY: the kernel reads `set` and writes `old`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::rt_sigprocmask),
            how.0 as usize,
            opt_ptr(set),
            opt_mut(old),
            core::mem::size_of::<SigSet>(),
        )
    })
}

/// `rt_sigpending(2)`: the signals pending for the thread or process and blocked.
#[inline]
pub fn rt_sigpending(set: &mut SigSet) -> Result<()> {
    // SAFETY: the kernel writes one sigset into `set`.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::rt_sigpending),
            set as *mut SigSet as usize,
            core::mem::size_of::<SigSet>(),
        )
    })
}

/// `rt_sigtimedwait(2)`: dequeue a pending signal of `set` (which should be blocked),
/// waiting up to `timeout` (`None`: forever); returns its number, `EAGAIN` on timeout.
#[inline]
pub fn rt_sigtimedwait(set: &SigSet, info: Option<&mut SigInfo>, timeout: Option<&Timespec>) -> Result<i32> {
    // SAFETY: the kernel reads `set` and the timeout and writes one siginfo into `info`.
    ret_c_int(unsafe {
        raw::syscall4(
            nr(Sysno::rt_sigtimedwait),
            set as *const SigSet as usize,
            opt_mut(info),
            opt_ptr(timeout),
            core::mem::size_of::<SigSet>(),
        )
    })
}

/// `rt_sigqueueinfo(2)`: send `sig` with `info` to the thread group `tgid`. For a target
/// other than the caller, `info.code` must be negative (`SI_QUEUE`).
#[inline]
pub fn rt_sigqueueinfo(tgid: i32, sig: i32, info: &SigInfo) -> Result<()> {
    // SAFETY: the kernel only reads the siginfo.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::rt_sigqueueinfo),
            tgid as usize,
            sig as usize,
            info as *const SigInfo as usize,
        )
    })
}

/// `rt_tgsigqueueinfo(2)`: send `sig` with `info` to thread `tid` of group `tgid`.
#[inline]
pub fn rt_tgsigqueueinfo(tgid: i32, tid: i32, sig: i32, info: &SigInfo) -> Result<()> {
    // SAFETY: the kernel only reads the siginfo.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::rt_tgsigqueueinfo),
            tgid as usize,
            tid as usize,
            sig as usize,
            info as *const SigInfo as usize,
        )
    })
}

/// `sigaltstack(2)`: set (if `new`) and query (if `old`) the calling thread's alternate
/// signal stack. `EPERM` while running on it; `ENOMEM` below [`MINSIGSTKSZ`].
///
/// # Safety
/// The new stack must stay valid, writable and otherwise unused for as long as it is
/// installed: `SA_ONSTACK` handlers will run on it.
#[inline]
pub unsafe fn sigaltstack(new: Option<&StackT>, old: Option<&mut StackT>) -> Result<()> {
    // SAFETY: the kernel reads `new` and writes `old`; the caller vouches for the stack.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::sigaltstack), opt_ptr(new), opt_mut(old)) })
}

/// `rt_sigreturn(2)`: restore the context of the signal frame just above `new_sp` and
/// resume it. The kernel reads the `struct rt_sigframe` at `new_sp - 8` (the address
/// right past its `pretcode`, which is where the stack pointer is after a handler's
/// `ret`): pass `frame + 8`, as CRIU's `RT_SIGFRAME_OFFSET` does.
///
/// # Safety
/// A valid `rt_sigframe` must lie there; every register, the stack and the signal mask
/// of the thread are replaced by its contents. A bad frame kills the task with SIGSEGV.
#[inline(always)]
pub unsafe fn rt_sigreturn(new_sp: usize) -> ! {
    // SAFETY: the caller vouches for the frame; the call does not return here.
    unsafe {
        core::arch::asm!(
            "mov rsp, {sp}",
            "syscall",
            "ud2",
            sp = in(reg) new_sp,
            in("rax") nr(Sysno::rt_sigreturn),
            options(noreturn),
        )
    }
}

/// A signal restorer: `rt_sigreturn` from the frame the kernel pushed. Put its address in
/// [`KernelSigaction::restorer`] with [`SA_RESTORER`]; the handler's `ret` lands here.
///
/// # Safety
/// Never call it: it is only a return target for signal handlers.
#[unsafe(naked)]
pub unsafe extern "C" fn restore_rt() -> ! {
    core::arch::naked_asm!(
        "mov eax, {nr}",
        "syscall",
        "ud2",
        nr = const nr(Sysno::rt_sigreturn),
    )
}

/// `restart_syscall(2)`: continue the call the thread's restart block describes
/// (after a stop/continue); with none pending, it fails with `EINTR`.
///
/// # Safety
/// The restarted call (a sleep, futex wait or poll) writes through the pointers it was
/// first given; those must still be valid.
#[inline]
pub unsafe fn restart_syscall() -> Result<usize> {
    // SAFETY: the caller vouches for the pointers of the restarted call.
    ret_usize(unsafe { raw::syscall0(nr(Sysno::restart_syscall)) })
}
