//! The pages: CRIU's `restore_vma_io` records read into the VMAs by the engine
//! (`page_engine`, strategy `auto`), instead of CRIU's one `preadv` after another;
//! then the pages image is closed.
//!
//! Built with `huge-collapse` (`criu-pie install --huge-pages`), the engine fills each
//! 2 MiB extent that the records cover completely through a huge page without advising
//! it (`FLAG_HUGE_COLLAPSE`), where the VMA around it would have taken huge pages from
//! the kernel itself under THP `always`: a regular, private anonymous VMA the task did
//! not mark MADV_NOHUGEPAGE, in a task without PR_SET_THP_DISABLE. VMAs dumped with
//! MADV_HUGEPAGE need none of it (their advice is applied before the read). Not the
//! default: MADV_COLLAPSE takes the mmap lock for writing and zeroes the huge page under
//! it, so the workers' collapses run one at a time (8 GiB GPU process on the 16-core
//! H200 host: CRIU restore 2.55 s against 0.60 s in 4 KiB pages, CUDA restore 1.46 s
//! against 1.60 s).

use core::mem::size_of;

use criu_abi::raw::{task_restore_args, VmaEntry, VMA_ANON_PRIVATE, VMA_AREA_REGULAR};
use page_engine::abi::{Options, Strategy};
use page_engine::huge::{self, Policy, HUGE};
use page_engine::records::Records;
use pie_sys::fd::{BorrowedFd, OwnedFd};
use pie_sys::mm::{AnonMap, MadviseAdvice};
use pie_sys::oflags::OFlags;
use pie_sys::{fs, Errno};

use crate::error::{Failed, Result};
use crate::{pr_err, pr_info};

/// CRIU's `AUTO_DEDUP_OVERHEAD_BYTES`: with auto-dedup, read and punch this much at once.
const AUTO_DEDUP_CHUNK: u64 = 128 << 20;
/// TIDs left free at the top of the PID space for the engine's workers.
const WORKER_TIDS: i32 = 256;

/// Read every record's pages from `args.vma_ios_fd` into `vmas` (the task's VMAs, as
/// CRIU sorted them), then close it.
pub fn restore(args: &task_restore_args, vmas: &[VmaEntry], proc_fd: BorrowedFd<'_>) -> Result {
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
    let mut huge_pages = huge_pages(args.thp_disabled);
    let ranges = match huge_pages {
        HugePages::On => match HugeRanges::of(vmas) {
            Ok(r) => Some(r),
            Err(e) => {
                pr_info!("No memory for the huge-page ranges (", e, ")");
                huge_pages = HugePages::NoMemory;
                None
            }
        },
        _ => None,
    };
    if huge_pages == HugePages::On {
        opts.flags |= page_engine::abi::FLAG_HUGE_COLLAPSE;
    }
    let policy = Policy::only(ranges.as_ref().map_or(&[], |r| r.as_slice()));
    // SAFETY: CRIU packed `vma_ios_n` records at `vma_ios`, each naming memory of VMAs
    // mapped writable by now; the area lies in the restorer's memory (rst_mem) and stays
    // mapped for the call. Its length is not passed: the records' headers give it.
    let records = unsafe { Records::from_count(args.vma_ios.cast::<u8>(), args.vma_ios_n as usize) };
    let (result, outcome) = page_engine::restore_with(&fd, &records, &opts, &policy);
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
            let r = policy.report();
            match huge_pages {
                HugePages::On => pr_info!(
                    "Huge pages: ",
                    r.collapsed,
                    " extents of 2 MiB (",
                    r.collapsed * (HUGE as u64 >> 20),
                    " MiB) in huge pages, ",
                    r.refused,
                    " refused by the kernel (first: ",
                    r.first_refusal.map_or(0, |e| e.neg()),
                    "), the rest in 4 KiB pages"
                ),
                off => pr_info!("Huge pages: off (", off.why(), "): every page 4 KiB"),
            }
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

/// Whether the pages go into huge pages where they can, and why not.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum HugePages {
    On,
    /// Installed without `--huge-pages`.
    Installed,
    /// The task was dumped with PR_SET_THP_DISABLE.
    TaskDisabled,
    /// THP `never`, unreadable, or no MADV_COLLAPSE in this kernel (before 6.1).
    System,
    /// No mapping could be had for the list of VMAs that may be huge.
    NoMemory,
}

impl HugePages {
    fn why(self) -> &'static str {
        match self {
            HugePages::On => "on",
            HugePages::Installed => "installed without --huge-pages",
            HugePages::TaskDisabled => "the task disabled THP",
            HugePages::System => "THP never or unknown, or no MADV_COLLAPSE",
            HugePages::NoMemory => "no memory for the VMA list",
        }
    }
}

