//! Huge pages without advice (`FLAG_HUGE_COLLAPSE`): each 2 MiB-aligned extent of the
//! destination that the records cover completely becomes one 2 MiB page before its
//! bytes are read into it, and the VMA's flags stay as they were (MADV_HUGEPAGE would
//! set `hg`: a later dump records advice the process never gave, and the process keeps
//! getting huge pages on later faults).
//!
//! How: fault one page of the still empty extent (MADV_POPULATE_WRITE), then
//! `madvise(MADV_COLLAPSE)` (Linux 6.1) puts a zero-filled huge page there, under the THP
//! modes `madvise` and `always` alike and whatever the VMA's advice but NOHUGEPAGE (which
//! it refuses). The read then fills the huge page. The first page must be there: the
//! kernel collapses no extent without a page table.
//!
//! - Only extents the records cover from their first byte to their last: an extent with a
//!   page the image does not hold stays 4 KiB, so a sparse VMA keeps its RSS.
//! - The reader that is about to write an extent's first byte collapses it, just before
//!   that read, so the zero-fill and the copy stay close. Another worker may have written
//!   other parts of the extent already (a share boundary inside it): the collapse copies
//!   those pages into the huge page, as khugepaged does under a running process.
//! - A refusal (EINVAL where the VMA forbids it, ENOMEM or EAGAIN under memory pressure)
//!   leaves that extent in 4 KiB pages: counted, never an error.
//! - The caller decides which extents may be huge at all ([`Policy`]): the engine knows
//!   the records, not the VMAs, the task's THP setting or the system's THP mode.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use super::hooks::Hooks;
use super::records::{Cursor, Records};
use pie_sys::fs::{self, IoVec};
use pie_sys::mm::{self, AnonMap, MadviseAdvice};
use pie_sys::oflags::OFlags;
use pie_sys::{Errno, Result};

/// The size and alignment of a transparent huge page on x86_64.
pub const HUGE: usize = 2 << 20;
/// Collapses of one extent tried again after EAGAIN.
const EAGAIN_TRIES: u32 = 3;

/// Which extents may be huge, and what became of those that were tried.
pub struct Policy<'a> {
    /// Address ranges `[start, end)`, sorted, inside one of which an extent must lie to
    /// be one huge page (the VMAs that allow it); `None`: every extent the records cover.
    /// Data, not a callback: the blob's stack check sees no indirect call here.
    eligible: Option<&'a [(usize, usize)]>,
    collapsed: AtomicU64,
    refused: AtomicU64,
    /// The errno of the first refusal, 0 if none.
    first_refusal: AtomicI32,
}

/// What a restore did with huge pages.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Report {
    /// Extents filled through a 2 MiB page.
    pub collapsed: u64,
    /// Covered, eligible extents the kernel refused: left in 4 KiB pages.
    pub refused: u64,
    /// The first refusal's errno.
    pub first_refusal: Option<Errno>,
}

impl<'a> Policy<'a> {
    /// Every covered extent may be huge.
    pub const fn all() -> Policy<'static> {
        Policy::with(None)
    }

    /// Covered extents that lie inside one of `eligible` (sorted by start) may be huge.
    pub const fn only(eligible: &'a [(usize, usize)]) -> Policy<'a> {
        Policy::with(Some(eligible))
    }

    const fn with(eligible: Option<&'a [(usize, usize)]>) -> Policy<'a> {
        Policy {
            eligible,
            collapsed: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            first_refusal: AtomicI32::new(0),
        }
    }

    pub fn report(&self) -> Report {
        Report {
            collapsed: self.collapsed.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            first_refusal: Errno::new(self.first_refusal.load(Ordering::Relaxed)),
        }
    }

    fn allows(&self, at: usize, end: usize) -> bool {
        self.eligible.is_none_or(|ranges| within(ranges, at, end))
    }
}

/// Whether `[start, end)` lies inside one of `ranges` (`[start, end)` pairs sorted by
/// start): the plan's covered runs and the policy's eligible ranges alike.
fn within(ranges: &[(usize, usize)], start: usize, end: usize) -> bool {
    let i = ranges.partition_point(|r| r.0 <= start);
    i > 0 && ranges[i - 1].1 >= end
}

/// The system's THP mode (`/sys/kernel/mm/transparent_hugepage/enabled`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ThpMode {
    Always,
    Madvise,
    Never,
}

