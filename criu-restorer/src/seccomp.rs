//! A thread's seccomp state, as CRIU's `restore_seccomp`: strict mode, or the thread's
//! chain of filters, oldest first. It runs before the creds step, while the thread is
//! still privileged in its user namespace.
//!
//! The filters arrive ready to use: CRIU lays them out in the restorer's private memory
//! as `seccomp_filters_n` `thread_seccomp_filter`s followed by their instructions
//! (`seccomp_filters_data`) and points each `sock_fprog.filter` into that data
//! (`seccomp_rst_reloc`, in CRIU's own process, before the restorer runs), so there is
//! nothing to fix up here.

use core::ffi::c_void;

use criu_abi::raw::{thread_restore_args, thread_seccomp_filter};
use pie_sys::errno::Errno;
use pie_sys::process::{
    self, SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_MODE_DISABLED, SECCOMP_MODE_FILTER, SECCOMP_MODE_STRICT,
    SECCOMP_SET_MODE_FILTER,
};

use crate::error::{Failed, Result};
use crate::log::Hex;
use crate::prctl_bits as pr;
use crate::{bail, pr_debug, pr_err};

/// Restore the calling thread's seccomp mode and filters from its args.
pub fn restore(args: &thread_restore_args) -> Result {
    restore_mode(args.seccomp_mode, filters(args), args.seccomp_force_tsync)
}

/// The thread's filters as CRIU relocated them.
pub fn filters(args: &thread_restore_args) -> &[thread_seccomp_filter] {
    // SAFETY: with a non-zero count CRIU points `seccomp_filters` at that many entries
    // in the restorer's private memory, mapped and unchanged for the whole restore.
    unsafe { crate::args::slice(args.seccomp_filters, args.seccomp_filters_n) }
}

/// Set `mode` (`SECCOMP_MODE_*`); for filter mode install `filters` in order, each with
/// `SECCOMP_FILTER_FLAG_TSYNC` added when `force_tsync` (CRIU sets it when the image
/// predates per-thread filters, so one chain goes to every thread).
pub fn restore_mode(mode: i32, filters: &[thread_seccomp_filter], force_tsync: bool) -> Result {
    let tid = process::gettid();
    match mode {
        SECCOMP_MODE_DISABLED => {
            pr_debug!("seccomp: mode ", SECCOMP_MODE_DISABLED, " on tid ", tid);
            return Ok(());
        }
        SECCOMP_MODE_STRICT => {
            // CRIU stops its log using the vDSO's gettimeofday here (strict mode disables
            // the TSC); this log always makes the raw syscall, so there is nothing to switch.
            if let Err(e) = pr::set_seccomp_strict() {
                pr_err!("seccomp: SECCOMP_MODE_STRICT returned ", e, " on tid ", tid);
                return Err(Failed);
            }
        }
        SECCOMP_MODE_FILTER => install(filters, force_tsync, tid)?,
        _ => bail!("seccomp: Unknown seccomp mode ", mode, " on tid ", tid),
    }
    pr_debug!("seccomp: Restored mode ", mode, " on tid ", tid);
    Ok(())
}

