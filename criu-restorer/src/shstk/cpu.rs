//! The shadow-stack instructions and syscalls both protocols use: read and switch the
//! shadow-stack pointer, write with `wrss`, map, enable and lock, and the sigreturn that
//! pops its own entry first.

use core::arch::asm;

use pie_sys::errno::Result as SysResult;
use pie_sys::mm::{self, SHADOW_STACK_SET_TOKEN};
use pie_sys::thread::{
    self, arch_prctl_get, ARCH_SHSTK_DISABLE, ARCH_SHSTK_ENABLE, ARCH_SHSTK_LOCK, ARCH_SHSTK_SHSTK, ARCH_SHSTK_STATUS,
    ARCH_SHSTK_WRSS,
};
use syscalls::Sysno;

use super::layout::ShadowWrite;
use crate::error::Result;
use crate::log::Hex;
use crate::{bail, pr_debug, pr_info};

/// The current shadow-stack pointer; 0 when this thread has no shadow stack (`rdssp` is
/// a no-op then, also on CPUs without CET).
#[inline(always)]
pub fn ssp() -> u64 {
    let mut v = 0u64;
    // SAFETY: rdssp only reads the shadow-stack pointer into the register.
    unsafe { asm!("rdsspq {v}", v = inout(reg) v, options(nomem, nostack, preserves_flags)) };
    v
}

/// Move onto the shadow stack whose restore token is at `token`, leaving a restore token
/// on the old one (`rstorssp` + `saveprevssp`): the new stack pointer is just above the
/// token.
///
/// # Safety
/// A restore token for 64-bit mode naming `token + 8` must be at `token` on a shadow
/// stack, and no frame entered before this call may return afterwards.
#[inline(always)]
pub unsafe fn switch_ssp(token: u64) {
    let old = ssp();
    // SAFETY: the caller's contract.
    unsafe { asm!("rstorssp [{t}]", "saveprevssp", t = in(reg) token, options(nostack)) };
    pr_debug!("changed ssp from ", Hex(old), " to ", Hex(token));
}

/// Write `val` at `addr` of a shadow stack.
///
/// # Safety
/// Writes to the shadow stack must be enabled (`ARCH_SHSTK_WRSS`) and `addr` must be in
/// a shadow-stack VMA, in no slot a live call's return address is in.
#[inline(always)]
unsafe fn wrssq(addr: u64, val: u64) {
    // SAFETY: the caller's contract.
    unsafe { asm!("wrssq qword ptr [{a}], {v}", a = in(reg) addr, v = in(reg) val, options(nostack)) };
}

/// Writes through `wrss`.
pub struct Wrss(());

impl Wrss {
    /// # Safety
    /// Writes to shadow stacks must be enabled for this thread, and every address the
    /// writer is then given must be in a shadow-stack VMA, in no slot a live call's return
    /// address is in (the fills write only inside a checked layout or a fresh VMA).
    #[inline(always)]
    pub unsafe fn new() -> Wrss {
        Wrss(())
    }
}

impl ShadowWrite for Wrss {
    #[inline(always)]
    fn write(&mut self, addr: u64, val: u64) {
        // SAFETY: the contract of `Wrss::new`, which made this writer.
        unsafe { wrssq(addr, val) }
    }
}

/// `arch_prctl` with a shadow-stack code and a feature mask.
pub fn features(code: i32, bits: u64) -> SysResult<usize> {
    // SAFETY: the shadow-stack codes take a feature mask, no pointer; enabling or
    // disabling WRSS and locking change only what may write the shadow stack later.
    unsafe { thread::arch_prctl(code, bits as usize) }
}

/// Whether this thread may write shadow stacks (`wrss` raises #UD otherwise): false
/// where the kernel or the CPU has no user shadow stacks.
pub fn wrss_enabled() -> bool {
    let want = ARCH_SHSTK_SHSTK | ARCH_SHSTK_WRSS;
    arch_prctl_get(ARCH_SHSTK_STATUS).is_ok_and(|v| v & want == want)
}