const THP_ENABLED: &core::ffi::CStr = c"/sys/kernel/mm/transparent_hugepage/enabled";

/// The THP mode, `None` where it cannot be read (no sysfs in this mount namespace, no
/// THP in the kernel): then nothing is collapsed, as under `never`.
pub fn thp_mode() -> Option<ThpMode> {
    let f = fs::open(THP_ENABLED, OFlags::RDONLY | OFlags::CLOEXEC, 0).ok()?;
    let mut buf = [0u8; 64];
    let n = fs::read(&f, &mut buf).ok()?;
    parse_thp_mode(&buf[..n])
}

/// The bracketed word of `always [madvise] never`.
fn parse_thp_mode(text: &[u8]) -> Option<ThpMode> {
    let open = text.iter().position(|&c| c == b'[')?;
    let len = text[open + 1..].iter().position(|&c| c == b']')?;
    match &text[open + 1..open + 1 + len] {
        b"always" => Some(ThpMode::Always),
        b"madvise" => Some(ThpMode::Madvise),
        b"never" => Some(ThpMode::Never),
        _ => None,
    }
}

/// Whether extents may be collapsed here at all: a THP mode other than `never` (which
/// MADV_COLLAPSE would ignore) and a kernel that knows MADV_COLLAPSE.
pub fn available() -> bool {
    matches!(thp_mode(), Some(ThpMode::Always | ThpMode::Madvise)) && supported()
}

/// Whether this kernel knows MADV_COLLAPSE: a zero-length madvise validates the advice
/// and does nothing else (EINVAL before Linux 6.1).
pub fn supported() -> bool {
    // SAFETY: a zero-length range: no memory is touched.
    unsafe { mm::madvise(HUGE as *mut u8, 0, MadviseAdvice::COLLAPSE) }.is_ok()
}

/// A contiguous destination range `[start, end)`, as the policy's ranges are.
type Run = (usize, usize);

/// The destination of a restore as sorted, merged runs of covered memory: which extents
/// the records cover completely. Lives in an anonymous mapping of its own (no allocator
/// here), unmapped on drop.
pub struct Plan<'a> {
    map: AnonMap,
    len: usize,
    policy: &'a Policy<'a>,
    hooks: Hooks<'a>,
}

// SAFETY: the runs are written only while the plan is built, before it is shared; after
// that every thread only reads them. The policy's counters are atomics.
unsafe impl Sync for Plan<'_> {}

