//! thread and futex: clone3, set_tid_address, robust lists, rseq, TLS descriptors,
//! arch_prctl, membarrier, futex wait/wake.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::creds::{CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN};
use crate::futex::{self, FUTEX_BITSET_MATCH_ANY, FUTEX_WAIT_BITSET_PRIVATE, FUTEX_WAKE_BITSET_PRIVATE};
use crate::process::WaitOptions;
use crate::process::{getpid, gettid, wait4};
use crate::thread::*;
use crate::time::Timespec;

#[test]
fn clone3_fork_like_child_and_wait4() {
    let args = CloneArgs {
        flags: CloneFlags::empty(),
        exit_signal: SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: fork-like (no CLONE_VM, no stack): the child has its own memory and stack
    // and exits at once.
    let pid = unsafe { clone3(&args) }.unwrap();
    if pid == 0 {
        exit_group(17);
    }
    assert!(pid > 0);
    let mut st = WaitStatus::default();
    assert_eq!(wait4(pid, Some(&mut st), WaitOptions::empty(), None), Ok(pid));
    assert!(st.exited());
    assert_eq!(st.exit_code(), 17);
}

#[test]
fn clone3_errors_and_set_tid() {
    // CLONE_THREAD needs CLONE_SIGHAND needs CLONE_VM: refused before a child exists.
    let bad = CloneArgs {
        flags: CloneFlags::THREAD,
        ..CloneArgs::default()
    };
    // SAFETY: the kernel refuses the flags; no child is created.
    assert_eq!(unsafe { clone3(&bad) }, Err(Errno::EINVAL));
    // An exit signal out of range.
    let bad = CloneArgs {
        exit_signal: 100,
        ..CloneArgs::default()
    };
    // SAFETY: refused before a child exists.
    assert_eq!(unsafe { clone3(&bad) }, Err(Errno::EINVAL));

    // set_tid naming a taken pid (ours): EEXIST with the capability, EPERM without. This
    // checks set_tid/set_tid_size sit where the kernel reads them.
    let want = [getpid()];
    let args = CloneArgs {
        exit_signal: SIGCHLD as u64,
        set_tid: want.as_ptr() as u64,
        set_tid_size: 1,
        ..CloneArgs::default()
    };
    // SAFETY: fork-like; should a child be created after all, it exits at once.
    match unsafe { clone3(&args) } {
        Ok(0) => exit_group(0),
        Ok(pid) => panic!("set_tid of a taken pid made child {pid}"),
        Err(e) => {
            let privileged = have_cap(CAP_SYS_ADMIN) || have_cap(CAP_CHECKPOINT_RESTORE);
            assert_eq!(e, if privileged { Errno::EEXIST } else { Errno::EPERM });
        }
    }
    // More set_tid entries than pid namespaces can nest (MAX_PID_NS_LEVEL, 32).
    let many = [getpid(); 33];
    let args = CloneArgs {
        set_tid: many.as_ptr() as u64,
        set_tid_size: 33,
        exit_signal: SIGCHLD as u64,
        ..CloneArgs::default()
    };
    // SAFETY: refused before a child exists.
    assert_eq!(unsafe { clone3(&args) }, Err(Errno::EINVAL));
}

#[test]
fn set_tid_address_returns_the_tid() {
    in_child(|| {
        let mut word = 0i32;
        // SAFETY: the word outlives the (single-threaded) child, which exits right after.
        let tid = unsafe { set_tid_address(&mut word) };
        ensure!(tid == gettid());
        ensure!(tid == getpid());
        0
    });
}

#[test]
fn robust_list_get_and_set() {
    let (head, len) = get_robust_list(0).unwrap();
    assert_eq!(len, core::mem::size_of::<RobustListHead>());
    assert!(!head.is_null(), "the C library registers one per thread");
    // Re-registering the same head is harmless; a wrong length is EINVAL.
    // SAFETY: the head the thread already uses.
    unsafe { set_robust_list(head, len) }.unwrap();
    // SAFETY: as above: the head the thread already uses.
    assert_eq!(unsafe { set_robust_list(head, len - 1) }, Err(Errno::EINVAL));
    assert_eq!(get_robust_list(0), Ok((head, len)));
    assert_eq!(get_robust_list(0x3fff_fff0), Err(Errno::ESRCH));
    in_child(|| {
        let mut mine = RobustListHead::zeroed();
        mine.list = &mut mine.list as *mut *mut core::ffi::c_void as *mut core::ffi::c_void;
        // SAFETY: an empty list (pointing at itself) that lives until the child exits.
        ensure!(unsafe { set_robust_list(&mut mine, core::mem::size_of::<RobustListHead>()) }.is_ok());
        ensure!(get_robust_list(0) == Ok((&mut mine as *mut RobustListHead, 24)));
        0
    });
}

extern "C" {
    /// glibc (2.35+): offset of the thread's rseq area from the thread pointer.
    static __rseq_offset: isize;
    /// glibc (2.35+): size of the registered area, 0 when glibc did not register.
    static __rseq_size: u32;
}

#[test]
fn rseq_registration_and_ebusy() {
    let fs = arch_prctl_get(ARCH_GET_FS).unwrap();
    // SAFETY: glibc defines both symbols, written once at startup.
    let (off, size) = unsafe { (__rseq_offset, __rseq_size) };
    if size == 0 {
        // glibc did not register (tunable off): register our own, then unregister.
        let mut area = Box::new(Rseq::new());
        // SAFETY: the area lives until unregistered below.
        unsafe { rseq(&mut *area, RSEQ_ORIG_SIZE, 0, RSEQ_SIG) }.unwrap();
        assert!(area.cpu_id < 4096);
        // SAFETY: unregistering the area just registered.
        unsafe { rseq(&mut *area, RSEQ_ORIG_SIZE, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) }.unwrap();
        return;
    }
    let glibc = (fs as isize + off) as *mut Rseq;
    // SAFETY: glibc's registered area of this thread: registering it again changes nothing.
    assert_eq!(unsafe { rseq(glibc, RSEQ_ORIG_SIZE, 0, RSEQ_SIG) }, Err(Errno::EBUSY));
    // SAFETY: the kernel reads the area it keeps current.
    let cpu = unsafe { (*glibc).cpu_id };
    assert!(cpu < 4096, "cpu_id {cpu}");
    let mut other = Box::new(Rseq::new());
    assert_eq!(
        // SAFETY: refused (another area is registered); nothing is kept.
        unsafe { rseq(&mut *other, RSEQ_ORIG_SIZE, 0, RSEQ_SIG) },
        Err(Errno::EINVAL)
    );
    // SAFETY: refused (bad length).
    assert_eq!(unsafe { rseq(glibc, 16, 0, RSEQ_SIG) }, Err(Errno::EINVAL));
    let glibc_addr = glibc as usize;
    in_child(move || {
        let glibc = glibc_addr as *mut Rseq;
        // SAFETY: unregistering needs the right signature.
        ensure!(unsafe { rseq(glibc, RSEQ_ORIG_SIZE, RSEQ_FLAG_UNREGISTER, 0x1234) } == Err(Errno::EPERM));
        // SAFETY: the child drops glibc's registration (it never returns to glibc code
        // that uses rseq) and registers an area on its own stack until it exits.
        ensure!(unsafe { rseq(glibc, RSEQ_ORIG_SIZE, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) }.is_ok());
        let mut area = Rseq::new();
        // SAFETY: as above: the child drops glibc's registration (it never returns to glibc code that uses rseq) and registers an area on its own stack until it exits.
        ensure!(unsafe { rseq(&mut area, RSEQ_ORIG_SIZE, 0, RSEQ_SIG) }.is_ok());
        // SAFETY: the kernel updates the area on return to user space.
        let cpu = unsafe { core::ptr::read_volatile(&area.cpu_id) };
        ensure!(cpu < 4096);
        // SAFETY: as above: the kernel updates the area on return to user space.
        ensure!(unsafe { rseq(&mut area, RSEQ_ORIG_SIZE, 0, RSEQ_SIG) } == Err(Errno::EBUSY));
        0
    });
}

#[test]
fn thread_area_descriptors() {
    let mut d = UserDesc {
        entry_number: GDT_ENTRY_TLS_MIN,
        ..UserDesc::default()
    };
    if get_thread_area(&mut d) == Err(Errno::ENOSYS) {
        // x86_64 kernels give the 64-bit entries of both calls no implementation (the
        // table lists them as `64 set_thread_area` with no entry point); they work only
        // through the 32-bit int 0x80 ABI.
        let mut any = UserDesc {
            entry_number: u32::MAX,
            ..UserDesc::default()
        };
        // SAFETY: the call does not exist; nothing changes.
        assert_eq!(unsafe { set_thread_area(&mut any) }, Err(Errno::ENOSYS));
        return;
    }
    let mut bad = UserDesc {
        entry_number: 0,
        ..UserDesc::default()
    };
    assert_eq!(get_thread_area(&mut bad), Err(Errno::EINVAL));
    in_child(|| {
        let mut d = UserDesc {
            entry_number: u32::MAX,
            base_addr: 0x1000,
            limit: 0xfffff,
            flags: USER_DESC_SEG_32BIT | USER_DESC_LIMIT_IN_PAGES | USER_DESC_USEABLE,
        };
        // SAFETY: a free GDT TLS entry that no segment register of this 64-bit child uses.
        ensure!(unsafe { set_thread_area(&mut d) }.is_ok());
        ensure!((GDT_ENTRY_TLS_MIN..GDT_ENTRY_TLS_MIN + 3).contains(&d.entry_number));
        let mut back = UserDesc {
            entry_number: d.entry_number,
            ..UserDesc::default()
        };
        ensure!(get_thread_area(&mut back).is_ok());
        ensure!(back.base_addr == 0x1000 && back.limit == 0xfffff);
        ensure!(back.flags & USER_DESC_SEG_32BIT != 0);
        0
    });
}

#[test]
fn arch_prctl_fs_base() {
    let fs = arch_prctl_get(ARCH_GET_FS).unwrap();
    assert_ne!(fs, 0);
    // glibc's TCB starts with a pointer to itself.
    // SAFETY: the thread pointer addresses the live TCB.
    assert_eq!(unsafe { *(fs as *const u64) }, fs);
    arch_prctl_get(ARCH_GET_GS).unwrap();
    assert_eq!(arch_prctl_get(ARCH_SET_FS), Err(Errno::EINVAL), "not a get code");
    // SAFETY: an unknown code is refused.
    assert_eq!(unsafe { arch_prctl(0x9999, 0) }, Err(Errno::EINVAL));
    // SAFETY: ARCH_GET_CPUID returns its value and takes no pointer.
    assert_eq!(unsafe { arch_prctl(ARCH_GET_CPUID, 0) }, Ok(1));
    let other = std::thread::spawn(|| arch_prctl_get(ARCH_GET_FS).unwrap())
        .join()
        .unwrap();
    assert_ne!(other, fs, "every thread has its own fs base");
}

#[test]
fn membarrier_query_and_private_expedited() {
    let mask = membarrier(MEMBARRIER_CMD_QUERY, 0, 0).unwrap();
    assert_ne!(mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, "mask {mask:#x}");
    assert_ne!(mask & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0);
    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0).unwrap();
    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0).unwrap();
    assert_eq!(membarrier(1 << 20, 0, 0), Err(Errno::EINVAL));
    assert_eq!(membarrier(MEMBARRIER_CMD_QUERY, 1, 0), Err(Errno::EINVAL));
    if mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ != 0 {
        in_child(|| {
            // Without registration, the expedited rseq barrier is refused.
            ensure!(membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) == Err(Errno::EPERM));
            0
        });
    }
}

