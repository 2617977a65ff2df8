//! Processes: ids, exit, waiting, kill, prctl, personality, namespaces, pidfds, kcmp,
//! seccomp, ptrace.

use core::ffi::{c_void, CStr};

use super::clone_flags::CloneFlags;
use super::fd::{AsFd, OwnedFd};
use super::ret::{fd_arg, ret_c_int, ret_owned_fd, ret_unit, ret_usize};
use super::sigtypes::SigInfo;
use super::timespec::Timeval;
use super::{cstr, nr, opt_mut, opt_ptr, raw, Result};
use syscalls::Sysno;

// `wait4`/`waitid` options.
bitflags::bitflags! {
    /// `W*`: what `wait4`/`waitid` wait for, and how.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct WaitOptions: u32 {
        const NOHANG = linux_raw_sys::general::WNOHANG;
        const UNTRACED = linux_raw_sys::general::WUNTRACED;
        /// `waitid`'s name for the `UNTRACED` bit.
        const STOPPED = linux_raw_sys::general::WSTOPPED;
        const EXITED = linux_raw_sys::general::WEXITED;
        const CONTINUED = linux_raw_sys::general::WCONTINUED;
        const NOWAIT = linux_raw_sys::general::WNOWAIT;
        const NOTHREAD = linux_raw_sys::general::__WNOTHREAD;
        const ALL = linux_raw_sys::general::__WALL;
        const CLONE = linux_raw_sys::general::__WCLONE;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

// `waitid` id types.
pub const P_ALL: i32 = linux_raw_sys::general::P_ALL as i32;
pub const P_PID: i32 = linux_raw_sys::general::P_PID as i32;
pub const P_PGID: i32 = linux_raw_sys::general::P_PGID as i32;
pub const P_PIDFD: i32 = linux_raw_sys::general::P_PIDFD as i32;

// `pidfd_open` flags.
pub const PIDFD_NONBLOCK: u32 = super::oflags::OFlags::NONBLOCK.bits();
pub const PIDFD_THREAD: u32 = super::oflags::OFlags::EXCL.bits();

// `prctl` options.
pub const PR_SET_PDEATHSIG: i32 = linux_raw_sys::prctl::PR_SET_PDEATHSIG as i32;
pub const PR_GET_PDEATHSIG: i32 = linux_raw_sys::prctl::PR_GET_PDEATHSIG as i32;
pub const PR_GET_DUMPABLE: i32 = linux_raw_sys::prctl::PR_GET_DUMPABLE as i32;
pub const PR_SET_DUMPABLE: i32 = linux_raw_sys::prctl::PR_SET_DUMPABLE as i32;
pub const PR_SET_KEEPCAPS: i32 = linux_raw_sys::prctl::PR_SET_KEEPCAPS as i32;
pub const PR_SET_NAME: i32 = linux_raw_sys::prctl::PR_SET_NAME as i32;
pub const PR_GET_NAME: i32 = linux_raw_sys::prctl::PR_GET_NAME as i32;
pub const PR_GET_SECCOMP: i32 = linux_raw_sys::prctl::PR_GET_SECCOMP as i32;
pub const PR_SET_SECCOMP: i32 = linux_raw_sys::prctl::PR_SET_SECCOMP as i32;
pub const PR_CAPBSET_READ: i32 = linux_raw_sys::prctl::PR_CAPBSET_READ as i32;
pub const PR_CAPBSET_DROP: i32 = linux_raw_sys::prctl::PR_CAPBSET_DROP as i32;
pub const PR_GET_SECUREBITS: i32 = linux_raw_sys::prctl::PR_GET_SECUREBITS as i32;
pub const PR_SET_SECUREBITS: i32 = linux_raw_sys::prctl::PR_SET_SECUREBITS as i32;
pub const PR_SET_TIMERSLACK: i32 = linux_raw_sys::prctl::PR_SET_TIMERSLACK as i32;
pub const PR_GET_TIMERSLACK: i32 = linux_raw_sys::prctl::PR_GET_TIMERSLACK as i32;
pub const PR_SET_MM: i32 = linux_raw_sys::prctl::PR_SET_MM as i32;
pub const PR_SET_CHILD_SUBREAPER: i32 = linux_raw_sys::prctl::PR_SET_CHILD_SUBREAPER as i32;
pub const PR_GET_CHILD_SUBREAPER: i32 = linux_raw_sys::prctl::PR_GET_CHILD_SUBREAPER as i32;
/// `PR_TIMER_CREATE_RESTORE_IDS` (Linux 6.17+): while on, `timer_create` takes the new
/// timer's id from the id it is handed (CRIU 4.2's restore of POSIX timer ids).
pub const PR_TIMER_CREATE_RESTORE_IDS: i32 = linux_raw_sys::prctl::PR_TIMER_CREATE_RESTORE_IDS as i32;
pub const PR_TIMER_CREATE_RESTORE_IDS_OFF: usize = linux_raw_sys::prctl::PR_TIMER_CREATE_RESTORE_IDS_OFF as usize;
pub const PR_TIMER_CREATE_RESTORE_IDS_ON: usize = linux_raw_sys::prctl::PR_TIMER_CREATE_RESTORE_IDS_ON as usize;
pub const PR_SET_NO_NEW_PRIVS: i32 = linux_raw_sys::prctl::PR_SET_NO_NEW_PRIVS as i32;
pub const PR_GET_NO_NEW_PRIVS: i32 = linux_raw_sys::prctl::PR_GET_NO_NEW_PRIVS as i32;
pub const PR_GET_TID_ADDRESS: i32 = linux_raw_sys::prctl::PR_GET_TID_ADDRESS as i32;
pub const PR_SET_THP_DISABLE: i32 = linux_raw_sys::prctl::PR_SET_THP_DISABLE as i32;
pub const PR_GET_THP_DISABLE: i32 = linux_raw_sys::prctl::PR_GET_THP_DISABLE as i32;
pub const PR_CAP_AMBIENT: i32 = linux_raw_sys::prctl::PR_CAP_AMBIENT as i32;
pub const PR_CAP_AMBIENT_IS_SET: usize = linux_raw_sys::prctl::PR_CAP_AMBIENT_IS_SET as usize;
pub const PR_CAP_AMBIENT_RAISE: usize = linux_raw_sys::prctl::PR_CAP_AMBIENT_RAISE as usize;
pub const PR_CAP_AMBIENT_LOWER: usize = linux_raw_sys::prctl::PR_CAP_AMBIENT_LOWER as usize;
pub const PR_CAP_AMBIENT_CLEAR_ALL: usize = linux_raw_sys::prctl::PR_CAP_AMBIENT_CLEAR_ALL as usize;
// `PR_SET_MM` sub-options.
pub const PR_SET_MM_START_CODE: usize = linux_raw_sys::prctl::PR_SET_MM_START_CODE as usize;
pub const PR_SET_MM_END_CODE: usize = linux_raw_sys::prctl::PR_SET_MM_END_CODE as usize;
pub const PR_SET_MM_START_DATA: usize = linux_raw_sys::prctl::PR_SET_MM_START_DATA as usize;
pub const PR_SET_MM_END_DATA: usize = linux_raw_sys::prctl::PR_SET_MM_END_DATA as usize;
pub const PR_SET_MM_START_STACK: usize = linux_raw_sys::prctl::PR_SET_MM_START_STACK as usize;
pub const PR_SET_MM_START_BRK: usize = linux_raw_sys::prctl::PR_SET_MM_START_BRK as usize;
pub const PR_SET_MM_BRK: usize = linux_raw_sys::prctl::PR_SET_MM_BRK as usize;
pub const PR_SET_MM_ARG_START: usize = linux_raw_sys::prctl::PR_SET_MM_ARG_START as usize;
pub const PR_SET_MM_ARG_END: usize = linux_raw_sys::prctl::PR_SET_MM_ARG_END as usize;
pub const PR_SET_MM_ENV_START: usize = linux_raw_sys::prctl::PR_SET_MM_ENV_START as usize;
pub const PR_SET_MM_ENV_END: usize = linux_raw_sys::prctl::PR_SET_MM_ENV_END as usize;
pub const PR_SET_MM_AUXV: usize = linux_raw_sys::prctl::PR_SET_MM_AUXV as usize;
pub const PR_SET_MM_EXE_FILE: usize = linux_raw_sys::prctl::PR_SET_MM_EXE_FILE as usize;
pub const PR_SET_MM_MAP: usize = linux_raw_sys::prctl::PR_SET_MM_MAP as usize;
pub const PR_SET_MM_MAP_SIZE: usize = linux_raw_sys::prctl::PR_SET_MM_MAP_SIZE as usize;
/// Length of a task name (`TASK_COMM_LEN`), NUL included.
pub const TASK_COMM_LEN: usize = 16;

// Personalities.
pub const PER_LINUX: u32 = 0;
pub const ADDR_NO_RANDOMIZE: u32 = 0x0040000;
pub const READ_IMPLIES_EXEC: u32 = 0x0400000;
/// `personality(PERSONALITY_QUERY)` returns the persona without changing it.
pub const PERSONALITY_QUERY: u32 = 0xffff_ffff;

// `kcmp` types.
pub const KCMP_FILE: i32 = 0;
pub const KCMP_VM: i32 = 1;
pub const KCMP_FILES: i32 = 2;
pub const KCMP_FS: i32 = 3;
pub const KCMP_SIGHAND: i32 = 4;
pub const KCMP_IO: i32 = 5;
pub const KCMP_SYSVSEM: i32 = 6;
pub const KCMP_EPOLL_TFD: i32 = 7;

// A thread's seccomp mode (`PR_GET_SECCOMP`, `/proc/PID/status`).
pub const SECCOMP_MODE_DISABLED: i32 = linux_raw_sys::ptrace::SECCOMP_MODE_DISABLED as i32;
pub const SECCOMP_MODE_STRICT: i32 = linux_raw_sys::ptrace::SECCOMP_MODE_STRICT as i32;
pub const SECCOMP_MODE_FILTER: i32 = linux_raw_sys::ptrace::SECCOMP_MODE_FILTER as i32;

// `seccomp` operations, flags and filter return values.
pub const SECCOMP_SET_MODE_STRICT: u32 = linux_raw_sys::ptrace::SECCOMP_SET_MODE_STRICT;
pub const SECCOMP_SET_MODE_FILTER: u32 = linux_raw_sys::ptrace::SECCOMP_SET_MODE_FILTER;
pub const SECCOMP_GET_ACTION_AVAIL: u32 = linux_raw_sys::ptrace::SECCOMP_GET_ACTION_AVAIL;
pub const SECCOMP_GET_NOTIF_SIZES: u32 = linux_raw_sys::ptrace::SECCOMP_GET_NOTIF_SIZES;
pub const SECCOMP_FILTER_FLAG_TSYNC: u32 = linux_raw_sys::ptrace::SECCOMP_FILTER_FLAG_TSYNC;
pub const SECCOMP_FILTER_FLAG_LOG: u32 = linux_raw_sys::ptrace::SECCOMP_FILTER_FLAG_LOG;
pub const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = linux_raw_sys::ptrace::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = linux_raw_sys::ptrace::SECCOMP_FILTER_FLAG_NEW_LISTENER;
pub const SECCOMP_FILTER_FLAG_TSYNC_ESRCH: u32 = linux_raw_sys::ptrace::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
pub const SECCOMP_RET_KILL_PROCESS: u32 = linux_raw_sys::ptrace::SECCOMP_RET_KILL_PROCESS;
pub const SECCOMP_RET_KILL_THREAD: u32 = linux_raw_sys::ptrace::SECCOMP_RET_KILL_THREAD;
pub const SECCOMP_RET_TRAP: u32 = linux_raw_sys::ptrace::SECCOMP_RET_TRAP;
pub const SECCOMP_RET_ERRNO: u32 = linux_raw_sys::ptrace::SECCOMP_RET_ERRNO;
pub const SECCOMP_RET_USER_NOTIF: u32 = linux_raw_sys::ptrace::SECCOMP_RET_USER_NOTIF;
pub const SECCOMP_RET_TRACE: u32 = linux_raw_sys::ptrace::SECCOMP_RET_TRACE;
pub const SECCOMP_RET_LOG: u32 = linux_raw_sys::ptrace::SECCOMP_RET_LOG;
pub const SECCOMP_RET_ALLOW: u32 = linux_raw_sys::ptrace::SECCOMP_RET_ALLOW;
/// `AUDIT_ARCH_X86_64`, the `arch` of `struct seccomp_data` on this architecture.
pub const AUDIT_ARCH_X86_64: u32 = linux_raw_sys::ptrace::AUDIT_ARCH_X86_64;
// Classic BPF opcodes as seccomp filters use them.
pub const BPF_LD: u16 = linux_raw_sys::ptrace::BPF_LD as u16;
pub const BPF_JMP: u16 = linux_raw_sys::ptrace::BPF_JMP as u16;
pub const BPF_RET: u16 = linux_raw_sys::ptrace::BPF_RET as u16;
pub const BPF_W: u16 = linux_raw_sys::ptrace::BPF_W as u16;
pub const BPF_ABS: u16 = linux_raw_sys::ptrace::BPF_ABS as u16;
pub const BPF_JEQ: u16 = linux_raw_sys::ptrace::BPF_JEQ as u16;
pub const BPF_K: u16 = linux_raw_sys::ptrace::BPF_K as u16;

// `ptrace` requests and options.
pub const PTRACE_TRACEME: i64 = linux_raw_sys::ptrace::PTRACE_TRACEME as i64;
pub const PTRACE_PEEKTEXT: i64 = linux_raw_sys::ptrace::PTRACE_PEEKTEXT as i64;
pub const PTRACE_PEEKDATA: i64 = linux_raw_sys::ptrace::PTRACE_PEEKDATA as i64;
pub const PTRACE_PEEKUSER: i64 = 3;
pub const PTRACE_POKETEXT: i64 = linux_raw_sys::ptrace::PTRACE_POKETEXT as i64;
pub const PTRACE_POKEDATA: i64 = linux_raw_sys::ptrace::PTRACE_POKEDATA as i64;
pub const PTRACE_POKEUSER: i64 = 6;
pub const PTRACE_CONT: i64 = linux_raw_sys::ptrace::PTRACE_CONT as i64;
pub const PTRACE_KILL: i64 = linux_raw_sys::ptrace::PTRACE_KILL as i64;
pub const PTRACE_SINGLESTEP: i64 = linux_raw_sys::ptrace::PTRACE_SINGLESTEP as i64;
pub const PTRACE_GETREGS: i64 = linux_raw_sys::ptrace::PTRACE_GETREGS as i64;
pub const PTRACE_SETREGS: i64 = linux_raw_sys::ptrace::PTRACE_SETREGS as i64;
pub const PTRACE_GETFPREGS: i64 = linux_raw_sys::ptrace::PTRACE_GETFPREGS as i64;
pub const PTRACE_SETFPREGS: i64 = linux_raw_sys::ptrace::PTRACE_SETFPREGS as i64;
pub const PTRACE_ATTACH: i64 = linux_raw_sys::ptrace::PTRACE_ATTACH as i64;
pub const PTRACE_DETACH: i64 = linux_raw_sys::ptrace::PTRACE_DETACH as i64;
pub const PTRACE_SYSCALL: i64 = linux_raw_sys::ptrace::PTRACE_SYSCALL as i64;
pub const PTRACE_SETOPTIONS: i64 = linux_raw_sys::ptrace::PTRACE_SETOPTIONS as i64;
pub const PTRACE_GETEVENTMSG: i64 = linux_raw_sys::ptrace::PTRACE_GETEVENTMSG as i64;
pub const PTRACE_GETSIGINFO: i64 = linux_raw_sys::ptrace::PTRACE_GETSIGINFO as i64;
pub const PTRACE_SETSIGINFO: i64 = linux_raw_sys::ptrace::PTRACE_SETSIGINFO as i64;
pub const PTRACE_GETREGSET: i64 = linux_raw_sys::ptrace::PTRACE_GETREGSET as i64;
pub const PTRACE_SETREGSET: i64 = linux_raw_sys::ptrace::PTRACE_SETREGSET as i64;
pub const PTRACE_SEIZE: i64 = linux_raw_sys::ptrace::PTRACE_SEIZE as i64;
pub const PTRACE_INTERRUPT: i64 = linux_raw_sys::ptrace::PTRACE_INTERRUPT as i64;
pub const PTRACE_LISTEN: i64 = linux_raw_sys::ptrace::PTRACE_LISTEN as i64;
pub const PTRACE_PEEKSIGINFO: i64 = linux_raw_sys::ptrace::PTRACE_PEEKSIGINFO as i64;
pub const PTRACE_GETSIGMASK: i64 = linux_raw_sys::ptrace::PTRACE_GETSIGMASK as i64;
pub const PTRACE_SETSIGMASK: i64 = linux_raw_sys::ptrace::PTRACE_SETSIGMASK as i64;
pub const PTRACE_SECCOMP_GET_FILTER: i64 = linux_raw_sys::ptrace::PTRACE_SECCOMP_GET_FILTER as i64;
pub const PTRACE_GET_RSEQ_CONFIGURATION: i64 = linux_raw_sys::ptrace::PTRACE_GET_RSEQ_CONFIGURATION as i64;
pub const PTRACE_O_TRACESYSGOOD: usize = linux_raw_sys::ptrace::PTRACE_O_TRACESYSGOOD as usize;
pub const PTRACE_O_TRACEFORK: usize = linux_raw_sys::ptrace::PTRACE_O_TRACEFORK as usize;
pub const PTRACE_O_TRACEVFORK: usize = linux_raw_sys::ptrace::PTRACE_O_TRACEVFORK as usize;
pub const PTRACE_O_TRACECLONE: usize = linux_raw_sys::ptrace::PTRACE_O_TRACECLONE as usize;
pub const PTRACE_O_TRACEEXEC: usize = linux_raw_sys::ptrace::PTRACE_O_TRACEEXEC as usize;
pub const PTRACE_O_TRACEVFORKDONE: usize = linux_raw_sys::ptrace::PTRACE_O_TRACEVFORKDONE as usize;
pub const PTRACE_O_TRACEEXIT: usize = linux_raw_sys::ptrace::PTRACE_O_TRACEEXIT as usize;
pub const PTRACE_O_TRACESECCOMP: usize = linux_raw_sys::ptrace::PTRACE_O_TRACESECCOMP as usize;
pub const PTRACE_O_EXITKILL: usize = linux_raw_sys::ptrace::PTRACE_O_EXITKILL as usize;
pub const PTRACE_O_SUSPEND_SECCOMP: usize = linux_raw_sys::ptrace::PTRACE_O_SUSPEND_SECCOMP as usize;

/// A `wait4` status word, decoded as the `W*` macros do.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitStatus(pub i32);

impl WaitStatus {
    /// The child exited normally (`WIFEXITED`).
    #[inline]
    pub const fn exited(self) -> bool {
        self.0 & 0x7f == 0
    }
    /// Its exit code (`WEXITSTATUS`), meaningful when [`exited`](Self::exited).
    #[inline]
    pub const fn exit_code(self) -> i32 {
        (self.0 >> 8) & 0xff
    }
    /// The child was killed by a signal (`WIFSIGNALED`).
    #[inline]
    pub const fn signaled(self) -> bool {
        let s = self.0 & 0x7f;
        s != 0 && s != 0x7f
    }
    /// The signal that killed it (`WTERMSIG`).
    #[inline]
    pub const fn term_sig(self) -> i32 {
        self.0 & 0x7f
    }
    /// It dumped core (`WCOREDUMP`).
    #[inline]
    pub const fn core_dumped(self) -> bool {
        self.0 & 0x80 != 0
    }
    /// The child is stopped (`WIFSTOPPED`).
    #[inline]
    pub const fn stopped(self) -> bool {
        self.0 & 0xff == 0x7f
    }
    /// The signal that stopped it (`WSTOPSIG`); for ptrace events the event is in bits
    /// 16 and up of the word.
    #[inline]
    pub const fn stop_sig(self) -> i32 {
        (self.0 >> 8) & 0xff
    }
    /// The child was resumed by SIGCONT (`WIFCONTINUED`).
    #[inline]
    pub const fn continued(self) -> bool {
        self.0 == 0xffff
    }
}

/// The kernel's `struct rusage`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    pub ru_utime: Timeval,
    pub ru_stime: Timeval,
    pub ru_maxrss: i64,
    pub ru_ixrss: i64,
    pub ru_idrss: i64,
    pub ru_isrss: i64,
    pub ru_minflt: i64,
    pub ru_majflt: i64,
    pub ru_nswap: i64,
    pub ru_inblock: i64,
    pub ru_oublock: i64,
    pub ru_msgsnd: i64,
    pub ru_msgrcv: i64,
    pub ru_nsignals: i64,
    pub ru_nvcsw: i64,
    pub ru_nivcsw: i64,
}
assert_layout!(Rusage, size = 144, ru_maxrss = 32);

