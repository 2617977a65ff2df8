//! The bindings' layout against the C compiler's view of the same tree: a C program
//! including the same header with the restorer's flags prints sizeof/offsetof and a few
//! constants, and each must equal what the Rust bindings say.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::Path;

use c_probe::CProgram;

use criu_abi::built_from;
use criu_abi::raw::*;

/// (C expression, Rust value) for every fact compared.
fn facts() -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = Vec::new();
    macro_rules! offsets {
        ($c:literal, $ty:ty, [$($f:ident),* $(,)?]) => {
            v.push((format!("sizeof({})", $c), size_of::<$ty>() as u64));
            $(v.push((format!("offsetof({}, {})", $c, stringify!($f)), offset_of!($ty, $f) as u64));)*
        };
    }
    macro_rules! consts {
        ($($c:ident),* $(,)?) => { $(v.push((stringify!($c).to_string(), $c as u64));)* };
    }
    offsets!("struct restore_vma_io", restore_vma_io, [nr_iovs, off, iovs]);
    offsets!("struct iovec", iovec, [iov_base, iov_len]);
    offsets!(
        "struct task_restore_args",
        task_restore_args,
        [
            t,
            fd_exe_link,
            logfd,
            loglevel,
            logstart,
            uffd,
            thp_disabled,
            nr_threads,
            thread_args,
            task_entries,
            rst_mem,
            rst_mem_size,
            vmas,
            vmas_n,
            vma_ios_fd,
            vma_ios,
            vma_ios_n,
            posix_timers,
            posix_timers_n,
            timerfd,
            siginfo,
            tcp_socks,
            rings,
            rlims,
            helpers,
            zombies,
            inotify_fds,
            task_size,
            premmapped_addr,
            premmapped_len,
            sigchld_act,
            bootstrap_start,
            bootstrap_len,
            itimers,
            mm,
            mm_saved_auxv,
            comm,
            proc_fd,
            seccomp_mode,
            compatible_mode,
            can_map_vdso,
            auto_dedup,
            vdso_rt_size,
            vdso_maps_rt,
            vdso_rt_parked_at,
            breakpoint,
            fault_strategy,
            lsm_type,
            child_subreaper,
            membarrier_registration_mask,
            has_clone3_set_tid,
            libc_rseq,
            uid,
            cap_eff,
        ]
    );
    offsets!(
        "struct thread_restore_args",
        thread_restore_args,
        [
            mz,
            pid,
            gpregs,
            clear_tid_addr,
            futex_rla,
            futex_rla_len,
            sp,
            ta,
            tls,
            rseq,
            siginfo,
            siginfo_n,
            pdeath_sig,
            creds_args,
            seccomp_mode,
            seccomp_filters,
            seccomp_filters_n,
            comm,
        ]
    );
    offsets!(
        "VmaEntry",
        VmaEntry,
        [start, end, pgoff, shmid, prot, flags, status, fd, madv]
    );
    offsets!(
        "struct task_entries",
        task_entries,
        [nr_threads, nr_tasks, nr_helpers, nr_in_progress, start]
    );
    offsets!("struct rst_aio_ring", rst_aio_ring, [addr, len, nr_req]);
    #[cfg(criu_has_posix_timer_cr_ids)]
    offsets!("struct task_restore_args", task_restore_args, [posix_timer_cr_ids]);
    #[cfg(criu_has_shstk)]
    {
        offsets!("struct task_restore_args", task_restore_args, [shstk]);
        offsets!("struct thread_restore_args", thread_restore_args, [shstk]);
        offsets!(
            "struct rst_shstk_info",
            rst_shstk_info,
            [vma_start, vma_size, premmaped_addr, tmp_shstk, ssp, cet]
        );
    }
    consts!(
        VMA_AREA_REGULAR,
        VMA_ANON_PRIVATE,
        VMA_FILE_PRIVATE,
        VMA_PREMMAPED,
        VMA_NO_PROT_WRITE,
        TASK_COMM_LEN
    );
    #[cfg(criu_has_vma_area_guard)]
    consts!(VMA_AREA_GUARD);
    #[cfg(criu_has_vma_area_uprobes)]
    consts!(VMA_AREA_UPROBES);
    v.push(("CR_STATE_COMPLETE".into(), CR_STATE_COMPLETE as u64));
    v.push(("LOG_DEBUG".into(), LOG_DEBUG as u64));
    // The cfg'd groups repeat their struct's sizeof.
    v.sort();
    v.dedup();
    v
}

/// The C program printing `expr value` for each fact.
fn c_program(facts: &[(String, u64)]) -> String {
    let mut s = String::from("#include <stddef.h>\nint printf(const char *, ...);\n");
    s.push_str(built_from::HEADER);
    s.push_str("int main(void)\n{\n");
    for (expr, _) in facts {
        s.push_str(&format!(
            "\tprintf(\"%s %llu\\n\", \"{expr}\", (unsigned long long)({expr}));\n"
        ));
    }
    s.push_str("\treturn 0;\n}\n");
    s
}

#[test]
fn bindings_match_the_c_compilers_layout() {
    let facts = facts();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("criu-abi-c-layout-{}", std::process::id()));
    let out = CProgram::new(&dir, "layout")
        .args(built_from::CFLAGS)
        .run(&c_program(&facts));
    let c: BTreeMap<String, u64> = c_probe::values(&out)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect();

    let wrong: Vec<String> = facts
        .iter()
        .filter(|(e, r)| c.get(e) != Some(r))
        .map(|(e, r)| format!("{e}: C {:?}, Rust {r}", c.get(e)))
        .collect();
    assert!(wrong.is_empty(), "tree {}: {}", built_from::TREE, wrong.join("; "));
    assert_eq!(c.len(), facts.len());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_layout_constants_are_criu_facts() {
    // Checked against C in the test above through the same fields.
    assert_eq!(criu_abi::layout::VMA_IO_HEADER, offset_of!(restore_vma_io, iovs));
    assert_eq!(criu_abi::layout::IOVEC, size_of::<iovec>());
}
