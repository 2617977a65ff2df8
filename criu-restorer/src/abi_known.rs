// What the Rust restorer knows of CRIU's restorer ABI: every field of the structures CRIU
// hands its restorer and every `VMA_*` constant, each with the file that handles it or
// the reason it is deliberately not read. One list, in one place: the build script
// (`build/abi_guard.rs`) `include!`s this file and refuses a tree whose bindings hold a
// field or constant that is not here (a CRIU that passes its restorer something new, which
// a restorer ignoring it would restore wrongly); `tests/abi_known.rs` checks that every
// named module exists and mentions what it is said to handle.
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
    /// Read and acted on in this module, which names it: `crate::m` (criu-restorer's
    /// `src/m.rs` or `src/m/`), or a workspace crate by name (`vma_io`).
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
    ("task_restore_args", "t", In("crate::task")),
    ("task_restore_args", "fd_exe_link", In("crate::mm")),
    ("task_restore_args", "logfd", In("crate::task")),
    ("task_restore_args", "loglevel", In("crate::task")),
    ("task_restore_args", "logstart", In("crate::task")),
    ("task_restore_args", "uffd", In("crate::task")),
    ("task_restore_args", "thp_disabled", In("crate::task")),
    ("task_restore_args", "nr_threads", In("crate::threads")),
    ("task_restore_args", "clone_restore_fn", In("crate::threads")),
    ("task_restore_args", "thread_args", In("crate::threads")),
    ("task_restore_args", "task_entries", In("crate::state")),
    ("task_restore_args", "rst_mem", In("crate::task")),
    ("task_restore_args", "rst_mem_size", In("crate::task")),
    ("task_restore_args", "vmas", In("crate::args")),
    ("task_restore_args", "vmas_n", In("crate::args")),
    ("task_restore_args", "vma_ios_fd", In("crate::pages")),
    ("task_restore_args", "vma_ios", In("crate::pages")),
    ("task_restore_args", "vma_ios_n", In("crate::pages")),
    ("task_restore_args", "posix_timers", In("crate::args")),
    ("task_restore_args", "posix_timers_n", In("crate::args")),
    // CRIU 4.2: chosen by its presence (cfg criu_has_posix_timer_cr_ids); its value, the
    // kernel's support, is probed by the restorer itself, as 4.2's does.
    ("task_restore_args", "posix_timer_cr_ids", In("crate::posix_timers")),
    ("task_restore_args", "timerfd", In("crate::args")),
    ("task_restore_args", "timerfd_n", In("crate::args")),
    ("task_restore_args", "siginfo", In("crate::args")),
    ("task_restore_args", "siginfo_n", In("crate::args")),
    ("task_restore_args", "tcp_socks", In("crate::args")),
    ("task_restore_args", "tcp_socks_n", In("crate::args")),
    ("task_restore_args", "rings", In("crate::args")),
    ("task_restore_args", "rings_n", In("crate::args")),
    ("task_restore_args", "rlims", In("crate::args")),
    ("task_restore_args", "rlims_n", In("crate::args")),
    ("task_restore_args", "helpers", In("crate::state")),
    ("task_restore_args", "helpers_n", In("crate::state")),
    ("task_restore_args", "zombies", In("crate::state")),
    ("task_restore_args", "zombies_n", In("crate::state")),
    ("task_restore_args", "inotify_fds", In("crate::args")),
    ("task_restore_args", "inotify_fds_n", In("crate::args")),
    ("task_restore_args", "task_size", In("crate::task")),
    ("task_restore_args", "premmapped_addr", In("crate::task")),
    ("task_restore_args", "premmapped_len", In("crate::task")),
    ("task_restore_args", "sigchld_act", In("crate::task")),
    ("task_restore_args", "bootstrap_start", In("crate::task")),
    ("task_restore_args", "bootstrap_len", In("crate::task")),
    ("task_restore_args", "itimers", In("crate::task")),
    ("task_restore_args", "mm", In("crate::task")),
    ("task_restore_args", "mm_saved_auxv", In("crate::mm")),
    ("task_restore_args", "mm_saved_auxv_size", In("crate::mm")),
    ("task_restore_args", "comm", In("crate::task")),
    ("task_restore_args", "proc_fd", In("crate::task")),
    (
        "task_restore_args",
        "seccomp_mode",
        Ignored("the leader's mode comes as its own thread_restore_args.seccomp_mode, which CRIU's restorer reads too"),
    ),
    // Refused: a 32-bit task fails the restore, by name.
    ("task_restore_args", "compatible_mode", In("crate::task")),
    ("task_restore_args", "can_map_vdso", In("crate::task")),
    ("task_restore_args", "auto_dedup", In("crate::pages")),
    ("task_restore_args", "vdso_rt_size", In("crate::task")),
    ("task_restore_args", "vdso_maps_rt", In("crate::task")),
    ("task_restore_args", "vdso_rt_parked_at", In("crate::task")),
    ("task_restore_args", "breakpoint", In("crate::entry")),
    ("task_restore_args", "fault_strategy", In("crate::state")),
    ("task_restore_args", "lsm_type", In("crate::task")),
    ("task_restore_args", "child_subreaper", In("crate::task")),
    ("task_restore_args", "membarrier_registration_mask", In("crate::task")),
    ("task_restore_args", "has_clone3_set_tid", In("crate::threads")),
    ("task_restore_args", "libc_rseq", In("crate::task")),
    ("task_restore_args", "uid", In("crate::task")),
    (
        "task_restore_args",
        "cap_eff",
        Ignored("CRIU's own effective capabilities (for its unprivileged mode), read by no restorer, CRIU's included; the task's are thread_creds_args.cap_eff"),
    ),
    ("task_restore_args", "shstk", In("crate::task")),
    // struct thread_restore_args: each thread's args.
    ("thread_restore_args", "mz", In("crate::threads")),
    ("thread_restore_args", "pid", In("crate::threads")),
    ("thread_restore_args", "gpregs", In("crate::thread_common")),
    ("thread_restore_args", "clear_tid_addr", In("crate::thread_common")),
    ("thread_restore_args", "futex_rla", In("crate::thread_common")),
    ("thread_restore_args", "futex_rla_len", In("crate::thread_common")),
    ("thread_restore_args", "sp", In("crate::thread_common")),
    ("thread_restore_args", "ta", In("crate::thread")),
    ("thread_restore_args", "tls", In("crate::thread_common")),
    ("thread_restore_args", "rseq", In("crate::thread_common")),
    ("thread_restore_args", "siginfo", In("crate::thread")),
    ("thread_restore_args", "siginfo_n", In("crate::thread")),
    ("thread_restore_args", "pdeath_sig", In("crate::pdeath")),
    ("thread_restore_args", "creds_args", In("crate::thread")),
    ("thread_restore_args", "seccomp_mode", In("crate::seccomp")),
    (
        "thread_restore_args",
        "seccomp_filters_pos",
        Ignored("where CRIU's main process laid the filters out in rst_mem; the restorer reads seccomp_filters, relocated"),
    ),
    ("thread_restore_args", "seccomp_filters", In("crate::seccomp")),
    (
        "thread_restore_args",
        "seccomp_filters_data",
        Ignored("the filters' instructions, reached through each filter's sock_fprog, which CRIU relocates"),
    ),
    ("thread_restore_args", "seccomp_filters_n", In("crate::seccomp")),
    ("thread_restore_args", "seccomp_force_tsync", In("crate::seccomp")),
    ("thread_restore_args", "shstk", In("crate::thread")),
    ("thread_restore_args", "comm", In("crate::thread")),
    ("thread_restore_args", "cg_set", In("crate::cg_set")),
    ("thread_restore_args", "cgroupd_sk", In("crate::cg_set")),
    // struct restore_vma_io: the page reads (records walked by the vma-io crate).
    ("restore_vma_io", "nr_iovs", In("vma_io")),
    ("restore_vma_io", "off", In("vma_io")),
    ("restore_vma_io", "iovs", In("vma_io")),
    // VmaEntry (images/vma.proto, protobuf-c): each VMA.
    ("VmaEntry", "base", Ignored("protobuf-c's message header, for CRIU's image code")),
    ("VmaEntry", "start", In("crate::vmas")),
    ("VmaEntry", "end", In("crate::vmas")),
    ("VmaEntry", "pgoff", In("crate::vmas")),
    ("VmaEntry", "shmid", In("crate::vmas")),
    ("VmaEntry", "prot", In("crate::vmas")),
    ("VmaEntry", "flags", In("crate::vmas")),
    ("VmaEntry", "status", In("crate::vmas")),
    ("VmaEntry", "fd", In("crate::vmas")),
    ("VmaEntry", "has_madv", In("crate::vmas")),
    ("VmaEntry", "madv", In("crate::vmas")),
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
    ("MmEntry", "mm_start_code", In("crate::mm")),
    ("MmEntry", "mm_end_code", In("crate::mm")),
    ("MmEntry", "mm_start_data", In("crate::mm")),
    ("MmEntry", "mm_end_data", In("crate::mm")),
    ("MmEntry", "mm_start_stack", In("crate::mm")),
    ("MmEntry", "mm_start_brk", In("crate::mm")),
    ("MmEntry", "mm_brk", In("crate::mm")),
    ("MmEntry", "mm_arg_start", In("crate::mm")),
    ("MmEntry", "mm_arg_end", In("crate::mm")),
    ("MmEntry", "mm_env_start", In("crate::mm")),
    ("MmEntry", "mm_env_end", In("crate::mm")),
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
    ("MmEntry", "has_dumpable", In("crate::dumpable")),
    ("MmEntry", "dumpable", In("crate::dumpable")),
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
    ("task_entries", "nr_in_progress", In("crate::state")),
    ("task_entries", "start", In("crate::state")),
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
    ("task_entries", "cgroupd_sync_lock", In("crate::state")),
    ("task_entries", "last_pid_mutex", In("crate::state")),
    // struct restore_mem_zone: each thread's stack and signal frame.
    (
        "restore_mem_zone",
        "redzone",
        Ignored("space below the stack that nothing may touch: its whole point"),
    ),
    ("restore_mem_zone", "stack", In("crate::threads")),
    ("restore_mem_zone", "rt_sigframe", In("crate::entry")),
    // struct rst_shstk_info: x86 shadow stacks (cfg criu_has_shstk).
    ("rst_shstk_info", "vma_start", In("crate::shstk")),
    ("rst_shstk_info", "vma_size", In("crate::shstk")),
    ("rst_shstk_info", "premmaped_addr", In("crate::shstk")),
    ("rst_shstk_info", "tmp_shstk", In("crate::shstk")),
    ("rst_shstk_info", "ssp", In("crate::shstk")),
    ("rst_shstk_info", "cet", In("crate::shstk")),
    // struct restore_posix_timer, struct str_posix_timer: POSIX timers.
    ("restore_posix_timer", "spt", In("crate::posix_timers")),
    ("restore_posix_timer", "val", In("crate::posix_timers")),
    (
        "restore_posix_timer",
        "overrun",
        Ignored("the overrun count at dump time: no kernel interface sets it, and CRIU's restorer does not read it"),
    ),
    ("str_posix_timer", "it_id", In("crate::posix_timers")),
    ("str_posix_timer", "clock_id", In("crate::posix_timers")),
    ("str_posix_timer", "si_signo", In("crate::posix_timers")),
    ("str_posix_timer", "it_sigev_notify", In("crate::posix_timers")),
    ("str_posix_timer", "notify_thread_id", In("crate::posix_timers")),
    ("str_posix_timer", "sival_ptr", In("crate::posix_timers")),
    // struct restore_timerfd.
    ("restore_timerfd", "id", In("crate::timerfd")),
    ("restore_timerfd", "fd", In("crate::timerfd")),
    ("restore_timerfd", "clockid", In("crate::timerfd")),
    ("restore_timerfd", "settime_flags", In("crate::timerfd")),
    ("restore_timerfd", "ticks", In("crate::timerfd")),
    ("restore_timerfd", "val", In("crate::timerfd")),
    // struct rst_tcp_sock (criu/include/sk-inet.h), struct rst_aio_ring (criu/include/aio.h).
    ("rst_tcp_sock", "sk", In("crate::tcp")),
    ("rst_tcp_sock", "reuseaddr", In("crate::tcp")),
    ("rst_aio_ring", "addr", In("crate::aio_ring")),
    ("rst_aio_ring", "len", In("crate::aio_ring")),
    ("rst_aio_ring", "nr_req", In("crate::aio_ring")),
    // struct thread_creds_args: a thread's credentials.
    ("thread_creds_args", "creds", In("crate::creds")),
    ("thread_creds_args", "cap_last_cap", In("crate::creds")),
    ("thread_creds_args", "cap_inh", In("crate::creds")),
    ("thread_creds_args", "cap_prm", In("crate::creds")),
    ("thread_creds_args", "cap_eff", In("crate::creds")),
    ("thread_creds_args", "cap_bnd", In("crate::creds")),
    ("thread_creds_args", "cap_amb", In("crate::creds")),
    ("thread_creds_args", "lsm_profile", In("crate::lsm")),
    ("thread_creds_args", "groups", In("crate::creds")),
    ("thread_creds_args", "lsm_sockcreate", In("crate::creds")),
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
    ("thread_seccomp_filter", "sock_fprog", In("crate::seccomp")),
    ("thread_seccomp_filter", "flags", In("crate::seccomp")),
    ("rst_rseq_param", "rseq_abi_pointer", In("crate::rseq")),
    ("rst_rseq_param", "rseq_abi_size", In("crate::rseq")),
    ("rst_rseq_param", "signature", In("crate::rseq")),
    ("rst_sched_param", "policy", In("crate::sched")),
    ("rst_sched_param", "nice", In("crate::sched")),
    ("rst_sched_param", "prio", In("crate::sched")),
    // struct vdso_maps, vdso_symtable, vdso_symbol: the runtime vDSO (task_restore_args.vdso_maps_rt).
    ("vdso_maps", "vdso_start", In("crate::vdso")),
    ("vdso_maps", "vvar_start", In("crate::vdso")),
    ("vdso_maps", "sym", In("crate::vdso")),
    (
        "vdso_maps",
        "compatible",
        Ignored("set for a 32-bit task's vDSO only, and 32-bit tasks are refused (task_restore_args.compatible_mode)"),
    ),
    ("vdso_symtable", "vdso_size", In("crate::vdso")),
    ("vdso_symtable", "vvar_size", In("crate::vdso")),
    ("vdso_symtable", "vvar_vclock_size", In("crate::vdso")),
    ("vdso_symtable", "symbols", In("crate::vdso")),
    ("vdso_symtable", "vdso_before_vvar", In("crate::vdso")),
    ("vdso_symbol", "name", In("crate::vdso")),
    ("vdso_symbol", "offset", In("crate::vdso")),
];