#[test]
fn futex_wake_without_waiters_and_wait_mismatch() {
    let w = AtomicU32::new(5);
    assert_eq!(futex::wake(&w, 1), Ok(0));
    assert_eq!(futex::wake_private(&w, u32::MAX), Ok(0));
    assert_eq!(futex::wait(&w, 4, None), Err(Errno::EAGAIN));
    assert_eq!(futex::wait_private(&w, 6, None), Err(Errno::EAGAIN));
    let t0 = Instant::now();
    assert_eq!(
        futex::wait_private(&w, 5, Some(&Timespec::from_millis(5))),
        Err(Errno::ETIMEDOUT)
    );
    assert!(t0.elapsed() >= Duration::from_millis(5));
    assert_eq!(futex::wait(&w, 5, Some(&Timespec::new(0, -1))), Err(Errno::EINVAL));
    // SAFETY: an unaligned word is refused before it is read.
    let r = unsafe {
        futex::futex(
            (w.as_ptr() as *const u8).wrapping_add(1).cast(),
            futex::FUTEX_WAKE,
            1,
            0,
            core::ptr::null(),
            0,
        )
    };
    assert_eq!(r, Err(Errno::EINVAL));
    // SAFETY: a bitset wait on a mismatching value returns at once; the bitset wake finds
    // no waiter.
    let r = unsafe {
        futex::futex(
            w.as_ptr(),
            FUTEX_WAIT_BITSET_PRIVATE,
            0,
            0,
            core::ptr::null(),
            FUTEX_BITSET_MATCH_ANY,
        )
    };
    assert_eq!(r, Err(Errno::EAGAIN));
    // SAFETY: as above: a bitset wait on a mismatching value returns at once; the bitset wake finds no waiter.
    let r = unsafe {
        futex::futex(
            w.as_ptr(),
            FUTEX_WAKE_BITSET_PRIVATE,
            1,
            0,
            core::ptr::null(),
            FUTEX_BITSET_MATCH_ANY,
        )
    };
    assert_eq!(r, Ok(0));
}

