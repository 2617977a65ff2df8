//! CRIU's restorer in Rust: the blob CRIU's `cr-restore.c` maps into each restored task
//! and jumps into (`__export_restore_task`, `__export_restore_thread`,
//! `__export_unmap`), built against the user's CRIU tree (its ABI from `criu-abi`) and
//! linked into `criu/pie/restorer.built-in.o` by `criu-pie install`.
//!
//! Semantics are those of CRIU's C restorer (`criu/pie/restorer.c`), phase by phase, one
//! module a phase; every failure takes CRIU's abort path (abort the stage futex, log,
//! `exit_group`), so a restore either completes or fails as a whole.
#![cfg_attr(not(test), no_std)]

/// What the restorer knows of CRIU's restorer ABI: every field and `VMA_*` constant with
/// the file that handles it or why it is not read (the build's ABI guard checks each
/// tree against it).
pub mod abi_known;
pub mod aio_ring;
pub mod args;
pub mod cg_set;
pub mod creds;
pub mod dumpable;
pub mod entry;
pub mod error;
pub mod inotify;
pub mod itimers;
pub mod kernel_time;
pub mod lock;
pub mod log;
pub mod lsm;
pub mod membarrier;
pub mod mm;
pub mod pages;
pub mod pdeath;
pub mod posix_timers;
pub mod prctl_bits;
pub mod remap_plan;
pub mod rlimits;
pub mod rseq;
pub mod sched;
pub mod seccomp;
pub mod shstk;
pub mod sigchld;
pub mod signals;
pub mod stage;
pub mod state;
pub mod subreaper;
pub mod task;
pub mod tcp;
pub mod thread;
pub mod thread_common;
pub mod threads;
pub mod timerfd;
pub mod vdso;
pub mod vmas;

#[cfg(test)]
mod test_child;
