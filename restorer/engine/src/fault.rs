//! Fault injection for the engine's tests (compiled into test builds only): failing
//! reads, short reads, O_DIRECT refusals, clone and stack-mmap failures, each at the
//! point where the kernel would return it.

use core::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use pie_sys::Errno;

/// Faults for one restore. All counters are shared by the restore's threads.
#[derive(Default)]
pub struct Faults {
    /// Fail the read that brings this counter from 1 to 0 (reads counted from the
    /// first); 0 = never.
    pub fail_read_at: AtomicI64,
    /// The error of that read.
    pub read_errno: AtomicI64,
    /// Every read returns at most half of what was asked (at least one byte).
    pub short_reads: AtomicBool,
    /// The next read under O_DIRECT says EINVAL (once).
    pub direct_einval: AtomicBool,
    /// clone3 of a worker fails with EAGAIN.
    pub clone_fails: AtomicBool,
    /// mmap of a worker's stack fails with ENOMEM.
    pub stack_enomem: AtomicBool,
    /// MADV_COLLAPSE refuses every extent with this errno; 0 = never.
    pub collapse_errno: AtomicI64,
    /// Worker stacks mapped and not yet unmapped (kept by the engine).
    pub stacks_live: AtomicI64,
    /// Worker threads started and not yet joined (kept by the engine).
    pub threads_live: AtomicI64,
}

impl Faults {
    /// The error an injected read failure returns now, if any.
    pub fn read(&self) -> Option<Errno> {
        if self.fail_read_at.load(Ordering::Relaxed) > 0 && self.fail_read_at.fetch_sub(1, Ordering::AcqRel) == 1 {
            return Errno::new(self.read_errno.load(Ordering::Relaxed) as i32);
        }
        None
    }

    pub fn direct(&self) -> bool {
        self.direct_einval.swap(false, Ordering::AcqRel)
    }

    pub fn short(&self) -> bool {
        self.short_reads.load(Ordering::Relaxed)
    }

    pub fn clone3(&self) -> Option<Errno> {
        self.clone_fails.load(Ordering::Relaxed).then_some(Errno::EAGAIN)
    }

    pub fn count(counter: &AtomicI64, delta: i64) {
        counter.fetch_add(delta, Ordering::AcqRel);
    }

    pub fn collapse(&self) -> Option<Errno> {
        Errno::new(self.collapse_errno.load(Ordering::Relaxed) as i32)
    }

    pub fn stack(&self) -> Option<Errno> {
        self.stack_enomem.load(Ordering::Relaxed).then_some(Errno::ENOMEM)
    }
}
