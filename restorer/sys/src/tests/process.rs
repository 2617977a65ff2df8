//! process, creds, sched, random: ids, waiting, kill, prctl, personality, namespaces,
//! pidfds, kcmp, seccomp, ptrace, credentials, capabilities, scheduling, rlimits,
//! getrandom.

use core::ffi::c_void;
use std::sync::atomic::AtomicU64;

use super::*;
use crate::creds::*;
use crate::fs::{self, close, open, pipe2, read, write, OFlags};
use crate::process::*;
use crate::random::*;
use crate::sched::*;
use crate::signal::{SigInfo, CLD_EXITED, CLD_KILLED, SIGSTOP};
use crate::thread::{clone, CloneFlags};
use crate::time::{nanosleep, Timespec};

/// A pid that cannot exist (above the largest possible `pid_max`).
const NO_PID: i32 = 0x3fff_fff0;

fn proc_status_field(name: &str) -> String {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("{name} in status"))
        .trim()
        .to_string()
}

fn proc_status_ids(name: &str) -> Vec<u32> {
    proc_status_field(name)
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect()
}

#[test]
fn ids_match_what_std_and_proc_say() {
    assert_eq!(getpid() as u32, std::process::id());
    assert_eq!(getppid() as u32, std::os::unix::process::parent_id());
    let tid = std::fs::read_link("/proc/thread-self").unwrap();
    assert_eq!(tid.to_str().unwrap(), format!("{}/task/{}", getpid(), gettid()));
    let pgid = getpgid(0).unwrap();
    // 0 where the group's leader is outside this PID namespace (a container's runner).
    assert!(pgid >= 0);
    assert_eq!(getpgid(getpid()), Ok(pgid));
    assert!(getsid(0).unwrap() >= 0);
    assert_eq!(getpgid(NO_PID), Err(Errno::ESRCH));
    assert_eq!(getsid(NO_PID), Err(Errno::ESRCH));
    let parent = getpid();
    in_child(|| {
        ensure!(getppid() == parent);
        ensure!(getpid() == gettid());
        ensure!(getpid() != parent);
        let Ok(sid) = setsid() else { return 2 };
        ensure!(sid == getpid());
        ensure!(getsid(0) == Ok(sid));
        ensure!(getpgid(0) == Ok(sid));
        ensure!(setsid() == Err(Errno::EPERM));
        // A session leader cannot change its process group.
        ensure!(setpgid(0, 0) == Err(Errno::EPERM));
        0
    });
}

#[test]
fn wait4_and_waitid_report_exits() {
    // wait4 with status and rusage.
    let pid = fork_spawn(|| 42);
    let mut st = WaitStatus::default();
    let mut ru = Rusage::default();
    assert_eq!(wait4(pid, Some(&mut st), WaitOptions::empty(), Some(&mut ru)), Ok(pid));
    assert!(st.exited() && !st.signaled() && !st.stopped());
    assert_eq!(st.exit_code(), 42);
    assert!(ru.ru_maxrss > 0, "{ru:?}");
    assert_eq!(
        wait4(pid, Some(&mut st), WaitOptions::empty(), None),
        Err(Errno::ECHILD),
        "already reaped"
    );
    assert_eq!(
        wait4(getppid(), None, WaitOptions::empty(), None),
        Err(Errno::ECHILD),
        "not our child"
    );
    assert_eq!(
        wait4(pid, None, WaitOptions::from_bits_retain(0x10_0000), None),
        Err(Errno::EINVAL),
        "bad option"
    );

    // waitid by pid, and WNOHANG while the child still runs.
    let [r, w] = pipe2(OFlags::CLOEXEC).unwrap();
    let pid = fork_spawn(|| {
        let mut b = [0u8; 1];
        let _ = read(&r, &mut b);
        7
    });
    let guard = ChildGuard(pid);
    let mut info = SigInfo::zeroed();
    waitid(P_PID, pid, &mut info, WaitOptions::EXITED | WaitOptions::NOHANG, None).unwrap();
    assert_eq!(info.pid(), 0, "nothing to report yet");
    assert_eq!(wait4(pid, None, WaitOptions::NOHANG, None), Ok(0));
    write(&w, b"x").unwrap();
    let mut ru = Rusage::default();
    waitid(P_PID, pid, &mut info, WaitOptions::EXITED, Some(&mut ru)).unwrap();
    guard.disarm();
    assert_eq!(info.signo, SIGCHLD);
    assert_eq!(info.code, CLD_EXITED);
    assert_eq!(
        (info.pid(), info.status(), info.uid()),
        (pid, 7, getresuid().unwrap().0)
    );
    assert_eq!(
        waitid(P_PID, pid, &mut info, WaitOptions::EXITED, None),
        Err(Errno::ECHILD)
    );
    assert_eq!(waitid(99, 0, &mut info, WaitOptions::EXITED, None), Err(Errno::EINVAL));
    close_fd(r).unwrap();
    close_fd(w).unwrap();
}

