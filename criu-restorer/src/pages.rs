//! The pages: CRIU's `restore_vma_io` records read into the VMAs by the engine
//! (`restorer::engine`, strategy `auto`), instead of CRIU's one `preadv` after another;
//! then the pages image is closed.

use criu_abi::raw::task_restore_args;
use restorer::engine::abi::{Options, Strategy};
use restorer::engine::records::Records;
use restorer::sys::fd::{BorrowedFd, OwnedFd};
use restorer::sys::oflags::OFlags;
use restorer::sys::{fs, Errno};

use crate::error::{Failed, Result};
use crate::{pr_err, pr_info};

/// CRIU's `AUTO_DEDUP_OVERHEAD_BYTES`: with auto-dedup, read and punch this much at once.
const AUTO_DEDUP_CHUNK: u64 = 128 << 20;
/// TIDs left free at the top of the PID space for the engine's workers.
const WORKER_TIDS: i32 = 256;

/// Read every record's pages from `args.vma_ios_fd`, then close it.
pub fn restore(args: &task_restore_args, proc_fd: BorrowedFd<'_>) -> Result {
    if args.vma_ios_fd < 0 {
        return Ok(());
    }
    // SAFETY: CRIU hands the restorer the pages image's fd to read and close.
    let fd = unsafe { OwnedFd::from_raw_fd(args.vma_ios_fd) };
    if args.vma_ios_n == 0 {
        return Ok(());
    }
    let mut opts = Options::new(Strategy::Auto);
    if args.auto_dedup {
        opts.dedup_chunk = AUTO_DEDUP_CHUNK;
    }
    match worker_tids(read_pid_max(proc_fd)) {
        WorkerTids::Above(floor) => opts.max_pid = floor,
        WorkerTids::None(why) => {
            // A worker with an arbitrary TID could take one another task of the tree
            // just reserved through ns_last_pid: no worker threads at all.
            pr_info!("pid_max unusable (", why, "): pages read without worker threads");
            opts.workers = 1;
        }
    }
    // SAFETY: CRIU packed `vma_ios_n` records at `vma_ios`, each naming memory of VMAs
    // mapped writable by now; the area lies in the restorer's memory (rst_mem) and stays
    // mapped for the call. Its length is not passed: the records' headers give it.
    let records = unsafe { Records::from_count(args.vma_ios.cast::<u8>(), args.vma_ios_n as usize) };
    let (result, outcome) = restorer::engine::restore(&fd, &records, &opts);
    match result {
        Ok(()) => {
            pr_info!(
                "Restored ",
                outcome.bytes,
                " bytes of pages (strategy ",
                outcome.strategy,
                ", ",
                outcome.workers,
                " threads)"
            );
            Ok(())
        }
        Err(f) => {
            pr_err!(
                "Can't read pages data (",
                f.errno,
                ") in record ",
                f.record,
                " at ",
                f.offset
            );
            Err(Failed)
        }
    }
}

/// Where the engine's worker threads may take their TIDs.
#[derive(Debug, PartialEq, Eq)]
enum WorkerTids {
    /// Above this TID: the top of the PID space, above every TID a restored thread is
    /// likely to need (threads are cloned with `set_tid` after the pages are in; other
    /// tasks of the tree clone theirs concurrently).
    Above(i32),
    /// Nowhere safe (pid_max unreadable or too small): the negated errno, or pid_max.
    None(i32),
}

fn worker_tids(pid_max: core::result::Result<i32, Errno>) -> WorkerTids {
    match pid_max {
        Ok(max) if max > 2 * WORKER_TIDS => WorkerTids::Above(max - WORKER_TIDS - 1),
        Ok(max) => WorkerTids::None(max),
        Err(e) => WorkerTids::None(e.neg()),
    }
}

fn read_pid_max(proc_fd: BorrowedFd<'_>) -> core::result::Result<i32, Errno> {
    let f = fs::openat(proc_fd, c"sys/kernel/pid_max", OFlags::RDONLY | OFlags::CLOEXEC, 0)?;
    let mut buf = [0u8; 16];
    let n = fs::read(&f, &mut buf)?;
    let mut v: i32 = 0;
    for &c in &buf[..n] {
        match c {
            b'0'..=b'9' => {
                v = v
                    .checked_mul(10)
                    .and_then(|v| v.checked_add((c - b'0') as i32))
                    .ok_or(Errno::ERANGE)?
            }
            b'\n' => break,
            _ => return Err(Errno::EINVAL),
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn worker_tids_sit_below_pid_max() {
        let proc = std::fs::File::open("/proc").unwrap();
        // SAFETY: the File outlives the borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(proc.as_raw_fd()) };
        let max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(read_pid_max(fd), Ok(max));
        assert_eq!(worker_tids(read_pid_max(fd)), WorkerTids::Above(max - WORKER_TIDS - 1));
    }

    #[test]
    fn no_worker_threads_without_a_usable_pid_max() {
        // Never "any TID": that could steal one a task of the tree reserved.
        assert_eq!(worker_tids(Err(Errno::EACCES)), WorkerTids::None(Errno::EACCES.neg()));
        assert_eq!(worker_tids(Ok(300)), WorkerTids::None(300));
        assert_eq!(worker_tids(Ok(32768)), WorkerTids::Above(32768 - 257));
    }
}
