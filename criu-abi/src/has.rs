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
/// With [`SHSTK`]: the tree follows CRIU 4.2's shadow-stack protocol (VMAs recreated in
/// the VMA remap, the temporary shadow stack in the bootstrap area; cfg
/// `criu_shstk_remap`), not 4.0-4.1.1's (cfg `criu_shstk_late`). Read from the tree's
/// sources: the bindings are the same.
pub const SHSTK_REMAP: bool = cfg!(criu_shstk_remap);
/// With [`SHSTK`]: CRIU 4.0-4.1.1's shadow-stack protocol (cfg `criu_shstk_late`).
pub const SHSTK_LATE: bool = cfg!(criu_shstk_late);