/// The kernel's `struct prctl_mm_map` for `PR_SET_MM_MAP`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrctlMmMap {
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    pub start_brk: u64,
    pub brk: u64,
    pub start_stack: u64,
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    /// Address of the auxv words to install.
    pub auxv: u64,
    /// Size of the auxv in bytes.
    pub auxv_size: u32,
    /// An fd of the new executable, or -1 to keep it.
    pub exe_fd: u32,
}
assert_layout!(PrctlMmMap, size = 104, auxv = 88, auxv_size = 96, exe_fd = 100);

/// The kernel's `struct sock_filter`: one classic BPF instruction.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}
assert_layout!(SockFilter, size = 8);

impl SockFilter {
    /// `BPF_STMT(code, k)`.
    #[inline]
    pub const fn stmt(code: u16, k: u32) -> SockFilter {
        SockFilter { code, jt: 0, jf: 0, k }
    }
    /// `BPF_JUMP(code, k, jt, jf)`.
    #[inline]
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }
}

/// The kernel's `struct sock_fprog`: a BPF program.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SockFprog {
    pub len: u16,
    pub filter: *const SockFilter,
}
assert_layout!(SockFprog, size = 16, filter = 8);

/// `getpid(2)`: the thread group id of the caller.
#[inline]
pub fn getpid() -> i32 {
    // SAFETY: getpid has no arguments and no side effects.
    unsafe { raw::syscall0(nr(Sysno::getpid)) as i32 }
}