fn install(filters: &[thread_seccomp_filter], force_tsync: bool, tid: i32) -> Result {
    let tsync = if force_tsync { SECCOMP_FILTER_FLAG_TSYNC } else { 0 };
    for (i, f) in filters.iter().enumerate() {
        let flags = f.flags | tsync;
        pr_debug!(
            "seccomp: Restoring mode ",
            SECCOMP_SET_MODE_FILTER,
            " flags ",
            Hex(flags as u64),
            " on tid ",
            tid,
            " filter ",
            i
        );
        let prog = &f.sock_fprog as *const _ as *mut c_void;
        // SAFETY: SECCOMP_SET_MODE_FILTER reads the sock_fprog and the `len` instructions
        // it points to, which CRIU laid out in the restorer's memory (module docs).
        match unsafe { process::seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) } {
            Ok(_) => {}
            Err(Errno::ENOSYS) => {
                pr_debug!("seccomp: sys_seccomp is not supported in kernel, switching to prctl interface");
                if let Err(e) = pr::set_seccomp_filter(&f.sock_fprog) {
                    bail!("seccomp: PR_SET_SECCOMP returned ", e, " on tid ", tid);
                }
            }
            Err(e) => bail!("seccomp: SECCOMP_SET_MODE_FILTER returned ", e, " on tid ", tid),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::{child_status, in_child};
    use criu_abi::raw::sock_filter;
    use pie_sys::process::{BPF_ABS, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W};
    use pie_sys::process::{SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO};

    /// A filter: syscall `nr` fails with `errno`, everything else runs.
    fn deny(nr: i64, errno: i32) -> Vec<sock_filter> {
        let ins = |code: u16, jt: u8, jf: u8, k: u32| sock_filter { code, jt, jf, k };
        vec![
            // seccomp_data.nr is at offset 0.
            ins(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0),
            ins(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, nr as u32),
            ins(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | errno as u32),
            ins(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW),
        ]
    }

    /// CRIU's layout (`seccomp_prepare_threads` + `seccomp_rst_reloc`): the entries, then
    /// every program's instructions, each `filter` pointing into them.
    struct Layout {
        mem: Vec<u64>,
        n: usize,
    }

    impl Layout {
        fn new(progs: &[Vec<sock_filter>]) -> Layout {
            let head = progs.len() * size_of::<thread_seccomp_filter>();
            let data: usize = progs.iter().map(|p| p.len() * size_of::<sock_filter>()).sum();
            let mut mem = vec![0u64; (head + data).div_ceil(8)];
            let base = mem.as_mut_ptr().cast::<u8>();
            let mut off = head;
            for (i, p) in progs.iter().enumerate() {
                // SAFETY: `mem` holds the entries and all instructions; u64 alignment
                // suits both types.
                unsafe {
                    let ins = base.add(off).cast::<sock_filter>();
                    core::ptr::copy_nonoverlapping(p.as_ptr(), ins, p.len());
                    let mut f = thread_seccomp_filter::default();
                    f.sock_fprog.len = p.len() as u16;
                    f.sock_fprog.filter = ins;
                    base.cast::<thread_seccomp_filter>().add(i).write(f);
                }
                off += p.len() * size_of::<sock_filter>();
            }
            Layout { mem, n: progs.len() }
        }

        fn args(&mut self, mode: i32) -> thread_restore_args {
            thread_restore_args {
                seccomp_mode: mode,
                seccomp_filters_n: self.n as u32,
                seccomp_filters: self.mem.as_mut_ptr().cast(),
                ..Default::default()
            }
        }
    }

    fn raw_syscall(nr: i64) -> (i64, i32) {
        // SAFETY: getpid/getppid/getuid take no arguments.
        let r = unsafe { libc::syscall(nr) };
        (r, std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    fn status(field: &str) -> String {
        let s = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        s.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(":\t").map(str::to_owned))
            .unwrap()
    }

    #[test]
    fn filters_are_installed_in_order() {
        in_child(|| {
            let mut l = Layout::new(&[
                deny(libc::SYS_getpid, libc::EPERM),
                deny(libc::SYS_getppid, libc::EACCES),
            ]);
            let mut args = l.args(SECCOMP_MODE_FILTER);
            args.seccomp_force_tsync = true;
            assert_eq!(filters(&args).len(), 2);
            restore(&args).unwrap();
            assert_eq!(raw_syscall(libc::SYS_getpid), (-1, libc::EPERM));
            assert_eq!(raw_syscall(libc::SYS_getppid), (-1, libc::EACCES));
            assert!(raw_syscall(libc::SYS_getuid).0 >= 0);
            assert_eq!(status("Seccomp"), "2");
            assert_eq!(status("Seccomp_filters"), "2");
        });
    }

    #[test]
    fn disabled_and_unknown_modes() {
        in_child(|| {
            let mut l = Layout::new(&[deny(libc::SYS_getpid, libc::EPERM)]);
            restore(&l.args(SECCOMP_MODE_DISABLED)).unwrap();
            assert_eq!(status("Seccomp"), "0");
            assert!(raw_syscall(libc::SYS_getpid).0 > 0);
            assert!(restore(&l.args(7)).is_err());
            assert_eq!(status("Seccomp"), "0");
            // A bad program (len 0) fails the restore.
            let mut bad = thread_restore_args::default();
            let f = [thread_seccomp_filter::default()];
            bad.seccomp_mode = SECCOMP_MODE_FILTER;
            bad.seccomp_filters_n = 1;
            bad.seccomp_filters = f.as_ptr().cast_mut();
            assert!(restore(&bad).is_err());
        });
    }

    #[test]
    fn strict_mode_allows_only_exit_read_write() {
        // After strict mode the child can only leave through exit(2)...
        let st = child_status(|| {
            restore(&thread_restore_args {
                seccomp_mode: SECCOMP_MODE_STRICT,
                ..Default::default()
            })
            .unwrap();
            process::exit(42);
        });
        assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 42, "status {st:#x}");
        // ...and any other call kills it.
        let st = child_status(|| {
            restore(&thread_restore_args {
                seccomp_mode: SECCOMP_MODE_STRICT,
                ..Default::default()
            })
            .unwrap();
            process::getpid();
            process::exit(0);
        });
        assert!(
            libc::WIFSIGNALED(st) && libc::WTERMSIG(st) == libc::SIGKILL,
            "status {st:#x}"
        );
    }
}
