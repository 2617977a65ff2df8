//! The task's other threads: cloned with their dumped TIDs (clone3's `set_tid` where the
//! kernel has it, else by writing ns_last_pid under CRIU's last-pid mutex), each
//! starting in `__export_restore_thread` on the stack of its own memory zone.

use core::arch::asm;
use core::mem::{offset_of, size_of};

use criu_abi::raw::{restore_mem_zone, task_restore_args, thread_restore_args};
use pie_sys::clone_flags::CloneFlags;
use pie_sys::fd::{BorrowedFd, OwnedFd};
use pie_sys::oflags::OFlags;
use pie_sys::thread::CloneArgs;
use pie_sys::{fs, Errno};
use syscalls::Sysno;

use crate::error::{Failed, Result};
use crate::{args, bail, pr_debug, pr_err, state};

/// The thread entry CRIU's args name (`clone_restore_fn`: our `__export_restore_thread`).
pub type ThreadEntry = unsafe extern "C" fn(*mut thread_restore_args) -> i64;

const THREAD_FLAGS: CloneFlags = CloneFlags::VM
    .union(CloneFlags::FILES)
    .union(CloneFlags::SIGHAND)
    .union(CloneFlags::THREAD)
    .union(CloneFlags::SYSVSEM)
    .union(CloneFlags::FS);

/// The stack a zone's thread starts on: the top of its `stack`, 16-aligned, 16 bytes
/// below the end (CRIU's `restorer_stack`).
pub fn stack_top(mz: *mut restore_mem_zone) -> usize {
    let stack = mz as usize + offset_of!(restore_mem_zone, stack);
    (stack + STACK_SIZE - 16) & !15
}

/// `RESTORE_STACK_SIZE`: the zone's stack, which ends where its signal frame begins.
const STACK_SIZE: usize = 32 << 10;
const _: () = assert!(offset_of!(restore_mem_zone, rt_sigframe) - offset_of!(restore_mem_zone, stack) == STACK_SIZE);

/// Clone every thread of `args` but the leader (the calling thread).
pub fn clone_all(args: &task_restore_args, proc_fd: BorrowedFd<'_>) -> Result {
    if args.nr_threads <= 1 {
        return Ok(());
    }
    let Some(entry) = args.clone_restore_fn else {
        bail!("No thread entry point in the args")
    };
    // SAFETY: CRIU lays out `nr_threads` thread args at `thread_args`, in rst_mem until
    // every thread has counted out; nothing writes them (each thread reads its own).
    let threads = unsafe { args::slice(args.thread_args, args.nr_threads) };
    // SAFETY: `t` is the leader's own entry among them.
    let me = unsafe { (*args.t).pid };
    let last_pid = if args.has_clone3_set_tid {
        None
    } else {
        match fs::openat(proc_fd, c"sys/kernel/ns_last_pid", OFlags::RDWR, 0) {
            Ok(fd) => Some(fd),
            Err(e) => bail!("can't open last pid fd ", e),
        }
    };
    let Some(mutex) = state::last_pid_mutex() else {
        bail!("No task_entries in the args")
    };
    mutex.lock();
    let mut result = Ok(());
    for t in threads.iter().filter(|t| t.pid != me) {
        let tid = t.pid;
        let got = match &last_pid {
            None => clone3_with_tid(t, entry),
            Some(fd) => clone_after_last_pid(t, entry, fd),
        };
        if got != Ok(tid) {
            pr_err!("Unable to create a thread: ", got.unwrap_or_else(|e| e.neg()));
            result = Err(Failed);
            break;
        }
    }
    mutex.unlock();
    result
}

fn clone3_with_tid(t: &thread_restore_args, entry: ThreadEntry) -> core::result::Result<i32, Errno> {
    let sp = stack_top(t.mz);
    let tid = t.pid;
    let mut parent_tid = 0i32;
    let ca = CloneArgs {
        flags: THREAD_FLAGS,
        // Unused: THREAD_FLAGS has neither CHILD_SETTID nor CHILD_CLEARTID.
        child_tid: 0,
        parent_tid: core::ptr::addr_of_mut!(parent_tid) as u64,
        // The kernel starts the thread at stack + stack_size.
        stack: (sp - STACK_SIZE) as u64,
        stack_size: STACK_SIZE as u64,
        set_tid: core::ptr::addr_of!(tid) as u64,
        set_tid_size: 1,
        ..CloneArgs::default()
    };
    pr_debug!("Using clone3 to restore the process");
    // SAFETY: a thread sharing this VM, starting on the unused stack of its own zone
    // (`ca.stack`), with its own args (which it only reads); `ca` and `tid` outlive the call.
    unsafe {
        clone_into(
            Sysno::clone3,
            [&ca as *const CloneArgs as usize, size_of::<CloneArgs>(), 0, 0, 0],
            entry,
            t,
        )
    }
}

