// What the Rust restorer knows of CRIU's restorer ABI: every field of the structures CRIU
// hands its restorer and every `VMA_*` constant, each with the file that handles it or
// the reason it is deliberately not read. One list, in one place: the build script
// (`build/abi_guard.rs`) `include!`s this file and refuses a tree whose bindings hold a
// field or constant that is not here (a CRIU that passes its restorer something new, which
// a restorer ignoring it would restore wrongly); `tests/abi_known.rs` checks that every
// named file exists and mentions what it is said to handle.
//
// Covered: the fields of CRIU 4.1.1 and of 4.2/4.2.1 (4.2 adds
// `task_restore_args.posix_timer_cr_ids`, `VMA_AREA_GUARD` and `VMA_AREA_UPROBES`).
// A field only some trees have is listed all the same.
//
// (No inner attributes or `//!` comments here: the file is `include!`d by the build
// script as well as compiled as the crate's `abi_known` module.)

/// How the Rust restorer accounts for one field or constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Read and acted on in this file (relative to `criu-restorer/`; a path ending in
    /// `/` stands for the files of that directory), which names it.
    In(&'static str),
    /// Deliberately not read, for this reason.
    Ignored(&'static str),
}

use Known::{Ignored, In};

/// The prefixes of the constants the guard accounts for: the VMA kinds and flags
/// (`VMA_AREA_*`, `VMA_*`) in `VmaEntry.status`.
pub const CONST_PREFIXES: &[&str] = &["VMA_"];

/// `(struct, field, how)`. Every struct named here is guarded: each of its fields in a
/// tree's bindings must be listed.
pub const FIELDS: &[(&str, &str, Known)] = &[
    // struct task_restore_args: the task's args (criu/include/restorer.h).
    ("task_restore_args", "t", In("src/task.rs")),
    ("task_restore_args", "fd_exe_link", In("src/mm.rs")),
    ("task_restore_args", "logfd", In("src/task.rs")),
    ("task_restore_args", "loglevel", In("src/task.rs")),
    ("task_restore_args", "logstart", In("src/task.rs")),
    ("task_restore_args", "uffd", In("src/task.rs")),
    ("task_restore_args", "thp_disabled", In("src/task.rs")),
    ("task_restore_args", "nr_threads", In("src/threads.rs")),
    ("task_restore_args", "clone_restore_fn", In("src/threads.rs")),
    ("task_restore_args", "thread_args", In("src/threads.rs")),
    ("task_restore_args", "task_entries", In("src/state.rs")),
    ("task_restore_args", "rst_mem", In("src/task.rs")),
    ("task_restore_args", "rst_mem_size", In("src/task.rs")),
    ("task_restore_args", "vmas", In("src/args.rs")),
    ("task_restore_args", "vmas_n", In("src/args.rs")),
    ("task_restore_args", "vma_ios_fd", In("src/pages.rs")),
    ("task_restore_args", "vma_ios", In("src/pages.rs")),
    ("task_restore_args", "vma_ios_n", In("src/pages.rs")),
    ("task_restore_args", "posix_timers", In("src/args.rs")),
    ("task_restore_args", "posix_timers_n", In("src/args.rs")),
    // CRIU 4.2: chosen by its presence (cfg criu_has_posix_timer_cr_ids); its value, the
    // kernel's support, is probed by the restorer itself, as 4.2's does.
    ("task_restore_args", "posix_timer_cr_ids", In("src/posix_timers.rs")),
    ("task_restore_args", "timerfd", In("src/args.rs")),
    ("task_restore_args", "timerfd_n", In("src/args.rs")),
    ("task_restore_args", "siginfo", In("src/args.rs")),
    ("task_restore_args", "siginfo_n", In("src/args.rs")),
    ("task_restore_args", "tcp_socks", In("src/args.rs")),
    ("task_restore_args", "tcp_socks_n", In("src/args.rs")),
    ("task_restore_args", "rings", In("src/args.rs")),
    ("task_restore_args", "rings_n", In("src/args.rs")),
    ("task_restore_args", "rlims", In("src/args.rs")),
    ("task_restore_args", "rlims_n", In("src/args.rs")),
    ("task_restore_args", "helpers", In("src/state.rs")),
    ("task_restore_args", "helpers_n", In("src/state.rs")),
    ("task_restore_args", "zombies", In("src/state.rs")),
    ("task_restore_args", "zombies_n", In("src/state.rs")),
    ("task_restore_args", "inotify_fds", In("src/args.rs")),
    ("task_restore_args", "inotify_fds_n", In("src/args.rs")),
    ("task_restore_args", "task_size", In("src/task.rs")),
    ("task_restore_args", "premmapped_addr", In("src/task.rs")),
    ("task_restore_args", "premmapped_len", In("src/task.rs")),
    ("task_restore_args", "sigchld_act", In("src/task.rs")),
    ("task_restore_args", "bootstrap_start", In("src/task.rs")),
    ("task_restore_args", "bootstrap_len", In("src/task.rs")),
    ("task_restore_args", "itimers", In("src/task.rs")),
    ("task_restore_args", "mm", In("src/task.rs")),
    ("task_restore_args", "mm_saved_auxv", In("src/mm.rs")),
    ("task_restore_args", "mm_saved_auxv_size", In("src/mm.rs")),
    ("task_restore_args", "comm", In("src/task.rs")),
    ("task_restore_args", "proc_fd", In("src/task.rs")),
    (
        "task_restore_args",
        "seccomp_mode",
        Ignored("the leader's mode comes as its own thread_restore_args.seccomp_mode, which CRIU's restorer reads too"),
    ),
    // Refused: a 32-bit task fails the restore, by name.
    ("task_restore_args", "compatible_mode", In("src/task.rs")),
    ("task_restore_args", "can_map_vdso", In("src/task.rs")),
    ("task_restore_args", "auto_dedup", In("src/pages.rs")),
    ("task_restore_args", "vdso_rt_size", In("src/task.rs")),
    ("task_restore_args", "vdso_maps_rt", In("src/task.rs")),
    ("task_restore_args", "vdso_rt_parked_at", In("src/task.rs")),
    ("task_restore_args", "breakpoint", In("src/entry.rs")),
    ("task_restore_args", "fault_strategy", In("src/state.rs")),
    ("task_restore_args", "lsm_type", In("src/task.rs")),
    ("task_restore_args", "child_subreaper", In("src/task.rs")),
    ("task_restore_args", "membarrier_registration_mask", In("src/task.rs")),
    ("task_restore_args", "has_clone3_set_tid", In("src/threads.rs")),
    ("task_restore_args", "libc_rseq", In("src/task.rs")),
    ("task_restore_args", "uid", In("src/task.rs")),
    (
        "task_restore_args",
        "cap_eff",
        Ignored("CRIU's own effective capabilities (for its unprivileged mode), read by no restorer, CRIU's included; the task's are thread_creds_args.cap_eff"),
    ),
    ("task_restore_args", "shstk", In("src/task.rs")),
    // struct thread_restore_args: each thread's args.
    ("thread_restore_args", "mz", In("src/threads.rs")),
    ("thread_restore_args", "pid", In("src/threads.rs")),
    ("thread_restore_args", "gpregs", In("src/thread_common.rs")),
    ("thread_restore_args", "clear_tid_addr", In("src/thread_common.rs")),
    ("thread_restore_args", "futex_rla", In("src/thread_common.rs")),
    ("thread_restore_args", "futex_rla_len", In("src/thread_common.rs")),
    ("thread_restore_args", "sp", In("src/thread_common.rs")),
    ("thread_restore_args", "ta", In("src/thread.rs")),
    ("thread_restore_args", "tls", In("src/thread_common.rs")),
    ("thread_restore_args", "rseq", In("src/thread_common.rs")),
    ("thread_restore_args", "siginfo", In("src/thread.rs")),
    ("thread_restore_args", "siginfo_n", In("src/thread.rs")),
    ("thread_restore_args", "pdeath_sig", In("src/pdeath.rs")),
    ("thread_restore_args", "creds_args", In("src/thread.rs")),
    ("thread_restore_args", "seccomp_mode", In("src/seccomp.rs")),
    (
        "thread_restore_args",
        "seccomp_filters_pos",
        Ignored("where CRIU's main process laid the filters out in rst_mem; the restorer reads seccomp_filters, relocated"),
    ),
    ("thread_restore_args", "seccomp_filters", In("src/seccomp.rs")),
    (
        "thread_restore_args",
        "seccomp_filters_data",
        Ignored("the filters' instructions, reached through each filter's sock_fprog, which CRIU relocates"),
    ),
    ("thread_restore_args", "seccomp_filters_n", In("src/seccomp.rs")),
    ("thread_restore_args", "seccomp_force_tsync", In("src/seccomp.rs")),
    ("thread_restore_args", "shstk", In("src/thread.rs")),
    ("thread_restore_args", "comm", In("src/thread.rs")),
    ("thread_restore_args", "cg_set", In("src/cg_set.rs")),
    ("thread_restore_args", "cgroupd_sk", In("src/cg_set.rs")),
    // struct restore_vma_io: the page reads (records walked by the vma-io crate).
    ("restore_vma_io", "nr_iovs", In("../vma-io/src/lib.rs")),
    ("restore_vma_io", "off", In("../vma-io/src/lib.rs")),
    ("restore_vma_io", "iovs", In("../vma-io/src/lib.rs")),
    // VmaEntry (images/vma.proto, protobuf-c): each VMA.
    ("VmaEntry", "base", Ignored("protobuf-c's message header, for CRIU's image code")),
    ("VmaEntry", "start", In("src/vmas.rs")),
    ("VmaEntry", "end", In("src/vmas.rs")),
    ("VmaEntry", "pgoff", In("src/vmas.rs")),
    ("VmaEntry", "shmid", In("src/vmas.rs")),
    ("VmaEntry", "prot", In("src/vmas.rs")),
    ("VmaEntry", "flags", In("src/vmas.rs")),
    ("VmaEntry", "status", In("src/vmas.rs")),
    ("VmaEntry", "fd", In("src/vmas.rs")),
    ("VmaEntry", "has_madv", In("src/vmas.rs")),
    ("VmaEntry", "madv", In("src/vmas.rs")),
    (
        "VmaEntry",
        "has_fdflags",
        Ignored("the file's open flags, for CRIU's main process, which opens the file and hands the restorer its fd"),
    ),
    (
        "VmaEntry",
        "fdflags",
        Ignored("the file's open flags, for CRIU's main process, which opens the file and hands the restorer its fd"),
    ),
    // MmEntry (images/mm.proto): task_restore_args.mm.
    ("MmEntry", "base", Ignored("protobuf-c's message header, for CRIU's image code")),
    ("MmEntry", "mm_start_code", In("src/mm.rs")),
    ("MmEntry", "mm_end_code", In("src/mm.rs")),
    ("MmEntry", "mm_start_data", In("src/mm.rs")),
    ("MmEntry", "mm_end_data", In("src/mm.rs")),
    ("MmEntry", "mm_start_stack", In("src/mm.rs")),
    ("MmEntry", "mm_start_brk", In("src/mm.rs")),
    ("MmEntry", "mm_brk", In("src/mm.rs")),
    ("MmEntry", "mm_arg_start", In("src/mm.rs")),
    ("MmEntry", "mm_arg_end", In("src/mm.rs")),
    ("MmEntry", "mm_env_start", In("src/mm.rs")),
    ("MmEntry", "mm_env_end", In("src/mm.rs")),
    (
        "MmEntry",
        "exe_file_id",
        Ignored("CRIU's main process opens the exe file and passes task_restore_args.fd_exe_link"),
    ),
    (
        "MmEntry",
        "n_mm_saved_auxv",
        Ignored("CRIU copies the auxv into task_restore_args.mm_saved_auxv"),
    ),
    (
        "MmEntry",
        "mm_saved_auxv",
        Ignored("a pointer into CRIU's image buffer; CRIU copies the auxv into task_restore_args.mm_saved_auxv"),
    ),
    ("MmEntry", "n_vmas", Ignored("CRIU passes the VMAs as task_restore_args.vmas")),
    ("MmEntry", "vmas", Ignored("CRIU passes the VMAs as task_restore_args.vmas")),
    ("MmEntry", "has_dumpable", In("src/dumpable.rs")),
    ("MmEntry", "dumpable", In("src/dumpable.rs")),
    ("MmEntry", "n_aios", Ignored("CRIU passes the AIO rings as task_restore_args.rings")),
    ("MmEntry", "aios", Ignored("CRIU passes the AIO rings as task_restore_args.rings")),
    (
        "MmEntry",
        "has_thp_disabled",
        Ignored("CRIU passes the flag as task_restore_args.thp_disabled"),
    ),
    ("MmEntry", "thp_disabled", Ignored("CRIU passes it as task_restore_args.thp_disabled")),
    // struct task_entries: the restore's shared state (criu/include/rst_info.h).
    (
        "task_entries",
        "nr_threads",
        Ignored("CRIU's main process's count of all threads; a task counts its own by task_restore_args.nr_threads"),
    ),
    ("task_entries", "nr_tasks", Ignored("CRIU's main process's count, not the restorer's")),
    ("task_entries", "nr_helpers", Ignored("CRIU's main process's count, not the restorer's")),
    ("task_entries", "nr_in_progress", In("src/state.rs")),
    ("task_entries", "start", In("src/state.rs")),
    (
        "task_entries",
        "cr_err",
        Ignored("CRIU's main process's error word, set before the restorer runs"),
    ),
    (
        "task_entries",
        "userns_sync_lock",
        Ignored("user-namespace setup, done before the restorer runs"),
    ),
    ("task_entries", "cgroupd_sync_lock", In("src/state.rs")),
    ("task_entries", "last_pid_mutex", In("src/state.rs")),
    // struct restore_mem_zone: each thread's stack and signal frame.
    (
        "restore_mem_zone",
        "redzone",
        Ignored("space below the stack that nothing may touch: its whole point"),
    ),
    ("restore_mem_zone", "stack", In("src/threads.rs")),
    ("restore_mem_zone", "rt_sigframe", In("src/entry.rs")),
    // struct rst_shstk_info: x86 shadow stacks (cfg criu_has_shstk).
    ("rst_shstk_info", "vma_start", In("src/shstk.rs")),
    ("rst_shstk_info", "vma_size", In("src/shstk.rs")),
    ("rst_shstk_info", "premmaped_addr", In("src/shstk.rs")),
    ("rst_shstk_info", "tmp_shstk", In("src/shstk.rs")),
    ("rst_shstk_info", "ssp", In("src/shstk.rs")),
    ("rst_shstk_info", "cet", In("src/shstk.rs")),
    // struct restore_posix_timer, struct str_posix_timer: POSIX timers.
    ("restore_posix_timer", "spt", In("src/posix_timers.rs")),
    ("restore_posix_timer", "val", In("src/posix_timers.rs")),
    (
        "restore_posix_timer",
        "overrun",
        Ignored("the overrun count at dump time: no kernel interface sets it, and CRIU's restorer does not read it"),
    ),
    ("str_posix_timer", "it_id", In("src/posix_timers.rs")),
    ("str_posix_timer", "clock_id", In("src/posix_timers.rs")),
    ("str_posix_timer", "si_signo", In("src/posix_timers.rs")),
    ("str_posix_timer", "it_sigev_notify", In("src/posix_timers.rs")),
    ("str_posix_timer", "notify_thread_id", In("src/posix_timers.rs")),
    ("str_posix_timer", "sival_ptr", In("src/posix_timers.rs")),
    // struct restore_timerfd.
    ("restore_timerfd", "id", In("src/timerfd.rs")),
    ("restore_timerfd", "fd", In("src/timerfd.rs")),
    ("restore_timerfd", "clockid", In("src/timerfd.rs")),
    ("restore_timerfd", "settime_flags", In("src/timerfd.rs")),
    ("restore_timerfd", "ticks", In("src/timerfd.rs")),
    ("restore_timerfd", "val", In("src/timerfd.rs")),
    // struct rst_tcp_sock (criu/include/sk-inet.h), struct rst_aio_ring (criu/include/aio.h).
    ("rst_tcp_sock", "sk", In("src/tcp.rs")),
    ("rst_tcp_sock", "reuseaddr", In("src/tcp.rs")),
    ("rst_aio_ring", "addr", In("src/aio_ring.rs")),
    ("rst_aio_ring", "len", In("src/aio_ring.rs")),
    ("rst_aio_ring", "nr_req", In("src/aio_ring.rs")),
    // struct thread_creds_args: a thread's credentials.
    ("thread_creds_args", "creds", In("src/creds.rs")),
    ("thread_creds_args", "cap_last_cap", In("src/creds.rs")),
    ("thread_creds_args", "cap_inh", In("src/creds.rs")),
    ("thread_creds_args", "cap_prm", In("src/creds.rs")),
    ("thread_creds_args", "cap_eff", In("src/creds.rs")),
    ("thread_creds_args", "cap_bnd", In("src/creds.rs")),
    ("thread_creds_args", "cap_amb", In("src/creds.rs")),
    ("thread_creds_args", "lsm_profile", In("src/lsm.rs")),
    ("thread_creds_args", "groups", In("src/creds.rs")),
    ("thread_creds_args", "lsm_sockcreate", In("src/creds.rs")),
    (
        "thread_creds_args",
        "mem_lsm_profile_pos",
        Ignored("where CRIU's main process laid the string out in rst_mem; the restorer reads lsm_profile, relocated"),
    ),
    (
        "thread_creds_args",
        "mem_lsm_sockcreate_pos",
        Ignored("where CRIU's main process laid the string out in rst_mem; the restorer reads lsm_sockcreate, relocated"),
    ),
    (
        "thread_creds_args",
        "mem_groups_pos",
        Ignored("where CRIU's main process laid the groups out in rst_mem; the restorer reads groups, relocated"),
    ),
    (
        "thread_creds_args",
        "mem_pos_next",
        Ignored("CRIU's main process's cursor while it lays the creds out in rst_mem"),
    ),
    // struct thread_seccomp_filter, struct rst_rseq_param, struct rst_sched_param.
    ("thread_seccomp_filter", "sock_fprog", In("src/seccomp.rs")),
    ("thread_seccomp_filter", "flags", In("src/seccomp.rs")),
    ("rst_rseq_param", "rseq_abi_pointer", In("src/rseq.rs")),
    ("rst_rseq_param", "rseq_abi_size", In("src/rseq.rs")),
    ("rst_rseq_param", "signature", In("src/rseq.rs")),
    ("rst_sched_param", "policy", In("src/sched.rs")),
    ("rst_sched_param", "nice", In("src/sched.rs")),
    ("rst_sched_param", "prio", In("src/sched.rs")),
    // struct vdso_maps, vdso_symtable, vdso_symbol: the runtime vDSO (task_restore_args.vdso_maps_rt).
    ("vdso_maps", "vdso_start", In("src/vdso/")),
    ("vdso_maps", "vvar_start", In("src/vdso/")),
    ("vdso_maps", "sym", In("src/vdso/")),
    (
        "vdso_maps",
        "compatible",
        Ignored("set for a 32-bit task's vDSO only, and 32-bit tasks are refused (task_restore_args.compatible_mode)"),
    ),
    ("vdso_symtable", "vdso_size", In("src/vdso/")),
    ("vdso_symtable", "vvar_size", In("src/vdso/")),
    ("vdso_symtable", "vvar_vclock_size", In("src/vdso/")),
    ("vdso_symtable", "symbols", In("src/vdso/")),
    ("vdso_symtable", "vdso_before_vvar", In("src/vdso/")),
    ("vdso_symbol", "name", In("src/vdso/")),
    ("vdso_symbol", "offset", In("src/vdso/")),
];

/// Every constant of the guarded prefixes (criu/include/image.h's VMA kinds and flags).
pub const CONSTS: &[(&str, Known)] = &[
    ("VMA_AREA_NONE", Ignored("zero: no bit to test")),
    ("VMA_AREA_REGULAR", In("src/vmas.rs")),
    (
        "VMA_AREA_STACK",
        Ignored("marks the VMA that held the stack, for the dump; restored as any regular VMA, from its prot, flags and fd"),
    ),
    ("VMA_AREA_VSYSCALL", In("src/vmas.rs")),
    ("VMA_AREA_VDSO", In("src/vmas.rs")),
    (
        "VMA_AREA_HEAP",
        Ignored("marks the VMA that held the heap, for the dump; restored as any regular VMA, from its prot, flags and fd"),
    ),
    (
        "VMA_FILE_PRIVATE",
        Ignored("the mapping's kind, which its flags (MAP_PRIVATE) and fd already say; mapped from them as CRIU's restorer does"),
    ),
    (
        "VMA_FILE_SHARED",
        Ignored("the mapping's kind, which its flags (MAP_SHARED) and fd already say; mapped from them as CRIU's restorer does"),
    ),
    ("VMA_ANON_SHARED", In("src/vmas.rs")),
    (
        "VMA_ANON_PRIVATE",
        Ignored("the mapping's kind, which its flags (MAP_PRIVATE | MAP_ANONYMOUS) already say; mapped from them as CRIU's restorer does"),
    ),
    ("VMA_AREA_SYSVIPC", In("src/vmas.rs")),
    (
        "VMA_AREA_SOCKET",
        Ignored("a packet socket's ring, whose fd CRIU's main process opens: mapped from its fd as any regular VMA, as CRIU's restorer does"),
    ),
    ("VMA_AREA_VVAR", In("src/vmas.rs")),
    ("VMA_AREA_AIORING", In("src/vmas.rs")),
    (
        "VMA_AREA_MEMFD",
        Ignored("a memfd mapping, whose fd CRIU's main process opens: mapped from its fd as any regular VMA, as CRIU's restorer does"),
    ),
    ("VMA_AREA_SHSTK", In("src/vmas.rs")),
    // CRIU 4.2.
    ("VMA_AREA_GUARD", In("src/vmas.rs")),
    (
        "VMA_AREA_UPROBES",
        Ignored("CRIU 4.2: the kernel's [uprobes] VMA, recorded only for its existence; not regular, so never mapped, as in CRIU's restorer"),
    ),
    (
        "VMA_EXT_PLUGIN",
        Ignored("a device mapping whose fd a CRIU plugin opened in CRIU's main process: mapped from its fd as any regular VMA, as CRIU's restorer does"),
    ),
    ("VMA_CLOSE", In("src/vmas.rs")),
    ("VMA_NO_PROT_WRITE", In("src/vmas.rs")),
    ("VMA_PREMMAPED", In("src/vmas.rs")),
    (
        "VMA_UNSUPP",
        Ignored("the dump's mark of a VMA CRIU cannot dump: such a task is never dumped, so no image carries it"),
    ),
];
