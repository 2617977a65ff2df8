//! The constants `pie_sys` writes by hand (neither `linux-raw-sys` nor `syscalls`
//! has them) against the C headers of this machine: a C program prints each value, this
//! test compares.
//!
//! Macros that this machine's headers may predate are printed under `#ifdef`; such a
//! name may be absent only if it is in [`NEWER_THAN_HEADERS`]. Facts without a C
//! spelling are checked where they are used instead: `TASK_COMM_LEN` (the `PR_SET_NAME`
//! test), `GDT_ENTRY_TLS_MIN` (the `set_thread_area` test), `RSEQ_ORIG_SIZE` (the `rseq`
//! registration test); `IO_URING_PROBE_OPS` is the length this crate picks for its probe.

use std::fmt::Write as _;
use std::path::PathBuf;

use c_probe::CProgram;

use pie_sys::{aio, creds, fs, futex, io_uring, ioctl, mm, mount, net, notify, path, process};
use pie_sys::{sched, signal, thread, timespec};

/// Names whose macros came after the oldest kernel headers the project builds on.
const NEWER_THAN_HEADERS: &[&str] = &[
    "RWF_NOAPPEND",       // Linux 6.9
    "PIDFD_THREAD",       // Linux 6.9
    "ARCH_SHSTK_ENABLE",  // Linux 6.6
    "ARCH_SHSTK_DISABLE", // Linux 6.6
    "ARCH_SHSTK_LOCK",    // Linux 6.6
    "ARCH_SHSTK_UNLOCK",  // Linux 6.6
    "ARCH_SHSTK_STATUS",  // Linux 6.6
];

/// One constant: its name, the C expression for it (`None`: the name itself, a macro
/// checked under `#ifdef`; `Some`: an expression that must compile), its width in bits and
/// its Rust value.
struct Check {
    name: &'static str,
    c: Option<&'static str>,
    bits: u32,
    value: i128,
}

macro_rules! checks {
    ($($name:literal $(= $c:literal)? : $v:expr),* $(,)?) => {
        vec![$(Check {
            name: $name,
            c: checks!(@c $($c)?),
            bits: 8 * core::mem::size_of_val(&$v) as u32,
            value: $v as i128,
        }),*]
    };
    (@c) => { None };
    (@c $c:literal) => { Some($c) };
}