/// `gettid(2)`: the thread id of the caller.
#[inline]
pub fn gettid() -> i32 {
    // SAFETY: gettid has no arguments and no side effects.
    unsafe { raw::syscall0(nr(Sysno::gettid)) as i32 }
}

/// `getppid(2)`: the pid of the parent (0 when it is outside our pid namespace).
#[inline]
pub fn getppid() -> i32 {
    // SAFETY: getppid has no arguments and no side effects.
    unsafe { raw::syscall0(nr(Sysno::getppid)) as i32 }
}

/// `getpgid(2)`: the process group of `pid` (0: the caller).
#[inline]
pub fn getpgid(pid: i32) -> Result<i32> {
    // SAFETY: getpgid touches no user memory.
    ret_c_int(unsafe { raw::syscall1(nr(Sysno::getpgid), pid as usize) })
}

/// `setpgid(2)`: move `pid` (0: the caller) into process group `pgid` (0: its own pid).
#[inline]
pub fn setpgid(pid: i32, pgid: i32) -> Result<()> {
    // SAFETY: setpgid touches no user memory.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::setpgid), pid as usize, pgid as usize) })
}

/// `getsid(2)`: the session of `pid` (0: the caller).
#[inline]
pub fn getsid(pid: i32) -> Result<i32> {
    // SAFETY: getsid touches no user memory.
    ret_c_int(unsafe { raw::syscall1(nr(Sysno::getsid), pid as usize) })
}

