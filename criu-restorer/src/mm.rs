//! The task's mm fields: THP_DISABLE, its name, and the memory-map description the
//! kernel shows in /proc/PID/stat and uses for brk, argv and auxv (PR_SET_MM_MAP, or
//! field by field where the kernel lacks it, with the exe link set last).

use core::ffi::{c_char, CStr};

use criu_abi::raw::task_restore_args;
use pie_sys::fd::OwnedFd;
use pie_sys::process::{self as p, PrctlMmMap};
use pie_sys::Errno;

use crate::error::{Failed, Result};
use crate::log::Hex;
use crate::{bail, pr_debug, pr_err, pr_info};

/// CRIU's `sys_prctl_safe`: a prctl whose failure is logged with where it happened.
fn prctl_logged(option: i32, a2: usize, a3: usize, a4: usize, line: u32) -> core::result::Result<(), Errno> {
    // SAFETY: the options used here (PR_SET_NAME with a NUL-terminated name, PR_SET_MM
    // with values or the auxv CRIU saved in the args) read only what they are given.
    let r = unsafe { p::prctl(option, a2, a3, a4, 0) };
    if let Err(e) = r {
        pr_err!("prctl failed @", line, " with ", e);
    }
    r.map(|_| ())
}

/// PR_SET_THP_DISABLE as the task had it.
pub fn restore_thp_disable(disabled: bool) -> Result {
    // SAFETY: PR_SET_THP_DISABLE takes a value only.
    if let Err(e) = unsafe { p::prctl(p::PR_SET_THP_DISABLE, disabled as usize, 0, 0, 0) } {
        bail!("Cannot restore THP_DISABLE=", disabled as i32, " flag: ", e);
    }
    Ok(())
}

/// The task's name (the leader's), logged on failure as CRIU's `sys_prctl_safe` does.
pub fn restore_name(comm: &[c_char; 16]) -> Result {
    set_name(comm).map_err(|e| {
        pr_err!("prctl failed @", line!(), " with ", e);
        Failed
    })
}

/// PR_SET_NAME from a name in CRIU's args, cut to 15 bytes and terminated.
pub fn set_name(comm: &[c_char; 16]) -> core::result::Result<(), Errno> {
    let mut name = [0u8; 16];
    for (d, &c) in name.iter_mut().zip(&comm[..15]) {
        *d = c as u8;
    }
    // name[15] is NUL: the conversion cannot fail.
    p::prctl_set_name(CStr::from_bytes_until_nul(&name).unwrap_or_default())
}

/// PR_SET_MM_MAP from the dumped mm, else (EINVAL: an old kernel) each field alone and
/// then the exe link. Consumes `fd_exe_link` either way.
pub fn restore_mm(args: &task_restore_args) -> Result {
    let mm = &args.mm;
    let map = PrctlMmMap {
        start_code: mm.mm_start_code,
        end_code: mm.mm_end_code,
        start_data: mm.mm_start_data,
        end_data: mm.mm_end_data,
        start_stack: mm.mm_start_stack,
        start_brk: mm.mm_start_brk,
        brk: mm.mm_brk,
        arg_start: mm.mm_arg_start,
        arg_end: mm.mm_arg_end,
        env_start: mm.mm_env_start,
        env_end: mm.mm_env_end,
        auxv: args.mm_saved_auxv.as_ptr() as u64,
        auxv_size: args.mm_saved_auxv_size,
        exe_fd: args.fd_exe_link as u32,
    };
    // SAFETY: PR_SET_MM_MAP reads one PrctlMmMap of the given size and the auxv words it
    // points to, both live in the args.
    let r = unsafe {
        p::prctl(
            p::PR_SET_MM,
            p::PR_SET_MM_MAP,
            &map as *const PrctlMmMap as usize,
            core::mem::size_of::<PrctlMmMap>(),
            0,
        )
    };
    // SAFETY: CRIU opened the exe fd for the restorer, which closes it once used.
    let exe = (args.fd_exe_link >= 0).then(|| unsafe { OwnedFd::from_raw_fd(args.fd_exe_link) });
    match r {
        Ok(_) => Ok(()),
        Err(Errno::EINVAL) => {
            log_map(&map, args);
            restore_fields(args)?;
            restore_exe_late(exe)
        }
        Err(e) => {
            log_map(&map, args);
            bail!("sys_prctl(PR_SET_MM, PR_SET_MM_MAP) failed with ", e);
        }
    }
}