fn table() -> Vec<Check> {
    checks![
        "IOCB_CMD_PREAD" = "IOCB_CMD_PREAD": aio::IOCB_CMD_PREAD,
        "IOCB_CMD_PWRITE" = "IOCB_CMD_PWRITE": aio::IOCB_CMD_PWRITE,
        "IOCB_CMD_FSYNC" = "IOCB_CMD_FSYNC": aio::IOCB_CMD_FSYNC,
        "IOCB_CMD_FDSYNC" = "IOCB_CMD_FDSYNC": aio::IOCB_CMD_FDSYNC,
        "IOCB_CMD_POLL" = "IOCB_CMD_POLL": aio::IOCB_CMD_POLL,
        "IOCB_CMD_NOOP" = "IOCB_CMD_NOOP": aio::IOCB_CMD_NOOP,
        "IOCB_CMD_PREADV" = "IOCB_CMD_PREADV": aio::IOCB_CMD_PREADV,
        "IOCB_CMD_PWRITEV" = "IOCB_CMD_PWRITEV": aio::IOCB_CMD_PWRITEV,
        "IOCB_FLAG_RESFD": aio::IOCB_FLAG_RESFD,
        "IOCB_FLAG_IOPRIO": aio::IOCB_FLAG_IOPRIO,
        "ID_UNCHANGED" = "(unsigned int)-1": creds::ID_UNCHANGED,
        "LINUX_CAPABILITY_VERSION_3" = "_LINUX_CAPABILITY_VERSION_3": creds::LINUX_CAPABILITY_VERSION_3,
        "LINUX_CAPABILITY_VERSION_1" = "_LINUX_CAPABILITY_VERSION_1": creds::LINUX_CAPABILITY_VERSION_1,
        "SECURE_NO_SETUID_FIXUP": creds::SECURE_NO_SETUID_FIXUP,
        "RWF_NOAPPEND": fs::RWF_NOAPPEND,
        "CLOSE_RANGE_UNSHARE": fs::CLOSE_RANGE_UNSHARE,
        "CLOSE_RANGE_CLOEXEC": fs::CLOSE_RANGE_CLOEXEC,
        "FUTEX_WAIT_PRIVATE": futex::FUTEX_WAIT_PRIVATE,
        "FUTEX_WAKE_PRIVATE": futex::FUTEX_WAKE_PRIVATE,
        "FUTEX_WAIT_BITSET_PRIVATE": futex::FUTEX_WAIT_BITSET_PRIVATE,
        "FUTEX_WAKE_BITSET_PRIVATE": futex::FUTEX_WAKE_BITSET_PRIVATE,
        "IOSQE_FIXED_FILE": io_uring::IOSQE_FIXED_FILE,
        "IOSQE_IO_DRAIN": io_uring::IOSQE_IO_DRAIN,
        "IOSQE_IO_LINK": io_uring::IOSQE_IO_LINK,
        "IOSQE_IO_HARDLINK": io_uring::IOSQE_IO_HARDLINK,
        "IOSQE_ASYNC": io_uring::IOSQE_ASYNC,
        "IOSQE_BUFFER_SELECT": io_uring::IOSQE_BUFFER_SELECT,
        "IOSQE_CQE_SKIP_SUCCESS": io_uring::IOSQE_CQE_SKIP_SUCCESS,
        "IOC_NONE" = "_IOC_NONE": ioctl::IOC_NONE,
        "IOC_WRITE" = "_IOC_WRITE": ioctl::IOC_WRITE,
        "IOC_READ" = "_IOC_READ": ioctl::IOC_READ,
        "PAGE_SIZE" = "sysconf(_SC_PAGESIZE)": mm::PAGE_SIZE,
        "IPC_PRIVATE" = "IPC_PRIVATE": mm::IPC_PRIVATE,
        "IPC_CREAT": mm::IPC_CREAT,
        "IPC_EXCL": mm::IPC_EXCL,
        "IPC_NOWAIT": mm::IPC_NOWAIT,
        "IPC_RMID": mm::IPC_RMID,
        "IPC_SET": mm::IPC_SET,
        "IPC_STAT": mm::IPC_STAT,
        "SHM_RDONLY": mm::SHM_RDONLY,
        "SHM_RND": mm::SHM_RND,
        "SHM_REMAP": mm::SHM_REMAP,
        "SHM_EXEC": mm::SHM_EXEC,
        "OPEN_TREE_CLOEXEC": mount::OPEN_TREE_CLOEXEC,
        "SOCK_NONBLOCK": net::SOCK_NONBLOCK,
        "SOCK_CLOEXEC": net::SOCK_CLOEXEC,
        "SOCKADDR_STORAGE_SIZE" = "sizeof(struct sockaddr_storage)": net::SOCKADDR_STORAGE_SIZE,
        "FAN_CLOEXEC": notify::FAN_CLOEXEC,
        "FAN_NONBLOCK": notify::FAN_NONBLOCK,
        "FAN_CLASS_NOTIF": notify::FAN_CLASS_NOTIF,
        "FAN_CLASS_CONTENT": notify::FAN_CLASS_CONTENT,
        "FAN_CLASS_PRE_CONTENT": notify::FAN_CLASS_PRE_CONTENT,
        "FAN_UNLIMITED_QUEUE": notify::FAN_UNLIMITED_QUEUE,
        "FAN_UNLIMITED_MARKS": notify::FAN_UNLIMITED_MARKS,
        "FAN_ENABLE_AUDIT": notify::FAN_ENABLE_AUDIT,
        "FAN_REPORT_PIDFD": notify::FAN_REPORT_PIDFD,
        "FAN_REPORT_TID": notify::FAN_REPORT_TID,
        "FAN_REPORT_FID": notify::FAN_REPORT_FID,
        "FAN_REPORT_DIR_FID": notify::FAN_REPORT_DIR_FID,
        "FAN_REPORT_NAME": notify::FAN_REPORT_NAME,
        "FAN_MARK_ADD": notify::FAN_MARK_ADD,
        "FAN_MARK_REMOVE": notify::FAN_MARK_REMOVE,
        "FAN_MARK_DONT_FOLLOW": notify::FAN_MARK_DONT_FOLLOW,
        "FAN_MARK_ONLYDIR": notify::FAN_MARK_ONLYDIR,
        "FAN_MARK_MOUNT": notify::FAN_MARK_MOUNT,
        "FAN_MARK_IGNORED_MASK": notify::FAN_MARK_IGNORED_MASK,
        "FAN_MARK_IGNORED_SURV_MODIFY": notify::FAN_MARK_IGNORED_SURV_MODIFY,
        "FAN_MARK_FLUSH": notify::FAN_MARK_FLUSH,
        "FAN_MARK_FILESYSTEM": notify::FAN_MARK_FILESYSTEM,
        "FAN_MARK_INODE": notify::FAN_MARK_INODE,
        "FAN_ACCESS": notify::FAN_ACCESS,
        "FAN_MODIFY": notify::FAN_MODIFY,
        "FAN_ATTRIB": notify::FAN_ATTRIB,
        "FAN_CLOSE_WRITE": notify::FAN_CLOSE_WRITE,
        "FAN_CLOSE_NOWRITE": notify::FAN_CLOSE_NOWRITE,
        "FAN_OPEN": notify::FAN_OPEN,
        "FAN_MOVED_FROM": notify::FAN_MOVED_FROM,
        "FAN_MOVED_TO": notify::FAN_MOVED_TO,
        "FAN_CREATE": notify::FAN_CREATE,
        "FAN_DELETE": notify::FAN_DELETE,
        "FAN_DELETE_SELF": notify::FAN_DELETE_SELF,
        "FAN_MOVE_SELF": notify::FAN_MOVE_SELF,
        "FAN_OPEN_EXEC": notify::FAN_OPEN_EXEC,
        "FAN_Q_OVERFLOW": notify::FAN_Q_OVERFLOW,
        "FAN_OPEN_PERM": notify::FAN_OPEN_PERM,
        "FAN_ACCESS_PERM": notify::FAN_ACCESS_PERM,
        "FAN_OPEN_EXEC_PERM": notify::FAN_OPEN_EXEC_PERM,
        "FAN_EVENT_ON_CHILD": notify::FAN_EVENT_ON_CHILD,
        "FAN_ONDIR": notify::FAN_ONDIR,
        "FANOTIFY_METADATA_VERSION": notify::FANOTIFY_METADATA_VERSION,
        "UFFDIO_API": notify::UFFDIO_API,
        "UFFDIO_REGISTER": notify::UFFDIO_REGISTER,
        "UFFDIO_UNREGISTER": notify::UFFDIO_UNREGISTER,
        "UFFDIO_WAKE": notify::UFFDIO_WAKE,
        "UFFDIO_COPY": notify::UFFDIO_COPY,
        "UFFDIO_ZEROPAGE": notify::UFFDIO_ZEROPAGE,
        "SFD_CLOEXEC": notify::SFD_CLOEXEC,
        "SFD_NONBLOCK": notify::SFD_NONBLOCK,
        "MAX_HANDLE_SZ": path::MAX_HANDLE_SZ,
        "WSTOPPED": process::WaitOptions::STOPPED.bits(),
        "__WCLONE": process::WaitOptions::CLONE.bits(),
        "PIDFD_NONBLOCK": process::PIDFD_NONBLOCK,
        "PIDFD_THREAD": process::PIDFD_THREAD,
        "PER_LINUX" = "PER_LINUX": process::PER_LINUX,
        "ADDR_NO_RANDOMIZE" = "ADDR_NO_RANDOMIZE": process::ADDR_NO_RANDOMIZE,
        "READ_IMPLIES_EXEC" = "READ_IMPLIES_EXEC": process::READ_IMPLIES_EXEC,
        "PERSONALITY_QUERY" = "0xffffffffu": process::PERSONALITY_QUERY,
        "KCMP_FILE" = "KCMP_FILE": process::KCMP_FILE,
        "KCMP_VM" = "KCMP_VM": process::KCMP_VM,
        "KCMP_FILES" = "KCMP_FILES": process::KCMP_FILES,
        "KCMP_FS" = "KCMP_FS": process::KCMP_FS,
        "KCMP_SIGHAND" = "KCMP_SIGHAND": process::KCMP_SIGHAND,
        "KCMP_IO" = "KCMP_IO": process::KCMP_IO,
        "KCMP_SYSVSEM" = "KCMP_SYSVSEM": process::KCMP_SYSVSEM,
        "KCMP_EPOLL_TFD" = "KCMP_EPOLL_TFD": process::KCMP_EPOLL_TFD,
        "PTRACE_PEEKUSER" = "PTRACE_PEEKUSER": process::PTRACE_PEEKUSER,
        "PTRACE_POKEUSER" = "PTRACE_POKEUSER": process::PTRACE_POKEUSER,
        "SCHED_OTHER": sched::SCHED_OTHER,
        "RLIM_INFINITY": sched::RLIM_INFINITY,
        "SIGPOLL": signal::SIGPOLL,
        "SIGRTMAX" = "SIGRTMAX": signal::SIGRTMAX,
        "NSIG": signal::NSIG,
        "SIG_DFL" = "(unsigned long)SIG_DFL": signal::SIG_DFL,
        "SIG_IGN" = "(unsigned long)SIG_IGN": signal::SIG_IGN,
        "ARCH_SET_GS": thread::ARCH_SET_GS,
        "ARCH_GET_FS": thread::ARCH_GET_FS,
        "ARCH_GET_GS": thread::ARCH_GET_GS,
        "ARCH_GET_CPUID": thread::ARCH_GET_CPUID,
        "ARCH_SET_CPUID": thread::ARCH_SET_CPUID,
        "ARCH_GET_XCOMP_SUPP": thread::ARCH_GET_XCOMP_SUPP,
        "ARCH_GET_XCOMP_PERM": thread::ARCH_GET_XCOMP_PERM,
        "ARCH_REQ_XCOMP_PERM": thread::ARCH_REQ_XCOMP_PERM,
        "ARCH_MAP_VDSO_X32": thread::ARCH_MAP_VDSO_X32,
        "ARCH_MAP_VDSO_32": thread::ARCH_MAP_VDSO_32,
        "ARCH_MAP_VDSO_64": thread::ARCH_MAP_VDSO_64,
        "ARCH_SHSTK_ENABLE": thread::ARCH_SHSTK_ENABLE,
        "ARCH_SHSTK_DISABLE": thread::ARCH_SHSTK_DISABLE,
        "ARCH_SHSTK_LOCK": thread::ARCH_SHSTK_LOCK,
        "ARCH_SHSTK_UNLOCK": thread::ARCH_SHSTK_UNLOCK,
        "ARCH_SHSTK_STATUS": thread::ARCH_SHSTK_STATUS,
        "RSEQ_FLAG_UNREGISTER" = "RSEQ_FLAG_UNREGISTER": thread::RSEQ_FLAG_UNREGISTER,
        "RSEQ_SIG": thread::RSEQ_SIG,
        "RSEQ_CPU_ID_UNINITIALIZED" = "(unsigned int)RSEQ_CPU_ID_UNINITIALIZED": thread::RSEQ_CPU_ID_UNINITIALIZED,
        "USER_DESC_SEG_32BIT" = "flag_word(1)": thread::USER_DESC_SEG_32BIT,
        "USER_DESC_CONTENTS_SHIFT" = "__builtin_ctz(flag_word(2))": thread::USER_DESC_CONTENTS_SHIFT,
        "USER_DESC_READ_EXEC_ONLY" = "flag_word(3)": thread::USER_DESC_READ_EXEC_ONLY,
        "USER_DESC_LIMIT_IN_PAGES" = "flag_word(4)": thread::USER_DESC_LIMIT_IN_PAGES,
        "USER_DESC_SEG_NOT_PRESENT" = "flag_word(5)": thread::USER_DESC_SEG_NOT_PRESENT,
        "USER_DESC_USEABLE" = "flag_word(6)": thread::USER_DESC_USEABLE,
        "USER_DESC_LM" = "flag_word(7)": thread::USER_DESC_LM,
        "NSEC_PER_SEC" = "1000000000L": timespec::NSEC_PER_SEC,
    ]
}