/// `setsid(2)`: start a new session and process group led by the caller.
#[inline]
pub fn setsid() -> Result<i32> {
    // SAFETY: setsid touches no user memory.
    ret_c_int(unsafe { raw::syscall0(nr(Sysno::setsid)) })
}

/// `exit(2)`: end the calling thread with `code` (the task when it is the last thread).
#[inline]
pub fn exit(code: i32) -> ! {
    // SAFETY: ends the thread; nothing after it runs.
    unsafe { raw::syscall1(nr(Sysno::exit), code as usize) };
    // exit cannot return; trap if a broken kernel ever did.
    loop {
        // SAFETY: ud2 only raises SIGILL.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
    }
}

/// `exit_group(2)`: end every thread of the task with `code`.
#[inline]
pub fn exit_group(code: i32) -> ! {
    // SAFETY: ends the task; nothing after it runs.
    unsafe { raw::syscall1(nr(Sysno::exit_group), code as usize) };
    // exit_group cannot return; trap if a broken kernel ever did.
    loop {
        // SAFETY: ud2 only raises SIGILL.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
    }
}

/// `wait4(2)`: wait for a state change of child `pid` (-1: any, 0: our group, < -1: group
/// `-pid`); returns its pid (0 with `WNOHANG` when none changed).
#[inline]
pub fn wait4(
    pid: i32,
    status: Option<&mut WaitStatus>,
    options: WaitOptions,
    rusage: Option<&mut Rusage>,
) -> Result<i32> {
    // SAFETY: the kernel writes the status int and the rusage, where given.
    ret_c_int(unsafe {
        raw::syscall4(
            nr(Sysno::wait4),
            pid as usize,
            opt_mut(status),
            options.bits() as usize,
            opt_mut(rusage),
        )
    })
}