fn log_map(m: &PrctlMmMap, args: &task_restore_args) {
    pr_debug!("prctl PR_SET_MM_MAP failed");
    pr_debug!("  .start_code = ", Hex(m.start_code));
    pr_debug!("  .end_code = ", Hex(m.end_code));
    pr_debug!("  .start_data = ", Hex(m.start_data));
    pr_debug!("  .end_data = ", Hex(m.end_data));
    pr_debug!("  .start_stack = ", Hex(m.start_stack));
    pr_debug!("  .start_brk = ", Hex(m.start_brk));
    pr_debug!("  .brk = ", Hex(m.brk));
    pr_debug!("  .arg_start = ", Hex(m.arg_start));
    pr_debug!("  .arg_end = ", Hex(m.arg_end));
    pr_debug!("  .env_start = ", Hex(m.env_start));
    pr_debug!("  .env_end = ", Hex(m.env_end));
    pr_debug!("  .auxv_size = ", m.auxv_size);
    let words = (m.auxv_size as usize / 8).min(args.mm_saved_auxv.len());
    for (i, w) in args.mm_saved_auxv[..words].iter().enumerate() {
        pr_debug!("  .auxv[", i, "] = ", Hex(*w));
    }
    pr_debug!("  .exe_fd = ", m.exe_fd);
}

fn restore_fields(args: &task_restore_args) -> Result {
    let mm = &args.mm;
    let fields = [
        (p::PR_SET_MM_START_CODE, mm.mm_start_code),
        (p::PR_SET_MM_END_CODE, mm.mm_end_code),
        (p::PR_SET_MM_START_DATA, mm.mm_start_data),
        (p::PR_SET_MM_END_DATA, mm.mm_end_data),
        (p::PR_SET_MM_START_STACK, mm.mm_start_stack),
        (p::PR_SET_MM_START_BRK, mm.mm_start_brk),
        (p::PR_SET_MM_BRK, mm.mm_brk),
        (p::PR_SET_MM_ARG_START, mm.mm_arg_start),
        (p::PR_SET_MM_ARG_END, mm.mm_arg_end),
        (p::PR_SET_MM_ENV_START, mm.mm_env_start),
        (p::PR_SET_MM_ENV_END, mm.mm_env_end),
    ];
    // Every field is tried, as CRIU does, and the restore fails if any failed.
    let mut ok = true;
    for (opt, v) in fields {
        ok &= prctl_logged(p::PR_SET_MM, opt, v as usize, 0, line!()).is_ok();
    }
    ok &= prctl_logged(
        p::PR_SET_MM,
        p::PR_SET_MM_AUXV,
        args.mm_saved_auxv.as_ptr() as usize,
        args.mm_saved_auxv_size as usize,
        line!(),
    )
    .is_ok();
    if ok {
        Ok(())
    } else {
        Err(Failed)
    }
}

/// The kernel accepts a new exe link only once the old file's VMAs are gone: last.
fn restore_exe_late(exe: Option<OwnedFd>) -> Result {
    pr_info!("Restoring EXE link");
    let fd = exe.as_ref().map_or(-1, |f| f.as_raw_fd());
    if let Err(e) = prctl_logged(p::PR_SET_MM, p::PR_SET_MM_EXE_FILE, fd as usize, 0, line!()) {
        bail!("Can't restore EXE link (", e, ")");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child;

    #[test]
    fn a_name_of_sixteen_bytes_is_cut_to_fifteen() {
        in_child(|| {
            let comm: [c_char; 16] = b"abcdefghijklmnop".map(|b| b as c_char);
            set_name(&comm).unwrap();
            let now = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
            assert_eq!(now.trim_end(), "abcdefghijklmno");
        });
    }
}