#[test]
fn waitid_on_a_pidfd_from_clone3() {
    let mut pidfd = -1i32;
    let args = crate::thread::CloneArgs {
        flags: CloneFlags::PIDFD,
        pidfd: &mut pidfd as *mut i32 as u64,
        exit_signal: SIGCHLD as u64,
        ..Default::default()
    };
    // SAFETY: fork-like; the child exits at once.
    let pid = unsafe { crate::thread::clone3(&args) }.unwrap();
    if pid == 0 {
        exit_group(9);
    }
    assert!(pidfd >= 0);
    let mut info = SigInfo::zeroed();
    waitid(P_PIDFD, pidfd, &mut info, WaitOptions::EXITED, None).unwrap();
    assert_eq!(
        (info.signo, info.code, info.pid(), info.status()),
        (SIGCHLD, CLD_EXITED, pid, 9)
    );
    // SAFETY: the pidfd CLONE_PIDFD made for us; nothing else owns it.
    unsafe { close(pidfd) }.unwrap();
}

#[test]
fn legacy_clone_fork_like_and_thread_exit() {
    let mut ptid = 0i32;
    // SAFETY: fork-like (no CLONE_VM, no stack); the child only calls exit.
    let pid = unsafe {
        clone(
            CloneFlags::PARENT_SETTID,
            SIGCHLD,
            core::ptr::null_mut(),
            &mut ptid,
            core::ptr::null_mut(),
            0,
        )
    }
    .unwrap();
    if pid == 0 {
        // The only thread: exit ends the process with this code.
        exit(5);
    }
    assert_eq!(ptid, pid, "CLONE_PARENT_SETTID");
    let st = wait_child(pid);
    assert!(st.exited());
    assert_eq!(st.exit_code(), 5);
    // SAFETY: CLONE_SIGHAND without CLONE_VM is refused before a child exists.
    let r = unsafe {
        clone(
            crate::thread::CloneFlags::SIGHAND,
            0,
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            0,
        )
    };
    assert_eq!(r, Err(Errno::EINVAL));
}

#[test]
fn kill_and_tgkill() {
    kill(getpid(), 0).unwrap();
    assert_eq!(kill(NO_PID, 0), Err(Errno::ESRCH));
    assert_eq!(kill(getpid(), 999), Err(Errno::EINVAL));
    tgkill(getpid(), gettid(), 0).unwrap();
    assert_eq!(tgkill(getpid(), NO_PID, 0), Err(Errno::ESRCH));
    assert_eq!(tgkill(0, 0, 0), Err(Errno::EINVAL));

    let pid = fork_spawn(|| {
        let _ = nanosleep(&Timespec::new(30, 0), None);
        3
    });
    let guard = ChildGuard(pid);
    kill(pid, SIGKILL).unwrap();
    let st = wait_child(pid);
    guard.disarm();
    assert!(st.signaled() && !st.exited());
    assert_eq!(st.term_sig(), SIGKILL);
    assert!(!st.core_dumped());
}