/// `waitid(2)`: wait for a child by `P_*` id type (`P_PIDFD` takes a pidfd); the event is
/// described in `info` (`signo == SIGCHLD`, `code == CLD_*`, `status`). With `WNOHANG`
/// and nothing to report, `info.pid()` stays 0.
#[inline]
pub fn waitid(
    idtype: i32,
    id: i32,
    info: &mut SigInfo,
    options: WaitOptions,
    rusage: Option<&mut Rusage>,
) -> Result<()> {
    // SAFETY: the kernel writes one siginfo into `info` and the rusage where given.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::waitid),
            idtype as usize,
            id as usize,
            info as *mut SigInfo as usize,
            options.bits() as usize,
            opt_mut(rusage),
        )
    })
}

/// `kill(2)`: send `sig` to process `pid` (0: our group, -1: everyone we may, < -1: group
/// `-pid`); `sig == 0` only checks that it exists and may be signalled.
#[inline]
pub fn kill(pid: i32, sig: i32) -> Result<()> {
    // SAFETY: kill touches no user memory.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::kill), pid as usize, sig as usize) })
}

/// `tgkill(2)`: send `sig` to thread `tid` of thread group `tgid`.
#[inline]
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> Result<()> {
    // SAFETY: tgkill touches no user memory.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::tgkill), tgid as usize, tid as usize, sig as usize) })
}