impl<'a> Plan<'a> {
    /// Plan the extents of `records` (whose iovecs number at most `iovs`).
    pub fn new(records: &Records, iovs: u64, policy: &'a Policy<'a>, hooks: Hooks<'a>) -> Result<Plan<'a>> {
        let cap = usize::try_from(iovs).map_err(|_| Errno::ENOMEM)?;
        let bytes = cap.checked_mul(core::mem::size_of::<Run>()).ok_or(Errno::ENOMEM)?;
        let mut plan = Plan {
            map: AnonMap::new(bytes)?,
            len: 0,
            policy,
            hooks,
        };
        // SAFETY: the mapping is page-aligned and holds `cap` runs, zeroed (a valid value
        // of Run); the slice is the only reference to them until `new` returns.
        let all = unsafe { core::slice::from_raw_parts_mut(plan.map.as_ptr().cast::<Run>(), cap) };
        let mut n: usize = 0;
        for rec in records.iter_from(Cursor::default()) {
            for v in rec.iovs.iter().filter(|v| v.len > 0) {
                let r: Run = (v.base as usize, (v.base as usize).saturating_add(v.len));
                // CRIU lists the pages in address order: consecutive iovecs continue
                // each other or leave a gap. Anything else (out of order, overlapping,
                // more iovecs than counted): plan nothing rather than guess (no sort
                // either: core's is recursive, which the blob's stack check refuses).
                match n.checked_sub(1).map(|l| &mut all[l]) {
                    Some(last) if last.1 == r.0 => last.1 = r.1,
                    Some(last) if last.1 > r.0 => return Ok(plan),
                    _ if n < cap => {
                        all[n] = r;
                        n += 1;
                    }
                    _ => return Ok(plan),
                }
            }
        }
        plan.len = n;
        Ok(plan)
    }

    fn runs(&self) -> &[Run] {
        // SAFETY: the first `len` runs of the plan's mapping, written by `new`.
        unsafe { core::slice::from_raw_parts(self.map.as_ptr().cast::<Run>(), self.len) }
    }

    /// Whether the records cover `[start, end)` completely.
    pub(super) fn covers(&self, start: usize, end: usize) -> bool {
        within(self.runs(), start, end)
    }

    /// Before `batch` is read: collapse each extent whose first byte it writes, if the
    /// records cover the extent and the policy allows it.
    pub fn before_read(&self, batch: &[IoVec]) {
        for v in batch.iter().filter(|v| v.len > 0) {
            let (start, end) = (v.base as usize, (v.base as usize).saturating_add(v.len));
            let mut at = start.next_multiple_of(HUGE);
            while at < end {
                self.extent(at);
                at = match at.checked_add(HUGE) {
                    Some(next) => next,
                    None => break,
                };
            }
        }
    }

    fn extent(&self, at: usize) {
        let Some(end) = at.checked_add(HUGE) else { return };
        if !self.covers(at, end) || !self.policy.allows(at, end) {
            return;
        }
        // SAFETY: `at` lies in the records' destination, which the engine's caller
        // vouches is writable memory of this process; populating for write keeps its
        // bytes. A write fault, not a read one (which would map the shared zero page and
        // give the VMA no anon_vma: MADV_COLLAPSE then says EINVAL). Not an atomic
        // `fetch_or(0)` either: the optimiser turns that into a plain load.
        if unsafe { mm::madvise(at as *mut u8, vma_io::PAGE_SIZE, MadviseAdvice::POPULATE_WRITE) }.is_err() {
            self.refuse(Errno::EFAULT);
            return;
        }
        // EAGAIN: a page of the extent was busy (another worker writing its share's
        // part of it): worth a few more tries.
        let mut tries = 0;
        let done = loop {
            let r = self.hooks.collapse(|| {
                // SAFETY: collapsing changes no byte of the range: the huge page holds
                // what the small ones did, zeros elsewhere.
                unsafe { mm::madvise(at as *mut u8, HUGE, MadviseAdvice::COLLAPSE) }
            });
            match r {
                Err(Errno::EAGAIN) if tries < EAGAIN_TRIES => tries += 1,
                r => break r,
            }
        };
        match done {
            Ok(()) => {
                self.policy.collapsed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.refuse(e),
        }
    }

    fn refuse(&self, e: Errno) {
        self.policy.refused.fetch_add(1, Ordering::Relaxed);
        let _ = (self.policy.first_refusal).compare_exchange(0, e.raw_os_error(), Ordering::Relaxed, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bracketed_thp_mode_is_read() {
        assert_eq!(parse_thp_mode(b"always [madvise] never\n"), Some(ThpMode::Madvise));
        assert_eq!(parse_thp_mode(b"[always] madvise never\n"), Some(ThpMode::Always));
        assert_eq!(parse_thp_mode(b"always madvise [never]\n"), Some(ThpMode::Never));
        assert_eq!(parse_thp_mode(b"always madvise never\n"), None);
        assert_eq!(parse_thp_mode(b"[inherit"), None);
        assert_eq!(parse_thp_mode(b""), None);
        // This machine's file reads as one of them.
        let text = std::fs::read(std::str::from_utf8(THP_ENABLED.to_bytes()).unwrap()).unwrap();
        assert_eq!(thp_mode(), parse_thp_mode(&text));
        assert!(thp_mode().is_some());
    }
}