#[test]
fn prctl_name_dumpable_and_errors() {
    let mut name = [0u8; TASK_COMM_LEN];
    prctl_get_name(&mut name).unwrap();
    let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
    let len = name.iter().position(|&b| b == 0).unwrap();
    assert_eq!(&name[..len], comm.trim_end_matches('\n').as_bytes());
    // SAFETY: PR_GET_DUMPABLE takes no pointer.
    let d = unsafe { prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) }.unwrap();
    assert!(d == 0 || d == 1);
    // SAFETY: an unknown option is refused.
    assert_eq!(unsafe { prctl(0x7fff_0000, 0, 0, 0, 0) }, Err(Errno::EINVAL));
    in_child(|| {
        ensure!(prctl_set_name(c"sys-child-name-too-long").is_ok());
        let mut n = [0u8; TASK_COMM_LEN];
        ensure!(prctl_get_name(&mut n).is_ok());
        ensure!(&n == b"sys-child-name-\0");
        // SAFETY: integer options.
        ensure!(unsafe { prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) }.is_ok());
        // SAFETY: as above: integer options.
        ensure!(unsafe { prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) } == Ok(0));
        // SAFETY: as above: integer options.
        ensure!(unsafe { prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }.is_ok());
        // SAFETY: as above: integer options.
        ensure!(unsafe { prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) } == Ok(1));
        0
    });
}

#[test]
fn personality_query_and_set() {
    let p = personality(PERSONALITY_QUERY).unwrap();
    assert_eq!(p & 0xff, PER_LINUX);
    in_child(|| {
        let Ok(old) = personality(p | ADDR_NO_RANDOMIZE) else {
            return 2;
        };
        ensure!(old == p);
        ensure!(personality(PERSONALITY_QUERY) == Ok(p | ADDR_NO_RANDOMIZE));
        0
    });
    assert_eq!(personality(PERSONALITY_QUERY), Ok(p));
}