/// `prctl(2)`: process control operation `option` with up to four arguments.
///
/// # Safety
/// Many options take pointers (`PR_GET_NAME` writes 16 bytes, `PR_SET_MM*` rewrite the
/// memory map description, ...): they must be valid for what the option does.
#[inline]
pub unsafe fn prctl(option: i32, a2: usize, a3: usize, a4: usize, a5: usize) -> Result<i32> {
    // SAFETY: the caller vouches for pointer arguments.
    ret_c_int(unsafe { raw::syscall5(nr(Sysno::prctl), option as usize, a2, a3, a4, a5) })
}

/// `prctl(PR_GET_NAME)`: the calling thread's name, NUL-padded.
#[inline]
pub fn prctl_get_name(name: &mut [u8; TASK_COMM_LEN]) -> Result<()> {
    // SAFETY: PR_GET_NAME writes TASK_COMM_LEN bytes into `name`.
    unsafe { prctl(PR_GET_NAME, name.as_mut_ptr() as usize, 0, 0, 0) }.map(|_| ())
}

/// `prctl(PR_SET_NAME)`: set the calling thread's name (truncated to 15 bytes).
#[inline]
pub fn prctl_set_name(name: &CStr) -> Result<()> {
    // SAFETY: PR_SET_NAME reads at most TASK_COMM_LEN bytes of the string.
    unsafe { prctl(PR_SET_NAME, cstr(name), 0, 0, 0) }.map(|_| ())
}

