//! CRIU's futexes and mutexes (`include/common/lock.h`), bit for bit: the restorer shares
//! them with CRIU's main process and the other restored tasks (`task_entries` lives in
//! shared memory), so every value and every wake must be the one CRIU's code expects.
//! Shared memory between processes: the futex calls are never `FUTEX_PRIVATE`.

use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use criu_abi::raw::{futex_t, mutex_t};
use pie_sys::errno::Errno;
use pie_sys::futex as fx;
use pie_sys::timespec::Timespec;

/// Set in a futex's value when a waiter must stop waiting (`FUTEX_ABORT_FLAG`).
pub const ABORT_FLAG: u32 = 0x8000_0000;
/// The value an aborted futex holds (`FUTEX_ABORT_RAW`).
pub const ABORT_RAW: u32 = u32::MAX;
const _: () = assert!(ABORT_RAW & ABORT_FLAG != 0);

/// A CRIU `futex_t` the restorer was handed.
#[derive(Clone, Copy)]
pub struct Futex<'a>(&'a AtomicU32);

impl<'a> Futex<'a> {
    /// # Safety
    /// `f` must point to a live, 4-byte aligned `futex_t` for `'a`.
    pub unsafe fn from_raw(f: *mut futex_t) -> Futex<'a> {
        // SAFETY: futex_t is one aligned int (its `atomic_t`); the caller vouches that it
        // is live for 'a. Other tasks change it concurrently: hence atomics.
        Futex(unsafe { AtomicU32::from_ptr(f.cast::<u32>()) })
    }

    /// A futex in the restorer's own memory (the thread counter).
    pub const fn new(word: &'a AtomicU32) -> Futex<'a> {
        Futex(word)
    }

    pub fn get(self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }

    fn wake_all(self) {
        // A wake can only fail on a bad address, which `from_raw`'s contract rules out:
        // lock.h treats it as a bug; so does this.
        wake(self.0, i32::MAX as u32);
    }

    pub fn set_and_wake(self, v: u32) {
        self.0.store(v, Ordering::SeqCst);
        self.wake_all();
    }

    /// `futex_abort_and_wake`: every waiter stops waiting. A failed wake is not a lock
    /// bug here: this is already the way out, and the bug path would come back to it.
    pub fn abort_and_wake(self) {
        self.0.store(ABORT_RAW, Ordering::SeqCst);
        let _ = fx::wake(self.0, i32::MAX as u32);
    }

    pub fn dec_and_wake(self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        self.wake_all();
    }

    /// `futex_wait_while`: sleep while the value is `v`.
    pub fn wait_while(self, v: u32) {
        while self.get() == v {
            match wait(self.0, v, None) {
                Ok(()) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                Err(_) => lock_bug(),
            }
        }
    }

    /// `futex_wait_while_gt`: sleep while the value is above `v`, or until aborted.
    pub fn wait_while_gt(self, v: u32) {
        self.wait_until_cond(|cur| cur <= v)
    }

    /// `futex_wait_while_eq`: sleep while the value is `v`, or until aborted.
    pub fn wait_while_eq(self, v: u32) {
        self.wait_until_cond(|cur| cur != v)
    }

    /// `futex_wait_if_cond`: sleep until `done(value)` or an abort, re-checking every
    /// 120 s as lock.h does.
    fn wait_until_cond(self, done: impl Fn(u32) -> bool) {
        loop {
            let cur = self.get();
            if cur & ABORT_FLAG != 0 || done(cur) {
                return;
            }
            let to = Timespec::new(120, 0);
            match wait(self.0, cur, Some(&to)) {
                Ok(()) | Err(Errno::ETIMEDOUT) | Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                Err(_) => lock_bug(),
            }
        }
    }
}

/// A CRIU `mutex_t` (the last-pid and cgroupd locks in `task_entries`).
#[derive(Clone, Copy)]
pub struct Mutex<'a>(&'a AtomicU32);

impl<'a> Mutex<'a> {
    /// # Safety
    /// `m` must point to a live, 4-byte aligned `mutex_t` for `'a`.
    pub unsafe fn from_raw(m: *mut mutex_t) -> Mutex<'a> {
        // SAFETY: as for Futex::from_raw.
        Mutex(unsafe { AtomicU32::from_ptr(m.cast::<u32>()) })
    }

    pub fn lock(self) {
        loop {
            let c = self.0.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
            if c == 1 {
                return;
            }
            match wait(self.0, c, None) {
                Ok(()) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                Err(_) => lock_bug(),
            }
        }
    }

    pub fn unlock(self) {
        self.0.store(0, Ordering::SeqCst);
        wake(self.0, 1);
    }
}

fn wait(word: &AtomicU32, v: u32, timeout: Option<&Timespec>) -> core::result::Result<(), Errno> {
    fx::wait(word, v, timeout)
}