#[test]
fn unshare_and_setns() {
    let ns = open(c"/proc/self/ns/uts", OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    in_child(|| {
        ensure!(unshare(CloneFlags::NEWUTS).is_ok());
        let Ok(mine) = open(c"/proc/self/ns/uts", OFlags::RDONLY | OFlags::CLOEXEC, 0) else {
            return 2;
        };
        ensure!(
            kcmp(
                getpid(),
                getpid(),
                KCMP_FILE,
                mine.as_raw_fd() as usize,
                ns.as_raw_fd() as usize
            ) != Ok(0)
        );
        ensure!(setns(&ns, CloneFlags::NEWNET) == Err(Errno::EINVAL));
        ensure!(setns(&ns, CloneFlags::NEWUTS).is_ok());
        ensure!(setns(&ns, CloneFlags::empty()).is_ok());
        ensure!(setns(bad_fd(-1), CloneFlags::empty()) == Err(Errno::EBADF));
        0
    });
    assert_eq!(
        unshare(CloneFlags::from_bits_retain(0x4)),
        Err(Errno::EINVAL),
        "unknown unshare flag"
    );
    close_fd(ns).unwrap();
}

#[test]
fn pidfd_open_getfd_send_signal_and_kcmp() {
    let me = getpid();
    let pidfd = pidfd_open(me, 0).unwrap();
    let d = TempDir::new("pidfd");
    let fd = open(&cpath(&d.file("f", b"x")), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    let copy = pidfd_getfd(&pidfd, &fd, 0).unwrap();
    assert_ne!(&copy, &fd);
    assert_eq!(
        fs::fcntl_getfd(&copy),
        Ok(fs::FdFlags::CLOEXEC),
        "pidfd_getfd sets close-on-exec"
    );
    assert_eq!(
        kcmp(me, me, KCMP_FILE, fd.as_raw_fd() as usize, copy.as_raw_fd() as usize),
        Ok(0)
    );
    let other = open(&cpath(&d.file("g", b"y")), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    let ord = kcmp(me, me, KCMP_FILE, fd.as_raw_fd() as usize, other.as_raw_fd() as usize).unwrap();
    assert!(ord == 1 || ord == 2, "distinct files order: {ord}");
    assert_eq!(kcmp(me, me, KCMP_VM, 0, 0), Ok(0));
    assert_eq!(kcmp(me, me, KCMP_FILES, 0, 0), Ok(0));
    assert_eq!(
        kcmp(me, me, KCMP_FILE, fd.as_raw_fd() as usize, 999_999),
        Err(Errno::EBADF)
    );
    assert_eq!(kcmp(me, me, 99, 0, 0), Err(Errno::EINVAL));
    assert_eq!(kcmp(me, NO_PID, KCMP_VM, 0, 0), Err(Errno::ESRCH));
    assert_eq!(pidfd_getfd(&pidfd, bad_fd(999_999), 0), Err(Errno::EBADF));
    assert_eq!(pidfd_getfd(&pidfd, &fd, 1), Err(Errno::EINVAL));
    pidfd_send_signal(&pidfd, 0, None, 0).unwrap();
    assert_eq!(pidfd_open(NO_PID, 0), Err(Errno::ESRCH));
    assert_eq!(pidfd_open(me, 1), Err(Errno::EINVAL));
    let nb = pidfd_open(me, PIDFD_NONBLOCK).unwrap();
    // A child's VM differs from ours.
    let [r, w] = pipe2(OFlags::CLOEXEC).unwrap();
    let pid = fork_spawn(|| {
        let mut b = [0u8; 1];
        let _ = read(&r, &mut b);
        0
    });
    let guard = ChildGuard(pid);
    assert_ne!(kcmp(me, pid, KCMP_VM, 0, 0), Ok(0));
    assert_eq!(
        kcmp(me, pid, KCMP_FILE, fd.as_raw_fd() as usize, fd.as_raw_fd() as usize),
        Ok(0),
        "inherited fds share the file"
    );
    write(&w, b"x").unwrap();
    assert!(wait_child(pid).exited());
    guard.disarm();
    for f in [pidfd, fd, copy, other, nb, r, w] {
        close_fd(f).unwrap();
    }
}

#[test]
fn seccomp_action_strict_and_filter() {
    seccomp_action_avail(SECCOMP_RET_KILL_PROCESS).unwrap();
    seccomp_action_avail(SECCOMP_RET_ERRNO).unwrap();
    assert_eq!(seccomp_action_avail(0x1234_5678), Err(Errno::EOPNOTSUPP));
    // SAFETY: an unknown operation reads nothing.
    assert_eq!(unsafe { seccomp(99, 0, core::ptr::null_mut()) }, Err(Errno::EINVAL));

    // Strict mode allows exit...
    let st = fork_run(|| {
        // SAFETY: strict mode takes no argument.
        if unsafe { seccomp(SECCOMP_SET_MODE_STRICT, 0, core::ptr::null_mut()) }.is_err() {
            return 2;
        }
        exit(3)
    });
    assert!(st.exited() && st.exit_code() == 3, "{st:?}");
    // ...and kills on anything else.
    let st = fork_run(|| {
        // SAFETY: strict mode takes no argument.
        if unsafe { seccomp(SECCOMP_SET_MODE_STRICT, 0, core::ptr::null_mut()) }.is_err() {
            return 2;
        }
        let _ = getpid();
        exit(4)
    });
    assert!(st.signaled() && st.term_sig() == SIGKILL, "{st:?}");

    // A filter that makes sched_yield fail with errno 77.
    in_child(|| {
        let filter = [
            SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 4),
            SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
            SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            SockFilter::stmt(BPF_LD | BPF_W | BPF_ABS, 0),
            SockFilter::jump(BPF_JMP | BPF_JEQ | BPF_K, syscalls::Sysno::sched_yield as u32, 0, 1),
            SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 77),
            SockFilter::stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        ];
        let prog = SockFprog {
            len: filter.len() as u16,
            filter: filter.as_ptr(),
        };
        // SAFETY: integer option.
        ensure!(unsafe { prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }.is_ok());
        // SAFETY: a valid program that outlives the call (the kernel copies it).
        ensure!(unsafe { seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog as *const SockFprog as *mut c_void,) }.is_ok());
        ensure!(sched_yield() == Err(Errno::EBADFD));
        ensure!(getpid() > 0);
        // SAFETY: integer option.
        ensure!(unsafe { prctl(PR_GET_SECCOMP, 0, 0, 0, 0) } == Ok(2));
        0
    });
}

static PEEK_ME: AtomicU64 = AtomicU64::new(0x1234_5678_9abc_def0);
static POKE_ME: AtomicU64 = AtomicU64::new(0);