/// `personality(2)`: set the execution domain; returns the previous one.
/// [`PERSONALITY_QUERY`] only queries.
#[inline]
pub fn personality(persona: u32) -> Result<u32> {
    // SAFETY: personality touches no user memory.
    ret_usize(unsafe { raw::syscall1(nr(Sysno::personality), persona as usize) }).map(|v| v as u32)
}

/// `unshare(2)`: give the caller new namespaces or private copies of shared state
/// (`CLONE_NEW*`, `CLONE_FILES`, `CLONE_FS`, ...).
#[inline]
pub fn unshare(flags: CloneFlags) -> Result<()> {
    // SAFETY: unshare touches no user memory.
    ret_unit(unsafe { raw::syscall1(nr(Sysno::unshare), flags.bits() as usize) })
}

/// `setns(2)`: move the caller into the namespace `fd` refers to (a `/proc/*/ns/*` file or
/// a pidfd); `nstype` (`CLONE_NEW*`, 0: any) must match it.
#[inline]
pub fn setns(fd: impl AsFd, nstype: CloneFlags) -> Result<()> {
    // SAFETY: setns touches no user memory.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::setns), fd_arg(&fd), nstype.bits() as usize) })
}

/// `pidfd_open(2)`: a pidfd for process `pid`.
#[inline]
pub fn pidfd_open(pid: i32, flags: u32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open touches no user memory.
    ret_owned_fd(unsafe { raw::syscall2(nr(Sysno::pidfd_open), pid as usize, flags as usize) })
}

