//! signal: actions with our restorer, masks, pending and queued signals, the alternate
//! stack, rt_sigreturn from a handler, restart_syscall.
//!
//! Real-time signals 40 and 41 are this module's (glibc reserves 32 and 33; nothing
//! else in the test process uses them); process-wide experiments run in children.

use core::ffi::c_void;
use std::sync::atomic::{AtomicI32, AtomicU64};

use super::*;
use crate::creds::getresuid;
use crate::process::{getpid, getppid, gettid, tgkill};
use crate::signal::*;
use crate::time::Timespec;

const SIG_HANDLED: i32 = 40;
const SIG_MASKED: i32 = 41;

static HITS: AtomicI32 = AtomicI32::new(0);
static LAST_CODE: AtomicI32 = AtomicI32::new(0);
static LAST_PID: AtomicI32 = AtomicI32::new(0);
static LAST_VALUE: AtomicU64 = AtomicU64::new(0);

extern "C" fn record(sig: i32, info: *mut SigInfo, _uc: *mut c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo.
    let info = unsafe { &*info };
    if info.signo == sig {
        LAST_CODE.store(info.code, Ordering::SeqCst);
        LAST_PID.store(info.pid(), Ordering::SeqCst);
        LAST_VALUE.store(info.value(), Ordering::SeqCst);
        HITS.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn sigset_bits() {
    let s = SigSet::EMPTY.with(SIGINT).with(SIGRTMAX);
    assert_eq!(s.0, 1 << 1 | 1 << 63);
    assert!(s.contains(SIGINT) && s.contains(SIGRTMAX) && !s.contains(SIGTERM));
    assert_eq!(s.without(SIGINT), SigSet::of(SIGRTMAX));
    assert!(SigSet::FULL.contains(SIGKILL));
}

#[test]
fn rt_sigaction_installs_queries_and_delivers_through_restore_rt() {
    // Rust's runtime ignores SIGPIPE: the query reads the handler where the kernel puts it.
    let mut q = KernelSigaction::default();
    // SAFETY: (rt_sigaction calls here) queries, refused calls, and a handler that only
    // stores atomics with our restorer.
    unsafe { rt_sigaction(SIGPIPE, None, Some(&mut q)) }.unwrap();
    assert_eq!(q.handler, SIG_IGN);

    let act = KernelSigaction {
        handler: record as *const () as usize,
        flags: SA_SIGINFO | SA_RESTORER | SA_RESTART,
        restorer: restore_rt as *const () as usize,
        mask: SigSet::of(SIGUSR2),
    };
    let mut old = KernelSigaction::default();
    // SAFETY: as above: (rt_sigaction calls here) queries, refused calls, and a handler that only stores atomics with our restorer.
    unsafe { rt_sigaction(SIG_HANDLED, Some(&act), Some(&mut old)) }.unwrap();
    // SAFETY: as above: (rt_sigaction calls here) queries, refused calls, and a handler that only stores atomics with our restorer.
    unsafe { rt_sigaction(SIG_HANDLED, None, Some(&mut q)) }.unwrap();
    assert_eq!(q, act, "the kernel reports the action as installed");

    let me = getpid();
    let base = HITS.load(Ordering::SeqCst);
    tgkill(me, gettid(), SIG_HANDLED).unwrap();
    assert_eq!(HITS.load(Ordering::SeqCst), base + 1, "delivered on return from tgkill");
    assert_eq!(LAST_CODE.load(Ordering::SeqCst), SI_TKILL);
    assert_eq!(LAST_PID.load(Ordering::SeqCst), me);

    let info = SigInfo::queue(SIG_HANDLED, me, getresuid().unwrap().0, 0x1122_3344_5566_7788);
    rt_tgsigqueueinfo(me, gettid(), SIG_HANDLED, &info).unwrap();
    assert_eq!(HITS.load(Ordering::SeqCst), base + 2);
    assert_eq!(LAST_CODE.load(Ordering::SeqCst), SI_QUEUE);
    assert_eq!(LAST_VALUE.load(Ordering::SeqCst), 0x1122_3344_5566_7788);

    // SAFETY: as above: (rt_sigaction calls here) queries, refused calls, and a handler that only stores atomics with our restorer.
    unsafe { rt_sigaction(SIG_HANDLED, Some(&old), None) }.unwrap();
    // SAFETY: as above: (rt_sigaction calls here) queries, refused calls, and a handler that only stores atomics with our restorer.
    assert_eq!(unsafe { rt_sigaction(SIGKILL, Some(&act), None) }, Err(Errno::EINVAL));
    // SAFETY: as above: (rt_sigaction calls here) queries, refused calls, and a handler that only stores atomics with our restorer.
    assert_eq!(unsafe { rt_sigaction(SIGSTOP, Some(&act), None) }, Err(Errno::EINVAL));
    // SAFETY: as above: (rt_sigaction calls here) queries, refused calls, and a handler that only stores atomics with our restorer.
    assert_eq!(unsafe { rt_sigaction(0, None, Some(&mut q)) }, Err(Errno::EINVAL));
    // SAFETY: as above: (rt_sigaction calls here) queries, refused calls, and a handler that only stores atomics with our restorer.
    assert_eq!(unsafe { rt_sigaction(NSIG, None, Some(&mut q)) }, Err(Errno::EINVAL));
}

#[test]
fn sigprocmask_pending_and_sigtimedwait() {
    // Ignored and blocked: queued while blocked, dropped if ever unblocked.
    let old_act = crate::tests::ignore(SIG_MASKED);

    let mut old = SigSet::default();
    rt_sigprocmask(
        SigprocmaskHow::BLOCK,
        Some(&SigSet::of(SIG_MASKED).with(SIGKILL)),
        Some(&mut old),
    )
    .unwrap();
    let mut cur = SigSet::default();
    rt_sigprocmask(SigprocmaskHow::BLOCK, None, Some(&mut cur)).unwrap();
    assert!(cur.contains(SIG_MASKED));
    assert!(!cur.contains(SIGKILL), "SIGKILL cannot be blocked");

    let (me, tid) = (getpid(), gettid());
    tgkill(me, tid, SIG_MASKED).unwrap();
    let mut pending = SigSet::default();
    rt_sigpending(&mut pending).unwrap();
    assert!(pending.contains(SIG_MASKED));
    let zero = Timespec::new(0, 0);
    let mut info = SigInfo::zeroed();
    assert_eq!(
        rt_sigtimedwait(&SigSet::of(SIG_MASKED), Some(&mut info), Some(&zero)),
        Ok(SIG_MASKED)
    );
    assert_eq!((info.signo, info.code, info.pid()), (SIG_MASKED, SI_TKILL, me));

    let q = SigInfo::queue(SIG_MASKED, me, getresuid().unwrap().0, 0xdead_beef);
    rt_tgsigqueueinfo(me, tid, SIG_MASKED, &q).unwrap();
    assert_eq!(
        rt_sigtimedwait(&SigSet::of(SIG_MASKED), Some(&mut info), Some(&zero)),
        Ok(SIG_MASKED)
    );
    assert_eq!(
        (info.code, info.value(), info.uid()),
        (SI_QUEUE, 0xdead_beef, getresuid().unwrap().0)
    );
    assert_eq!(
        rt_sigtimedwait(&SigSet::of(SIG_MASKED), None, Some(&zero)),
        Err(Errno::EAGAIN)
    );
    assert_eq!(rt_tgsigqueueinfo(me, 0x3fff_fff0, SIG_MASKED, &q), Err(Errno::ESRCH));

    rt_sigprocmask(SigprocmaskHow::UNBLOCK, Some(&SigSet::of(SIG_MASKED)), None).unwrap();
    rt_sigprocmask(SigprocmaskHow::BLOCK, None, Some(&mut cur)).unwrap();
    assert!(!cur.contains(SIG_MASKED));
    rt_sigprocmask(SigprocmaskHow::SETMASK, Some(&old), None).unwrap();
    rt_sigprocmask(SigprocmaskHow::BLOCK, None, Some(&mut cur)).unwrap();
    assert_eq!(cur, old);
    assert_eq!(
        rt_sigprocmask(SigprocmaskHow::from_raw(7), Some(&old), None),
        Err(Errno::EINVAL)
    );
    // SAFETY: restoring the previous action.
    unsafe { rt_sigaction(SIG_MASKED, Some(&old_act), None) }.unwrap();
}

#[test]
fn rt_sigqueueinfo_to_our_process_and_refused_for_others() {
    let parent = getpid();
    in_child(|| {
        let sig = SIGUSR1;
        ensure!(rt_sigprocmask(SigprocmaskHow::BLOCK, Some(&SigSet::of(sig)), None).is_ok());
        let me = getpid();
        let Ok((uid, _, _)) = getresuid() else {
            return 2;
        };
        ensure!(rt_sigqueueinfo(me, sig, &SigInfo::queue(sig, me, uid, 77)).is_ok());
        let mut info = SigInfo::zeroed();
        ensure!(rt_sigtimedwait(&SigSet::of(sig), Some(&mut info), Some(&Timespec::new(1, 0))) == Ok(sig));
        ensure!(info.code == SI_QUEUE && info.value() == 77 && info.pid() == me);
        // To another process, only negative si_code values may be forged.
        let mut forged = SigInfo::queue(sig, me, uid, 1);
        forged.code = SI_USER;
        ensure!(getppid() == parent);
        ensure!(rt_sigqueueinfo(parent, 0, &forged) == Err(Errno::EPERM));
        0
    });
}

#[test]
fn kill_self_with_signal_zero() {
    crate::process::kill(getpid(), 0).unwrap();
}

#[test]
fn sigaltstack_set_query_restore() {
    let mut old = StackT::zeroed();
    // SAFETY: (sigaltstack calls) queries, refused calls, and a stack that stays alive
    // until the previous one is restored below.
    unsafe { sigaltstack(None, Some(&mut old)) }.unwrap();
    let mut buf = vec![0u8; SIGSTKSZ * 2];
    let new = StackT {
        sp: buf.as_mut_ptr(),
        flags: 0,
        size: buf.len(),
    };
    // SAFETY: as above: (sigaltstack calls) queries, refused calls, and a stack that stays alive until the previous one is restored below.
    unsafe { sigaltstack(Some(&new), None) }.unwrap();
    let mut q = StackT::zeroed();
    // SAFETY: as above: (sigaltstack calls) queries, refused calls, and a stack that stays alive until the previous one is restored below.
    unsafe { sigaltstack(None, Some(&mut q)) }.unwrap();
    assert_eq!((q.sp, q.size, q.flags), (new.sp, new.size, 0));
    let small = StackT {
        sp: buf.as_mut_ptr(),
        flags: 0,
        size: 100,
    };
    // SAFETY: as above: (sigaltstack calls) queries, refused calls, and a stack that stays alive until the previous one is restored below.
    assert_eq!(unsafe { sigaltstack(Some(&small), None) }, Err(Errno::ENOMEM));
    let bad = StackT {
        sp: buf.as_mut_ptr(),
        flags: 0x1234,
        size: buf.len(),
    };
    // SAFETY: as above: (sigaltstack calls) queries, refused calls, and a stack that stays alive until the previous one is restored below.
    assert_eq!(unsafe { sigaltstack(Some(&bad), None) }, Err(Errno::EINVAL));
    let off = StackT {
        sp: core::ptr::null_mut(),
        flags: SS_DISABLE,
        size: 0,
    };
    // SAFETY: as above: (sigaltstack calls) queries, refused calls, and a stack that stays alive until the previous one is restored below.
    unsafe { sigaltstack(Some(&off), None) }.unwrap();
    // SAFETY: as above: (sigaltstack calls) queries, refused calls, and a stack that stays alive until the previous one is restored below.
    unsafe { sigaltstack(None, Some(&mut q)) }.unwrap();
    assert_eq!(q.flags, SS_DISABLE);
    let restore = if old.flags & SS_DISABLE != 0 {
        off
    } else {
        StackT {
            flags: old.flags & !SS_ONSTACK,
            ..old
        }
    };
    // SAFETY: as above: (sigaltstack calls) queries, refused calls, and a stack that stays alive until the previous one is restored below.
    unsafe { sigaltstack(Some(&restore), None) }.unwrap();
    drop(buf);
}

static SIGRETURNS: AtomicI32 = AtomicI32::new(0);

/// A handler that leaves through `rt_sigreturn` itself, as CRIU's restorer does.
extern "C" fn sigreturn_from_handler(_sig: i32, _info: *mut SigInfo, uc: *mut c_void) {
    SIGRETURNS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: `uc` is the frame's ucontext, right past its pretcode: frame + 8.
    unsafe { rt_sigreturn(uc as usize) }
}

#[test]
fn rt_sigreturn_from_a_handler_and_restart_syscall() {
    in_child(|| {
        let act = KernelSigaction {
            handler: sigreturn_from_handler as *const () as usize,
            flags: SA_SIGINFO | SA_RESTORER,
            restorer: restore_rt as *const () as usize,
            mask: SigSet::EMPTY,
        };
        // SAFETY: the handler only touches an atomic and returns through the frame.
        ensure!(unsafe { rt_sigaction(SIGUSR1, Some(&act), None) }.is_ok());
        ensure!(tgkill(getpid(), gettid(), SIGUSR1).is_ok());
        ensure!(SIGRETURNS.load(Ordering::SeqCst) == 1);
        ensure!(tgkill(getpid(), gettid(), SIGUSR1).is_ok());
        ensure!(SIGRETURNS.load(Ordering::SeqCst) == 2);
        // The frame's mask came back: SIGUSR1 is not left blocked.
        let mut m = SigSet::FULL;
        ensure!(rt_sigprocmask(SigprocmaskHow::BLOCK, None, Some(&mut m)).is_ok());
        ensure!(!m.contains(SIGUSR1));
        // sigreturn reset the restart block: restarting nothing is EINTR.
        // SAFETY: no restartable call is pending.
        ensure!(unsafe { restart_syscall() } == Err(Errno::EINTR));
        0
    });
}