#[test]
fn ptrace_traceme_peek_poke_cont() {
    let pid = fork_spawn(|| {
        // SAFETY: TRACEME takes no pointers.
        ensure!(unsafe { ptrace(PTRACE_TRACEME, 0, 0, 0) }.is_ok());
        ensure!(kill(getpid(), SIGSTOP).is_ok());
        ensure!(POKE_ME.load(Ordering::Relaxed) == 0xfeed_f00d);
        0
    });
    let guard = ChildGuard(pid);
    let st = wait_child(pid);
    assert!(st.stopped() && st.stop_sig() == SIGSTOP, "{st:?}");
    let mut word = 0u64;
    // SAFETY: PEEKDATA stores one word at `data`.
    unsafe {
        ptrace(
            PTRACE_PEEKDATA,
            pid,
            PEEK_ME.as_ptr() as usize,
            &mut word as *mut u64 as usize,
        )
    }
    .unwrap();
    assert_eq!(word, 0x1234_5678_9abc_def0);
    // SAFETY: POKEDATA writes the tracee, not us.
    unsafe { ptrace(PTRACE_POKEDATA, pid, POKE_ME.as_ptr() as usize, 0xfeed_f00d) }.unwrap();
    let mut si = SigInfo::zeroed();
    // SAFETY: GETSIGINFO writes one siginfo at `data`.
    unsafe { ptrace(PTRACE_GETSIGINFO, pid, 0, &mut si as *mut SigInfo as usize) }.unwrap();
    assert_eq!(si.signo, SIGSTOP);
    // SAFETY: bad address: the kernel reports EIO/EFAULT, nothing is written.
    assert!(unsafe { ptrace(PTRACE_PEEKDATA, pid, 8, &mut word as *mut u64 as usize) }.is_err());
    // SAFETY: CONT takes a signal number.
    unsafe { ptrace(PTRACE_CONT, pid, 0, 0) }.unwrap();
    let st = wait_child(pid);
    guard.disarm();
    assert!(st.exited() && st.exit_code() == 0, "{st:?}");
    assert_eq!(POKE_ME.load(Ordering::Relaxed), 0, "the poke went to the child");
    // SAFETY: not our tracee: refused.
    assert_eq!(unsafe { ptrace(PTRACE_CONT, pid, 0, 0) }, Err(Errno::ESRCH));
}

#[test]
fn credentials_match_proc() {
    let (r, e, s) = getresuid().unwrap();
    let uids = proc_status_ids("Uid:");
    assert_eq!(vec![r, e, s], uids[..3]);
    assert_eq!(setfsuid(ID_UNCHANGED), uids[3], "an invalid id only queries");
    let (r, e, s) = getresgid().unwrap();
    let gids = proc_status_ids("Gid:");
    assert_eq!(vec![r, e, s], gids[..3]);
    assert_eq!(setfsgid(ID_UNCHANGED), gids[3]);

    let n = getgroups(&mut []).unwrap();
    let mut groups = vec![0u32; n];
    assert_eq!(getgroups(&mut groups), Ok(n));
    assert_eq!(groups, proc_status_ids("Groups:"));
    if n > 0 {
        assert_eq!(getgroups(&mut groups[..n - 1]), Err(Errno::EINVAL), "list too short");
    }

    let root = uids[1] == 0;
    in_child(|| {
        if root {
            ensure!(setgroups(&[1, 2, 3]).is_ok());
            let mut g = [0u32; 4];
            ensure!(getgroups(&mut g) == Ok(3));
            ensure!(g[..3] == [1, 2, 3]);
            ensure!(setresgid(ID_UNCHANGED, 65534, ID_UNCHANGED).is_ok());
            ensure!(matches!(getresgid(), Ok((_, 65534, _))));
            ensure!(setfsuid(1234) == 0);
            ensure!(setfsuid(ID_UNCHANGED) == 1234);
            ensure!(setresuid(65534, 65534, 65534).is_ok());
            ensure!(getresuid() == Ok((65534, 65534, 65534)));
            // Leaving uid 0 drops the capabilities.
            let mut hdr = CapUserHeader {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            };
            let mut data = [CapUserData::default(); 2];
            ensure!(capget(&mut hdr, Some(&mut data)).is_ok());
            ensure!(data[0].effective == 0 && data[1].effective == 0);
            ensure!(setresuid(0, 0, 0) == Err(Errno::EPERM));
            ensure!(setgroups(&[1]) == Err(Errno::EPERM));
        } else {
            ensure!(setgroups(&[1]) == Err(Errno::EPERM));
        }
        ensure!(setresuid(ID_UNCHANGED, ID_UNCHANGED, ID_UNCHANGED).is_ok());
        0
    });
}