/// Every constant of the guarded prefixes (criu/include/image.h's VMA kinds and flags).
pub const CONSTS: &[(&str, Known)] = &[
    ("VMA_AREA_NONE", Ignored("zero: no bit to test")),
    ("VMA_AREA_REGULAR", In("crate::vmas")),
    (
        "VMA_AREA_STACK",
        Ignored("marks the VMA that held the stack, for the dump; restored as any regular VMA, from its prot, flags and fd"),
    ),
    ("VMA_AREA_VSYSCALL", In("crate::vmas")),
    ("VMA_AREA_VDSO", In("crate::vmas")),
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
    ("VMA_ANON_SHARED", In("crate::vmas")),
    (
        "VMA_ANON_PRIVATE",
        Ignored("the mapping's kind, which its flags (MAP_PRIVATE | MAP_ANONYMOUS) already say; mapped from them as CRIU's restorer does"),
    ),
    ("VMA_AREA_SYSVIPC", In("crate::vmas")),
    (
        "VMA_AREA_SOCKET",
        Ignored("a packet socket's ring, whose fd CRIU's main process opens: mapped from its fd as any regular VMA, as CRIU's restorer does"),
    ),
    ("VMA_AREA_VVAR", In("crate::vmas")),
    ("VMA_AREA_AIORING", In("crate::vmas")),
    (
        "VMA_AREA_MEMFD",
        Ignored("a memfd mapping, whose fd CRIU's main process opens: mapped from its fd as any regular VMA, as CRIU's restorer does"),
    ),
    ("VMA_AREA_SHSTK", In("crate::remap_plan")),
    // CRIU 4.2.
    ("VMA_AREA_GUARD", In("crate::vmas")),
    (
        "VMA_AREA_UPROBES",
        Ignored("CRIU 4.2: the kernel's [uprobes] VMA, recorded only for its existence; not regular, so never mapped, as in CRIU's restorer"),
    ),
    (
        "VMA_EXT_PLUGIN",
        Ignored("a device mapping whose fd a CRIU plugin opened in CRIU's main process: mapped from its fd as any regular VMA, as CRIU's restorer does"),
    ),
    ("VMA_CLOSE", In("crate::vmas")),
    ("VMA_NO_PROT_WRITE", In("crate::vmas")),
    ("VMA_PREMMAPED", In("crate::vmas")),
    (
        "VMA_UNSUPP",
        Ignored("the dump's mark of a VMA CRIU cannot dump: such a task is never dumped, so no image carries it"),
    ),
];