fn wake(word: &AtomicU32, n: u32) {
    if fx::wake(word, n).is_err() {
        lock_bug()
    }
}

/// The futex whose abort tells CRIU and every task that the restore failed
/// (`task_entries->nr_in_progress`), once the task args named it.
static FATAL_ABORT: AtomicPtr<AtomicU32> = AtomicPtr::new(core::ptr::null_mut());

/// Name the futex [`abort_restore`] aborts.
pub fn set_abort_futex(f: Futex<'static>) {
    FATAL_ABORT.store(f.0 as *const AtomicU32 as *mut AtomicU32, Ordering::Release);
}

/// CRIU's abort path: the futex named by [`set_abort_futex`] gets the abort value and
/// every waiter is woken, so CRIU and the other tasks stop waiting and CRIU fails the
/// restore. Nothing to abort before the futex is known.
pub fn abort_restore() {
    // SAFETY: only ever set from a `Futex<'static>`.
    if let Some(word) = unsafe { FATAL_ABORT.load(Ordering::Acquire).as_ref() } {
        Futex(word).abort_and_wake();
    }
}

/// lock.h's `LOCK_BUG`: a futex call failed in a way that cannot happen with valid
/// memory. Abort the restore (CRIU might otherwise wait on a lost wake for ever), then
/// end the task.
#[cold]
fn lock_bug() -> ! {
    abort_restore();
    pie_sys::process::exit_group(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn stage_handshake_between_threads() {
        let w = Arc::new(AtomicU32::new(2));
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            let f = Futex::new(&w2);
            std::thread::sleep(Duration::from_millis(20));
            f.dec_and_wake();
            std::thread::sleep(Duration::from_millis(20));
            f.dec_and_wake();
        });
        Futex::new(&w).wait_while_gt(0);
        assert_eq!(w.load(Ordering::SeqCst), 0);
        t.join().unwrap();
    }

    #[test]
    fn abort_ends_a_wait() {
        let w = Arc::new(AtomicU32::new(5));
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            Futex::new(&w2).abort_and_wake();
        });
        Futex::new(&w).wait_while_gt(1);
        assert_eq!(w.load(Ordering::SeqCst), ABORT_RAW);
        t.join().unwrap();
    }

    /// A futex call that fails in a way lock.h calls a bug aborts the restore before the
    /// task ends: CRIU's futex gets the abort value (CRIU waits on it, not on our exit).
    #[test]
    fn a_lock_bug_aborts_the_restore_then_exits() {
        // The abort word in memory the parent sees after the child is gone.
        // SAFETY: a fresh shared anonymous page, unmapped below.
        let page = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(page, libc::MAP_FAILED);
        // SAFETY: the page is mapped, aligned and zeroed; only atomics touch it.
        let word: &'static AtomicU32 = unsafe { AtomicU32::from_ptr(page.cast()) };
        word.store(7, Ordering::SeqCst);
        let status = crate::test_child::child_status(|| {
            set_abort_futex(Futex::new(word));
            // futex(2) now fails with EPERM: no valid futex call does.
            let ins = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
            let mut prog = [
                ins((libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16, 0, 0, 0),
                ins(
                    (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
                    0,
                    1,
                    libc::SYS_futex as u32,
                ),
                ins(
                    (libc::BPF_RET | libc::BPF_K) as u16,
                    0,
                    0,
                    libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
                ),
                ins((libc::BPF_RET | libc::BPF_K) as u16, 0, 0, libc::SECCOMP_RET_ALLOW),
            ];
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_mut_ptr(),
            };
            // SAFETY: plain prctls on this child, the program outlives the call.
            unsafe {
                assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
                assert_eq!(libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &fprog), 0);
            }
            let other = AtomicU32::new(1);
            Futex::new(&other).wait_while(1);
        });
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 1,
            "status {status:#x}"
        );
        assert_eq!(word.load(Ordering::SeqCst), ABORT_RAW);
        // SAFETY: mapped above; `word` is not used after.
        unsafe { libc::munmap(page, 4096) };
    }

    #[test]
    fn wait_while_returns_when_the_value_moves() {
        let w = Arc::new(AtomicU32::new(3));
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            Futex::new(&w2).set_and_wake(4);
        });
        Futex::new(&w).wait_while(3);
        assert_eq!(w.load(Ordering::SeqCst), 4);
        t.join().unwrap();
    }

    #[test]
    fn mutex_excludes() {
        let m = Arc::new(AtomicU32::new(0));
        let n = Arc::new(AtomicU32::new(0));
        let ts: Vec<_> = (0..4)
            .map(|_| {
                let (m, n) = (m.clone(), n.clone());
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        let mx = Mutex(&m);
                        mx.lock();
                        let v = n.load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        n.store(v + 1, Ordering::Relaxed);
                        mx.unlock();
                    }
                })
            })
            .collect();
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(n.load(Ordering::SeqCst), 2000);
    }
}