/// `map_shadow_stack` at exactly `addr`, with the restore token at its top.
pub fn map_at(addr: u64, size: u64) -> Result {
    match mm::map_shadow_stack(addr as usize, size as usize, SHADOW_STACK_SET_TOKEN) {
        Err(e) => bail!("Failed to map shadow stack at ", Hex(addr), ": ", e),
        Ok(p) if p as u64 != addr => bail!(
            "Shadow stack address mismatch: need ",
            Hex(addr),
            ", got ",
            Hex(p as u64)
        ),
        Ok(_) => {
            pr_info!("Created shadow stack at ", Hex(addr));
            Ok(())
        }
    }
}

/// `map_shadow_stack` wherever the kernel finds room, with the restore token at its top.
pub fn map_anywhere(size: u64) -> Result<u64> {
    match mm::map_shadow_stack(0, size as usize, SHADOW_STACK_SET_TOKEN) {
        Err(e) => bail!("Failed to map shadow stack: ", e),
        Ok(p) => Ok(p as u64),
    }
}

/// Stop writes to the shadow stack and lock its controls against the task.
pub fn finalize() -> Result {
    if features(ARCH_SHSTK_DISABLE, ARCH_SHSTK_WRSS).is_err() {
        bail!("Failed to disable writes to shadow stack");
    }
    if features(ARCH_SHSTK_LOCK, ARCH_SHSTK_SHSTK).is_err() {
        bail!("Failed to lock shadow stack controls");
    }
    Ok(())
}

/// Enable writes to shadow stacks for this thread (and the threads it clones later).
pub fn enable_wrss() -> Result {
    if features(ARCH_SHSTK_ENABLE, ARCH_SHSTK_WRSS).is_err() {
        bail!("Failed to enable writes to shadow stack");
    }
    Ok(())
}

/// Sigreturn through the frame at `new_sp` (CRIU's `ARCH_RT_SIGRETURN_RST`, native): with
/// a shadow stack, first drop the entry the call into the sigreturn function pushed, so
/// the sigreturn token the restore wrote is on top, as the kernel wants it. Without one,
/// `rdssp` reads 0 and this is a plain `rt_sigreturn`.
///
/// # Safety
/// As [`pie_sys::signal::rt_sigreturn`]; with a shadow stack, the caller must be
/// one call below the frame that ran the restore.
#[inline(always)]
pub unsafe fn sigreturn(new_sp: usize) -> ! {
    // SAFETY: the caller vouches for the frame and the shadow stack; rax is free to use,
    // since nothing runs after the syscall.
    unsafe {
        asm!(
            "xor eax, eax",
            "rdsspq rax",
            "test rax, rax",
            "jz 2f",
            "mov eax, 1",
            "incsspq rax",
            "2:",
            "mov rsp, rdi",
            "mov eax, {nr}",
            "syscall",
            "ud2",
            nr = const Sysno::rt_sigreturn as u32,
            in("rdi") new_sp,
            options(noreturn),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine: `ARCH_SHSTK_STATUS` and `rdssp` agree on whether the test runs on a
    /// shadow stack, and without the CPU's user_shstk it does not (so the CET path is
    /// skipped for any task restored here, and nothing may write shadow stacks).
    #[test]
    fn status_and_rdssp_agree() {
        let cpu_has = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap()
            .lines()
            .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "user_shstk"));
        // EINVAL: a kernel without CONFIG_X86_USER_SHADOW_STACK.
        let active = arch_prctl_get(ARCH_SHSTK_STATUS).is_ok_and(|v| v & ARCH_SHSTK_SHSTK != 0);
        assert_eq!(ssp() != 0, active, "rdssp {:#x}", ssp());
        if !cpu_has {
            assert!(!active);
            assert_eq!(ssp(), 0);
            assert!(!wrss_enabled());
        }
    }
}
