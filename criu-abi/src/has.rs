//! Which version-dependent parts the tree's ABI has, as constants (the cfgs of the same
//! names decide what code compiles; these say it at run time, e.g. in a report).

/// `task_restore_args.posix_timer_cr_ids` (CRIU 4.2): the kernel restores POSIX timer IDs.
pub const POSIX_TIMER_CR_IDS: bool = cfg!(criu_has_posix_timer_cr_ids);
/// `thread_restore_args.shstk` / `task_restore_args.shstk`: x86 CET shadow-stack restore.
pub const SHSTK: bool = cfg!(criu_has_shstk);
/// `VMA_AREA_GUARD` (CRIU 4.2): guard-page VMAs.
pub const VMA_AREA_GUARD: bool = cfg!(criu_has_vma_area_guard);
/// `VMA_AREA_UPROBES` (CRIU 4.2): uprobes VMAs.
pub const VMA_AREA_UPROBES: bool = cfg!(criu_has_vma_area_uprobes);