fn clone_after_last_pid(
    t: &thread_restore_args,
    entry: ThreadEntry,
    last_pid: &OwnedFd,
) -> core::result::Result<i32, Errno> {
    let mut buf = [0u8; 16];
    let s = decimal(t.pid - 1, &mut buf);
    let _ = fs::lseek(last_pid, 0, 0);
    if let Err(e) = fs::write(last_pid, s) {
        pr_err!("Can't set last_pid ", e, "/", core::str::from_utf8(s).unwrap_or("?"));
        return Err(e);
    }
    let sp = stack_top(t.mz);
    let mut parent_tid = 0i32;
    // clone(2): flags, the new stack pointer, the parent and child tid words (unused
    // without the SETTID flags) and the tls (0).
    let regs = [
        THREAD_FLAGS.bits() as usize,
        sp,
        core::ptr::addr_of_mut!(parent_tid) as usize,
        0,
        0,
    ];
    // SAFETY: a thread sharing this VM, starting on the unused stack of its own zone
    // (`sp`), with its own args (which it only reads).
    unsafe { clone_into(Sysno::clone, regs, entry, t) }
}

/// Issue `nr` (clone or clone3) with `regs` in rdi, rsi, rdx, r10, r8; the child calls
/// `entry(arg)` on the stack the call gave it and never returns. The child runs only the
/// instructions after the branch: registers survive the syscall (rcx and r11, which the
/// syscall clobbers, are marked so no operand lives there), the frame pointer is cleared
/// once the operands are read (the compiler may keep one in rbp).
///
/// # Safety
/// `regs` must make a thread of this VM on a stack nothing else uses, and `arg` must stay
/// valid, and unwritten, for the thread (its entry only reads it).
unsafe fn clone_into(
    nr: Sysno,
    regs: [usize; 5],
    entry: ThreadEntry,
    arg: *const thread_restore_args,
) -> core::result::Result<i32, Errno> {
    let ret: isize;
    // SAFETY: the caller's contract; the child never comes back into this frame (ud2).
    unsafe {
        asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            // Operands may live in rbp: take them before clearing it.
            "mov rdi, {arg}",
            "mov rax, {entry}",
            "xor ebp, ebp",
            "call rax",
            "ud2",
            "2:",
            entry = in(reg) entry,
            arg = in(reg) arg,
            inlateout("rax") nr.id() as isize => ret,
            in("rdi") regs[0],
            in("rsi") regs[1],
            in("rdx") regs[2],
            in("r10") regs[3],
            in("r8") regs[4],
            out("rcx") _,
            out("r11") _,
        );
    }
    decode(ret)
}

fn decode(ret: isize) -> core::result::Result<i32, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_negated(ret as i32).unwrap_or(Errno::EINVAL))
    } else {
        Ok(ret as i32)
    }
}

fn decimal(v: i32, buf: &mut [u8; 16]) -> &[u8] {
    let mut n = buf.len();
    let mut v = v.max(0) as u32;
    loop {
        n -= 1;
        buf[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[n..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_top_is_aligned_inside_the_zone() {
        // SAFETY: restore_mem_zone is plain bytes: all zeroes is a value of it.
        let mz = Box::into_raw(Box::new(unsafe { core::mem::zeroed::<restore_mem_zone>() }));
        let top = stack_top(mz);
        let stack = mz as usize + offset_of!(restore_mem_zone, stack);
        assert_eq!(top % 16, 0);
        assert!(top > stack && top <= stack + STACK_SIZE - 16);
        // SAFETY: made by Box::into_raw above.
        drop(unsafe { Box::from_raw(mz) });
    }

    #[test]
    fn last_pid_is_written_in_decimal() {
        let mut b = [0; 16];
        assert_eq!(decimal(41, &mut b), b"41");
        assert_eq!(decimal(4194303, &mut b), b"4194303");
        assert_eq!(decimal(0, &mut b), b"0");
    }
}