/// `pidfd_getfd(2)`: a copy, in the caller, of fd `targetfd` of the process `pidfd`
/// refers to (ptrace access needed).
#[inline]
pub fn pidfd_getfd(pidfd: impl AsFd, targetfd: impl AsFd, flags: u32) -> Result<OwnedFd> {
    // SAFETY: pidfd_getfd touches no user memory.
    ret_owned_fd(unsafe {
        raw::syscall3(
            nr(Sysno::pidfd_getfd),
            fd_arg(&pidfd),
            fd_arg(&targetfd),
            flags as usize,
        )
    })
}

/// `pidfd_send_signal(2)`: send `sig` (with `info`, if given) to the process of `pidfd`.
#[inline]
pub fn pidfd_send_signal(pidfd: impl AsFd, sig: i32, info: Option<&SigInfo>, flags: u32) -> Result<()> {
    // SAFETY: the kernel only reads the siginfo.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::pidfd_send_signal),
            fd_arg(&pidfd),
            sig as usize,
            opt_ptr(info),
            flags as usize,
        )
    })
}

/// `kcmp(2)`: compare a kernel resource (`KCMP_*`) of two processes: 0 equal, 1 less,
/// 2 greater, 3 unequal but unordered.
#[inline]
pub fn kcmp(pid1: i32, pid2: i32, ty: i32, idx1: usize, idx2: usize) -> Result<i32> {
    // SAFETY: kcmp writes no user memory (KCMP_EPOLL_TFD reads a struct through idx2,
    // with fault handling).
    ret_c_int(unsafe { raw::syscall5(nr(Sysno::kcmp), pid1 as usize, pid2 as usize, ty as usize, idx1, idx2) })
}

/// `seccomp(2)`: operation `op` (`SECCOMP_*`) with `flags` and an op-specific argument.
///
/// # Safety
/// `args` must be what `op` expects: a [`SockFprog`] for `SECCOMP_SET_MODE_FILTER`, a
/// `u32` action for `SECCOMP_GET_ACTION_AVAIL`, a writable `struct seccomp_notif_sizes`
/// for `SECCOMP_GET_NOTIF_SIZES`, null for strict mode.
#[inline]
pub unsafe fn seccomp(op: u32, flags: u32, args: *mut c_void) -> Result<i32> {
    // SAFETY: the caller vouches for `args`.
    ret_c_int(unsafe { raw::syscall3(nr(Sysno::seccomp), op as usize, flags as usize, args as usize) })
}

/// `seccomp(SECCOMP_GET_ACTION_AVAIL)`: whether filter action `action` is supported
/// (`EOPNOTSUPP` if not).
#[inline]
pub fn seccomp_action_avail(action: u32) -> Result<()> {
    let mut a = action;
    // SAFETY: SECCOMP_GET_ACTION_AVAIL reads one u32.
    unsafe { seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &mut a as *mut u32 as *mut c_void) }.map(|_| ())
}

/// `ptrace(2)`: tracing request `request` on `pid`. Unlike the C library's wrapper, the
/// raw `PTRACE_PEEK*` requests store the word read at `data` and return 0.
///
/// # Safety
/// `addr`/`data` are pointers in the caller for many requests (register sets, siginfo,
/// peeked words) and must be valid for them.
#[inline]
pub unsafe fn ptrace(request: i64, pid: i32, addr: usize, data: usize) -> Result<usize> {
    // SAFETY: the caller vouches for the pointers.
    ret_usize(unsafe { raw::syscall4(nr(Sysno::ptrace), request as usize, pid as usize, addr, data) })
}