#[test]
fn capabilities_get_and_set() {
    let mut hdr = CapUserHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapUserData::default(); 2];
    capget(&mut hdr, Some(&mut data)).unwrap();
    let set = |f: fn(&CapUserData) -> u32| f(&data[0]) as u64 | (f(&data[1]) as u64) << 32;
    let hex = |name| u64::from_str_radix(&proc_status_field(name), 16).unwrap();
    assert_eq!(set(|d| d.effective), hex("CapEff:"));
    assert_eq!(set(|d| d.permitted), hex("CapPrm:"));
    assert_eq!(set(|d| d.inheritable), hex("CapInh:"));
    assert_eq!(have_cap(CAP_SYS_ADMIN), hex("CapEff:") & (1 << CAP_SYS_ADMIN) != 0);

    // A bad version is EINVAL with the kernel's version written back; probing with no
    // data succeeds.
    let mut bad = CapUserHeader {
        version: 0x1234,
        pid: 0,
    };
    assert_eq!(capget(&mut bad, Some(&mut data)), Err(Errno::EINVAL));
    assert_eq!(bad.version, LINUX_CAPABILITY_VERSION_3);
    let mut probe = CapUserHeader { version: 0, pid: 0 };
    capget(&mut probe, None).unwrap();
    assert_eq!(probe.version, LINUX_CAPABILITY_VERSION_3);
    let mut gone = CapUserHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0x3fff_fff0,
    };
    assert_eq!(capget(&mut gone, Some(&mut data)), Err(Errno::ESRCH));

    let full = data;
    in_child(|| {
        let mut d = full;
        let mut hdr = CapUserHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        // Drop CAP_SYS_ADMIN from the effective set, then raise it back from permitted.
        d[0].effective &= !(1 << CAP_SYS_ADMIN);
        ensure!(capset(&mut hdr, &d).is_ok());
        let mut now = [CapUserData::default(); 2];
        ensure!(capget(&mut hdr, Some(&mut now)).is_ok());
        ensure!(now[0].effective & (1 << CAP_SYS_ADMIN) == 0);
        if full[0].permitted & (1 << CAP_SYS_ADMIN) != 0 {
            ensure!(capset(&mut hdr, &full).is_ok());
            ensure!(capget(&mut hdr, Some(&mut now)).is_ok());
            ensure!(now[0].effective & (1 << CAP_SYS_ADMIN) != 0);
        }
        // Effective must stay within permitted.
        let mut over = full;
        over[0].permitted = 0;
        over[1].permitted = 0;
        over[1].effective = full[1].effective | 1;
        ensure!(capset(&mut hdr, &over) == Err(Errno::EPERM));
        0
    });
}

#[test]
fn priorities_and_scheduling_policies() {
    let nice = getpriority(PRIO_PROCESS, 0).unwrap();
    assert!((-20..=19).contains(&nice));
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    assert_eq!(fields[16].parse::<i32>().unwrap(), nice, "nice from /proc");
    setpriority(PRIO_PROCESS, 0, nice).unwrap();
    assert_eq!(setpriority(99, 0, 0), Err(Errno::EINVAL));
    assert_eq!(getpriority(PRIO_PROCESS, NO_PID), Err(Errno::ESRCH));
    assert_eq!(sched_getscheduler(0), Ok(SCHED_OTHER));
    sched_setscheduler(0, SCHED_OTHER, &SchedParam { sched_priority: 0 }).unwrap();
    assert_eq!(
        sched_setscheduler(0, SCHED_OTHER, &SchedParam { sched_priority: 1 }),
        Err(Errno::EINVAL)
    );
    assert_eq!(sched_setscheduler(0, 99, &SchedParam::default()), Err(Errno::EINVAL));
    assert_eq!(sched_getscheduler(NO_PID), Err(Errno::ESRCH));
    sched_yield().unwrap();
    in_child(|| {
        ensure!(setpriority(PRIO_PROCESS, 0, 5).is_ok());
        ensure!(getpriority(PRIO_PROCESS, 0) == Ok(5));
        ensure!(sched_setscheduler(0, SCHED_BATCH, &SchedParam::default()).is_ok());
        ensure!(sched_getscheduler(0) == Ok(SCHED_BATCH));
        ensure!(sched_setscheduler(0, SCHED_IDLE | SCHED_RESET_ON_FORK, &SchedParam::default()).is_ok());
        ensure!(sched_getscheduler(0) == Ok(SCHED_IDLE | SCHED_RESET_ON_FORK));
        0
    });
}