fn huge_pages(task_thp_disabled: bool) -> HugePages {
    if !cfg!(feature = "huge-collapse") {
        HugePages::Installed
    } else if task_thp_disabled {
        HugePages::TaskDisabled
    } else if !huge::available() {
        HugePages::System
    } else {
        HugePages::On
    }
}

/// Whether a VMA's extents may be huge pages: a regular, private anonymous VMA not marked
/// MADV_NOHUGEPAGE, nor MADV_HUGEPAGE (whose advice, applied before the read, gets it
/// huge pages from the kernel already).
fn may_be_huge(v: &VmaEntry) -> bool {
    let advice = |a: MadviseAdvice| v.has_madv != 0 && v.madv & (1 << a.as_raw()) != 0;
    v.status & (VMA_AREA_REGULAR | VMA_ANON_PRIVATE) == VMA_AREA_REGULAR | VMA_ANON_PRIVATE
        && !advice(MadviseAdvice::NOHUGEPAGE)
        && !advice(MadviseAdvice::HUGEPAGE)
}

/// The ranges of the VMAs that [`may_be_huge`], in CRIU's (address) order, for the
/// engine's [`Policy`]: in an anonymous mapping of their own (no allocator here).
struct HugeRanges {
    map: AnonMap,
    len: usize,
}

impl HugeRanges {
    fn of(vmas: &[VmaEntry]) -> core::result::Result<HugeRanges, Errno> {
        let mut r = HugeRanges {
            map: AnonMap::new(vmas.len() * size_of::<(usize, usize)>())?,
            len: 0,
        };
        // SAFETY: the page-aligned mapping holds `vmas.len()` pairs, zeroed (a valid
        // value); the slice is the only reference to them until `of` returns.
        let all = unsafe { core::slice::from_raw_parts_mut(r.map.as_ptr().cast::<(usize, usize)>(), vmas.len()) };
        for v in vmas.iter().filter(|v| may_be_huge(v)) {
            all[r.len] = (v.start as usize, v.end as usize);
            r.len += 1;
        }
        Ok(r)
    }

    fn as_slice(&self) -> &[(usize, usize)] {
        // SAFETY: the first `len` pairs of the value's mapping, written by `of`.
        unsafe { core::slice::from_raw_parts(self.map.as_ptr().cast::<(usize, usize)>(), self.len) }
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

    fn vma(start: u64, end: u64, status: u32, madv: u64) -> VmaEntry {
        VmaEntry {
            start,
            end,
            status,
            has_madv: (madv != 0) as _,
            madv,
            ..Default::default()
        }
    }

    #[test]
    fn only_plain_private_anonymous_vmas_may_be_huge() {
        const H: u64 = HUGE as u64;
        let anon = VMA_AREA_REGULAR | VMA_ANON_PRIVATE;
        let bit = |a: MadviseAdvice| 1u64 << a.as_raw();
        let list = [
            vma(0, 4 * H, anon, 0),
            vma(4 * H, 6 * H, anon, bit(MadviseAdvice::NOHUGEPAGE)),
            vma(6 * H, 8 * H, anon, bit(MadviseAdvice::HUGEPAGE)),
            vma(8 * H, 10 * H, anon, bit(MadviseAdvice::DONTDUMP)),
            vma(10 * H, 12 * H, VMA_AREA_REGULAR | criu_abi::raw::VMA_FILE_PRIVATE, 0),
            vma(12 * H, 14 * H, VMA_ANON_PRIVATE, 0),
            vma(14 * H, 16 * H - 4096, anon, 0),
        ];
        let r = HugeRanges::of(&list).unwrap();
        let h = |a: u64, b: u64| ((a * H) as usize, (b * H) as usize);
        assert_eq!(
            r.as_slice(),
            &[h(0, 4), h(8, 10), (h(14, 0).0, (16 * H - 4096) as usize)],
            "NOHUGEPAGE, HUGEPAGE (the kernel's already), file-backed and non-regular VMAs are out"
        );
        assert!(HugeRanges::of(&[]).unwrap().as_slice().is_empty());
    }

    #[test]
    fn huge_pages_are_on_only_when_installed_and_nothing_says_no() {
        let want = if !cfg!(feature = "huge-collapse") {
            HugePages::Installed
        } else if page_engine::huge::available() {
            HugePages::On
        } else {
            HugePages::System
        };
        assert_eq!(huge_pages(false), want);
        if cfg!(feature = "huge-collapse") {
            assert_eq!(huge_pages(true), HugePages::TaskDisabled);
        }
    }

    #[test]
    fn no_worker_threads_without_a_usable_pid_max() {
        // Never "any TID": that could steal one a task of the tree reserved.
        assert_eq!(worker_tids(Err(Errno::EACCES)), WorkerTids::None(Errno::EACCES.neg()));
        assert_eq!(worker_tids(Ok(300)), WorkerTids::None(300));
        assert_eq!(worker_tids(Ok(32768)), WorkerTids::Above(32768 - 257));
    }
}