/// Wait until thread `tid` of this process is blocked in a futex syscall.
fn wait_until_in_futex(tid: i32) {
    let path = format!("/proc/self/task/{tid}/syscall");
    let futex_nr = syscalls::Sysno::futex as usize;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(s) = std::fs::read_to_string(&path) {
            if s.split_whitespace().next().and_then(|n| n.parse::<usize>().ok()) == Some(futex_nr) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("thread {tid} never blocked in futex");
}

fn wait_wake_pair(private: bool) {
    let word = Arc::new(AtomicU32::new(0));
    let tid = Arc::new(AtomicU32::new(0));
    let (w, t) = (word.clone(), tid.clone());
    let waiter = std::thread::spawn(move || {
        t.store(gettid() as u32, Ordering::Release);
        let mut wakes = 0;
        while w.load(Ordering::Acquire) == 0 {
            let r = if private {
                futex::wait_private(&w, 0, Some(&Timespec::new(10, 0)))
            } else {
                futex::wait(&w, 0, Some(&Timespec::new(10, 0)))
            };
            match r {
                Ok(()) => wakes += 1,
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
                Err(e) => panic!("futex wait: {e:?}"),
            }
        }
        wakes
    });
    let t = loop {
        match tid.load(Ordering::Acquire) {
            0 => std::thread::yield_now(),
            t => break t as i32,
        }
    };
    wait_until_in_futex(t);
    word.store(1, Ordering::Release);
    let woken = if private {
        futex::wake_private(&word, 1)
    } else {
        futex::wake(&word, 1)
    };
    assert_eq!(woken, Ok(1));
    assert_eq!(waiter.join().unwrap(), 1);
}

#[test]
fn futex_wait_wake_across_threads_private() {
    wait_wake_pair(true);
}

#[test]
fn futex_wait_wake_across_threads_shared() {
    wait_wake_pair(false);
}

#[test]
fn futex_shared_wake_reaches_a_shared_wait() {
    let word = Arc::new(AtomicU32::new(7));
    let w = word.clone();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        w.store(0, Ordering::Release);
        futex::wake(&w, u32::MAX).unwrap()
    });
    while word.load(Ordering::Acquire) != 0 {
        match futex::wait(&word, 7, Some(&Timespec::new(5, 0))) {
            Ok(()) | Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(h.join().unwrap() <= 1);
}