#[test]
fn cpu_affinity() {
    let mut mask = [0u64; 64];
    let n = sched_getaffinity(0, &mut mask).unwrap();
    assert!(n >= 8 && n.is_multiple_of(8) && n <= 512, "{n} bytes");
    let bits: usize = mask.iter().map(|w| w.count_ones() as usize).sum();
    assert!(bits >= 1);
    assert_eq!(crate::sched::cpus_allowed(), Ok(bits));
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let max = online
        .trim()
        .split(',')
        .filter_map(|r| r.rsplit('-').next()?.parse::<usize>().ok())
        .max()
        .unwrap();
    assert!(bits <= max + 1, "{bits} cpus of {online}");
    assert_eq!(sched_getaffinity(0, &mut []), Err(Errno::EINVAL));
    assert_eq!(sched_getaffinity(NO_PID, &mut mask), Err(Errno::ESRCH));
    sched_setaffinity(0, &mask[..n / 8]).unwrap();
    assert_eq!(sched_setaffinity(0, &[0u64; 16]), Err(Errno::EINVAL), "an empty set");
}

#[test]
fn resource_limits() {
    let nofile = getrlimit(RLIMIT_NOFILE).unwrap();
    assert!(nofile.cur <= nofile.max && nofile.cur > 0);
    let mut old = Rlimit::default();
    prlimit64(0, RLIMIT_NOFILE, None, Some(&mut old)).unwrap();
    assert_eq!(old, nofile);
    assert_eq!(getrlimit(99), Err(Errno::EINVAL));
    assert_eq!(
        setrlimit(
            RLIMIT_NOFILE,
            &Rlimit {
                cur: nofile.max.saturating_add(1).max(2),
                max: 1
            }
        ),
        Err(Errno::EINVAL),
        "cur > max"
    );
    let can_raise = have_cap(CAP_SYS_RESOURCE);
    in_child(|| {
        ensure!(setrlimit(RLIMIT_CORE, &Rlimit { cur: 0, max: 0 }).is_ok());
        ensure!(getrlimit(RLIMIT_CORE) == Ok(Rlimit { cur: 0, max: 0 }));
        let raised = setrlimit(RLIMIT_CORE, &Rlimit { cur: 0, max: 4096 });
        ensure!(if can_raise {
            raised.is_ok()
        } else {
            raised == Err(Errno::EPERM)
        });
        let mut prev = Rlimit::default();
        ensure!(prlimit64(0, RLIMIT_NICE, Some(&Rlimit { cur: 0, max: 0 }), Some(&mut prev)).is_ok());
        ensure!(getrlimit(RLIMIT_NICE) == Ok(Rlimit { cur: 0, max: 0 }));
        0
    });
}

#[test]
fn getrandom_fills_buffers() {
    let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
    assert_eq!(getrandom(&mut a, 0), Ok(64));
    assert_eq!(getrandom(&mut b, GRND_NONBLOCK), Ok(64));
    assert!(a.iter().any(|&x| x != 0));
    assert_ne!(a, b);
    assert_eq!(getrandom(&mut a[..0], 0), Ok(0));
    assert_eq!(getrandom(&mut a, GRND_INSECURE), Ok(64));
    assert_eq!(getrandom(&mut a, 0x80), Err(Errno::EINVAL));
    assert_eq!(getrandom(&mut a, GRND_RANDOM | GRND_INSECURE), Err(Errno::EINVAL));
}

#[test]
fn child_killed_by_a_signal_reports_cld_killed() {
    let pid = fork_spawn(|| {
        let _ = nanosleep(&Timespec::new(30, 0), None);
        0
    });
    let guard = ChildGuard(pid);
    kill(pid, SIGKILL).unwrap();
    let mut info = SigInfo::zeroed();
    waitid(P_PID, pid, &mut info, WaitOptions::EXITED, None).unwrap();
    guard.disarm();
    assert_eq!((info.code, info.status()), (CLD_KILLED, SIGKILL));
}
