//! The `prctl(2)` options the creds, seccomp and task-flag phases use, each a safe call
//! with typed arguments: all of them take integers only, except `PR_SET_SECCOMP`'s
//! filter, which borrows the program for the call.

use criu_abi::raw::sock_fprog;
use pie_sys::errno::Result;
use pie_sys::process::{
    prctl, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, PR_GET_DUMPABLE, PR_GET_SECUREBITS,
    PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_SET_SECUREBITS,
    SECCOMP_MODE_FILTER, SECCOMP_MODE_STRICT,
};

/// An option whose arguments are all integers.
fn int_option(option: i32, a2: usize, a3: usize) -> Result<i32> {
    // SAFETY: every caller passes an option that takes integer arguments only, so no
    // memory is read or written by the kernel on its behalf.
    unsafe { prctl(option, a2, a3, 0, 0) }
}

/// `PR_GET_SECUREBITS`.
pub fn get_securebits() -> Result<i32> {
    int_option(PR_GET_SECUREBITS, 0, 0)
}

/// `PR_SET_SECUREBITS`.
pub fn set_securebits(bits: u32) -> Result<()> {
    int_option(PR_SET_SECUREBITS, bits as usize, 0).map(drop)
}

/// `PR_CAPBSET_DROP`: remove `cap` from the bounding set.
pub fn capbset_drop(cap: u32) -> Result<()> {
    int_option(PR_CAPBSET_DROP, cap as usize, 0).map(drop)
}

/// `PR_CAP_AMBIENT_RAISE`: add `cap` to the ambient set.
pub fn cap_ambient_raise(cap: u32) -> Result<()> {
    int_option(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap as usize).map(drop)
}

/// `PR_SET_NO_NEW_PRIVS`.
pub fn set_no_new_privs(v: u32) -> Result<()> {
    int_option(PR_SET_NO_NEW_PRIVS, v as usize, 0).map(drop)
}

/// `PR_SET_PDEATHSIG`.
pub fn set_pdeathsig(sig: i32) -> Result<()> {
    int_option(PR_SET_PDEATHSIG, sig as usize, 0).map(drop)
}

/// `PR_GET_DUMPABLE`.
pub fn get_dumpable() -> Result<i32> {
    int_option(PR_GET_DUMPABLE, 0, 0)
}

/// `PR_SET_DUMPABLE`.
pub fn set_dumpable(v: i32) -> Result<()> {
    int_option(PR_SET_DUMPABLE, v as usize, 0).map(drop)
}

/// `PR_SET_CHILD_SUBREAPER`.
pub fn set_child_subreaper(v: i32) -> Result<()> {
    int_option(PR_SET_CHILD_SUBREAPER, v as usize, 0).map(drop)
}

/// `PR_SET_SECCOMP` with `SECCOMP_MODE_STRICT`.
pub fn set_seccomp_strict() -> Result<()> {
    int_option(PR_SET_SECCOMP, SECCOMP_MODE_STRICT as usize, 0).map(drop)
}

/// `PR_SET_SECCOMP` with `SECCOMP_MODE_FILTER`: the older interface for `prog`.
pub fn set_seccomp_filter(prog: &sock_fprog) -> Result<()> {
    // SAFETY: PR_SET_SECCOMP/SECCOMP_MODE_FILTER reads the program header and its
    // `len` instructions, which the caller's `sock_fprog` points to (CRIU's args).
    unsafe {
        prctl(
            PR_SET_SECCOMP,
            SECCOMP_MODE_FILTER as usize,
            prog as *const sock_fprog as usize,
            0,
            0,
        )
    }
    .map(drop)
}