const PROLOGUE: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/fanotify.h>
#include <sys/ipc.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <asm/ldt.h>
#include <asm/prctl.h>
#include <linux/aio_abi.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/kcmp.h>
#include <linux/rseq.h>
#include <linux/securebits.h>
#include <linux/userfaultfd.h>

/* RSEQ_SIG is the signature the C library picks for x86 (glibc's sys/rseq.h). */
#ifndef RSEQ_SIG
#define RSEQ_SIG 0x53053053
#endif

/* The flag word of struct user_desc (after entry_number, base_addr, limit) with
   bitfield `n` of its declaration order set to 1. */
static unsigned int flag_word(int n) {
    struct user_desc u = {0};
    switch (n) {
    case 1: u.seg_32bit = 1; break;
    case 2: u.contents = 1; break;
    case 3: u.read_exec_only = 1; break;
    case 4: u.limit_in_pages = 1; break;
    case 5: u.seg_not_present = 1; break;
    case 6: u.useable = 1; break;
    case 7: u.lm = 1; break;
    }
    return ((unsigned int *)&u)[3];
}

int main(void) {
"#;

/// The kernel's own headers for the names in [`UAPI_NAMES`]: they clash with the C
/// library's `<fcntl.h>`, so they get a program of their own.
const UAPI_PROLOGUE: &str = r#"
#include <stdio.h>
#include <linux/close_range.h>
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <linux/mount.h>
#include <linux/pidfd.h>
#include <asm-generic/ioctl.h>

int main(void) {
"#;

/// Names checked against the kernel's headers alone.
const UAPI_NAMES: &[&str] = &[
    "RWF_NOAPPEND",
    "CLOSE_RANGE_UNSHARE",
    "CLOSE_RANGE_CLOEXEC",
    "IOSQE_FIXED_FILE",
    "IOSQE_IO_DRAIN",
    "IOSQE_IO_LINK",
    "IOSQE_IO_HARDLINK",
    "IOSQE_ASYNC",
    "IOSQE_BUFFER_SELECT",
    "IOSQE_CQE_SKIP_SUCCESS",
    "IOC_NONE",
    "IOC_WRITE",
    "IOC_READ",
    "OPEN_TREE_CLOEXEC",
    "PIDFD_NONBLOCK",
    "PIDFD_THREAD",
];

/// Compile and run the C program; returns its output, `NAME value` or `NAME absent` a
/// line.
fn c_values(checks: &[Check], prologue: &str, name: &str) -> String {
    let mut src = String::from(prologue);
    for c in checks {
        match c.c {
            Some(expr) => {
                writeln!(src, "    printf(\"{} %lld\\n\", (long long)({expr}));", c.name).unwrap();
            }
            None => {
                let n = c.name;
                writeln!(
                    src,
                    "#ifdef {n}\n    printf(\"{n} %lld\\n\", (long long)({n}));\n#else\n    printf(\"{n} absent\\n\");\n#endif"
                )
                .unwrap();
            }
        }
    }
    src.push_str("    return 0;\n}\n");

    CProgram::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c_headers"), name).run(&src)
}

#[test]
fn hand_written_constants_match_the_c_headers() {
    let (uapi, libc): (Vec<Check>, Vec<Check>) = table().into_iter().partition(|c| UAPI_NAMES.contains(&c.name));
    let out = c_values(&libc, PROLOGUE, "libc") + &c_values(&uapi, UAPI_PROLOGUE, "uapi");
    let values = c_probe::values(&out);
    let checks: Vec<Check> = libc.into_iter().chain(uapi).collect();
    let mut wrong = Vec::new();
    let mut absent = Vec::new();
    for c in &checks {
        let v = *values.get(c.name).unwrap_or_else(|| panic!("no line for {}", c.name));
        if v == "absent" {
            absent.push(c.name);
            continue;
        }
        let cv: i128 = v.parse().unwrap();
        let mask = if c.bits >= 128 { !0 } else { (1i128 << c.bits) - 1 };
        if (cv - c.value) & mask != 0 {
            wrong.push(format!("{}: Rust {} C {}", c.name, c.value, cv));
        }
    }
    assert!(wrong.is_empty(), "differ from the C headers: {wrong:#?}");
    let unexpected: Vec<_> = absent.iter().filter(|n| !NEWER_THAN_HEADERS.contains(n)).collect();
    assert!(unexpected.is_empty(), "missing from the C headers: {unexpected:?}");
}
