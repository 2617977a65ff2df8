//! x86 CET shadow stacks, as CRIU's restorer brings them back (`asm/shstk.h`).
//!
//! A shadow stack cannot be mmap'ed, moved or written by plain stores: CRIU premaps a copy
//! of the task's shadow-stack VMA (plus one spare page past it) with the other memory;
//! here the leader first moves onto a temporary shadow stack in that spare page
//! ([`switch_to_restorer`]), so that the kernel-made one can go with the old mappings.
//! Late, each thread ([`restore`]) makes its shadow-stack VMA anew with
//! `map_shadow_stack`, moves onto it, writes the dumped entries back with `wrss`, adds
//! the token the kernel's sigreturn checks and the one a stack switch needs, moves to
//! the task's shadow-stack pointer and locks the controls. The way out, [`sigreturn`],
//! first drops the return address its own call pushed.
//!
//! Everything depends on `cet & ARCH_SHSTK_SHSTK`: without it no function here makes a
//! syscall or touches the shadow stack, so a task without one restores as before.
//!
//! Once the shadow stack is switched, no frame that was entered before the switch may
//! return (its return address is on the old stack, and `ret` would fault with #CP): the
//! switching functions are `#[inline(always)]`, and so must be their callers up to the
//! entry point, which never returns.

use core::arch::asm;

use criu_abi::raw::rst_shstk_info;
use restorer::sys::errno::Result as SysResult;
use restorer::sys::mm::{self, SHADOW_STACK_SET_TOKEN};
use restorer::sys::thread::{
    self, ARCH_SHSTK_DISABLE, ARCH_SHSTK_ENABLE, ARCH_SHSTK_LOCK, ARCH_SHSTK_SHSTK, ARCH_SHSTK_WRSS,
};
use syscalls::Sysno;
use vma_io::PAGE_SIZE;

use crate::error::Result;
use crate::log::Hex;
use crate::{bail, pr_debug, pr_info};

/// Bit 63 of a shadow-stack entry the kernel wrote as data (the sigreturn token), so it
/// never reads as a return address.
pub const SHSTK_DATA_BIT: u64 = 1 << 63;
/// Bit 0 of a restore token: the token is for 64-bit mode (CRIU's `SHSTK_BUSY_BIT`).
pub const RSTOR_TOKEN_64: u64 = 1 << 0;

/// The token the kernel's `rt_sigreturn` pops: the shadow-stack pointer to return to,
/// marked as data.
pub const fn sigframe_token(ssp: u64) -> u64 {
    (ssp & !7) | SHSTK_DATA_BIT
}

/// A restore token for `rstorssp`, in the slot just below `above`: it names the slot
/// above itself, in 64-bit mode.
pub const fn restore_token(above: u64) -> u64 {
    above | RSTOR_TOKEN_64
}

/// Whether the args say the task ran with a shadow stack.
pub const fn enabled(s: &rst_shstk_info) -> bool {
    s.cet & ARCH_SHSTK_SHSTK != 0
}

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
unsafe fn switch_ssp(token: u64) {
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

/// Where [`fill`] writes: the shadow stack itself, or a buffer in the tests.
trait ShadowWrite {
    fn write(&mut self, addr: u64, val: u64);
}

/// Writes through `wrss`: made by [`restore`] only, for the shadow stack it just mapped
/// and moved onto, with writes enabled.
struct Wrss;

impl ShadowWrite for Wrss {
    #[inline(always)]
    fn write(&mut self, addr: u64, val: u64) {
        // SAFETY: a Wrss exists only in `restore`, after the VMA is mapped and WRSS is
        // enabled; `fill` writes only inside the checked layout, top down, from the
        // frame that switched there (so above no live return address).
        unsafe { wrssq(addr, val) }
    }
}

/// A thread's shadow stack from its args, checked so that the writes stay in the VMA
/// and the reads in the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    /// The VMA, `start..top`.
    start: u64,
    top: u64,
    /// The dumped shadow-stack pointer, in the VMA with room for the two tokens below it.
    ssp: u64,
    /// The premapped copy of the VMA's contents.
    copy: u64,
}

impl Layout {
    fn of(s: &rst_shstk_info) -> Option<Layout> {
        let (start, size, copy) = (s.vma_start, s.vma_size, s.premmaped_addr);
        let top = start.checked_add(size)?;
        let aligned = (start | size | copy).is_multiple_of(8);
        (aligned && size != 0 && start.saturating_add(16) <= s.ssp && s.ssp < top).then_some(Layout {
            start,
            top,
            ssp: s.ssp,
            copy,
        })
    }

    fn size(&self) -> u64 {
        self.top - self.start
    }
}

/// CRIU's restore loop: the dumped entries from the top of the VMA down to the dumped
/// pointer (`copy` is the VMA's image, slot for slot), then the sigreturn token below
/// them, then a restore token naming the sigreturn token's slot. Returns the restore
/// token's address, the switch target.
#[inline(always)]
fn fill(l: &Layout, copy: &[u64], w: &mut impl ShadowWrite) -> u64 {
    let mut at = l.top - 8;
    while at >= l.ssp {
        w.write(at, copy[((at - l.start) / 8) as usize]);
        at -= 8;
    }
    w.write(at, sigframe_token(l.ssp));
    let token = at - 8;
    w.write(token, restore_token(at));
    token
}

/// `arch_prctl` with a shadow-stack code and a feature mask.
fn features(code: i32, bits: u64) -> SysResult<usize> {
    // SAFETY: the shadow-stack codes take a feature mask, no pointer; enabling or
    // disabling WRSS and locking change only what may write the shadow stack later.
    unsafe { thread::arch_prctl(code, bits as usize) }
}

/// `map_shadow_stack` at exactly `addr`, with the restore token at its top.
fn map(addr: u64, size: u64) -> Result {
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

/// Stop writes to the shadow stack and lock its controls against the task.
fn finalize() -> Result {
    if features(ARCH_SHSTK_DISABLE, ARCH_SHSTK_WRSS).is_err() {
        bail!("Failed to disable writes to shadow stack");
    }
    if features(ARCH_SHSTK_LOCK, ARCH_SHSTK_SHSTK).is_err() {
        bail!("Failed to lock shadow stack controls");
    }
    Ok(())
}

/// The leader, right after the restorer's log is set up: move from the kernel's shadow
/// stack to a temporary one in the page past the premapped copy, and enable `wrss`.
/// CRIU's `arch_shstk_switch_to_restorer` in `__export_restore_task`.
///
/// Inlined into its caller, which (up to the entry point) must never return once this
/// succeeded or failed after the switch.
#[inline(always)]
pub fn switch_to_restorer(s: &rst_shstk_info) -> Result {
    if !enabled(s) {
        return Ok(());
    }
    let tmp = s.tmp_shstk;
    // SAFETY: CRIU premapped this page past the shadow stack's copy for the temporary
    // shadow stack; nothing else uses it.
    if unsafe { mm::munmap(tmp as *mut u8, PAGE_SIZE) }.is_err() {
        bail!("Failed to unmap area for temporary shadow stack");
    }
    map(tmp, PAGE_SIZE as u64)?;
    // SAFETY: map_shadow_stack put a restore token in the top slot; the caller's
    // frames never return (see above).
    unsafe { switch_ssp(tmp + PAGE_SIZE as u64 - 8) };
    if features(ARCH_SHSTK_ENABLE, ARCH_SHSTK_WRSS).is_err() {
        bail!("Failed to enable writes to shadow stack");
    }
    Ok(())
}

/// Each thread (the leader after it cloned the others and counted them in, since locking
/// stops `wrss` for threads cloned later): make the shadow-stack VMA anew, fill it from
/// the premapped copy, move to the dumped shadow-stack pointer, unmap the copy (and the
/// spare page after it) and lock the controls. CRIU's `arch_shstk_restore` in
/// `__export_restore_task` and `__export_restore_thread`; leave through [`sigreturn`].
///
/// Inlined into its caller, which (up to the entry point) must never return once the
/// VMA is mapped.
#[inline(always)]
pub fn restore(s: &rst_shstk_info) -> Result {
    if !enabled(s) {
        return Ok(());
    }
    // CRIU trusts its own layout; a bad one would fault in the loop below.
    let Some(l) = Layout::of(s) else {
        bail!(
            "Bad shadow stack layout: VMA ",
            Hex(s.vma_start),
            " size ",
            Hex(s.vma_size),
            " ssp ",
            Hex(s.ssp),
            " copy at ",
            Hex(s.premmaped_addr)
        );
    };
    map(l.start, l.size())?;
    // SAFETY: the fresh VMA has its restore token in the top slot; the caller's frames
    // never return (see above).
    unsafe { switch_ssp(l.top - 8) };
    // SAFETY: CRIU premapped the VMA's contents at `copy`, 8-aligned (checked), mapped
    // until the munmap below, after the last read.
    let copy = unsafe { core::slice::from_raw_parts(l.copy as *const u64, (l.size() / 8) as usize) };
    let token = fill(&l, copy, &mut Wrss);
    // SAFETY: `fill` left a restore token naming the sigreturn token's slot at `token`.
    unsafe { switch_ssp(token) };
    // SAFETY: the copy and the spare page are CRIU's premapped memory for this shadow
    // stack, no longer read (the temporary shadow stack there is left behind).
    if unsafe { mm::munmap(l.copy as *mut u8, l.size() as usize + PAGE_SIZE) }.is_err() {
        bail!("Failed to unmap premmaped shadow stack");
    }
    finalize()
}

/// Sigreturn through the frame at `new_sp` (CRIU's `ARCH_RT_SIGRETURN_RST`, native): with
/// a shadow stack, first drop the entry the call into the sigreturn function pushed, so
/// the sigreturn token [`restore`] wrote is on top, as the kernel wants it. Without one,
/// `rdssp` reads 0 and this is a plain `rt_sigreturn`.
///
/// # Safety
/// As [`restorer::sys::signal::rt_sigreturn`]; with a shadow stack, the caller must be
/// one call below the frame that ran [`restore`].
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
    use crate::test_child::child_status;
    use restorer::sys::thread::{arch_prctl_get, ARCH_SHSTK_STATUS};

    fn info(start: u64, size: u64, ssp: u64, copy: u64, cet: u64) -> rst_shstk_info {
        rst_shstk_info {
            vma_start: start,
            vma_size: size,
            premmaped_addr: copy,
            tmp_shstk: copy + size,
            ssp,
            cet,
        }
    }

    #[test]
    fn tokens() {
        assert_eq!(sigframe_token(0x7ffd_1234_5678), 0x8000_7ffd_1234_5678);
        // An unaligned pointer is rounded down, as the kernel's sigreturn wants it.
        assert_eq!(sigframe_token(0x7ffd_1234_567c), 0x8000_7ffd_1234_5678);
        assert_eq!(restore_token(0x7ffd_1234_5680), 0x7ffd_1234_5681);
        assert!(!enabled(&info(0, 0, 0, 0, ARCH_SHSTK_WRSS)));
        assert!(enabled(&info(0, 0, 0, 0, ARCH_SHSTK_SHSTK | ARCH_SHSTK_WRSS)));
    }

    #[test]
    fn layout_checks() {
        let (s, n, c) = (0x7f00_0000_0000u64, 0x4000u64, 0x5500_0000_0000u64);
        let good = Layout::of(&info(s, n, s + 0x3f00, c, 1)).unwrap();
        assert_eq!(
            good,
            Layout {
                start: s,
                top: s + n,
                ssp: s + 0x3f00,
                copy: c
            }
        );
        assert_eq!(good.size(), n);
        assert!(Layout::of(&info(s, n, s + 16, c, 1)).is_some());
        assert!(Layout::of(&info(s, n, s + n - 8, c, 1)).is_some());
        // The pointer out of the VMA, or without room for the two tokens below it.
        assert!(Layout::of(&info(s, n, s + n, c, 1)).is_none());
        assert!(Layout::of(&info(s, n, s + 8, c, 1)).is_none());
        assert!(Layout::of(&info(s, n, s - 8, c, 1)).is_none());
        // No VMA (CRIU found none around the pointer), odd sizes, misaligned, wrapping.
        assert!(Layout::of(&info(0, 0, 0, 0, 1)).is_none());
        assert!(Layout::of(&info(s, n + 4, s + 0x3f00, c, 1)).is_none());
        assert!(Layout::of(&info(s + 4, n, s + 0x3f00, c, 1)).is_none());
        assert!(Layout::of(&info(s, n, s + 0x3f00, c + 4, 1)).is_none());
        assert!(Layout::of(&info(u64::MAX - 0xfff, 0x2000, u64::MAX - 8, c, 1)).is_none());
        assert!(Layout::of(&info(u64::MAX - 15, 8, u64::MAX - 7, c, 1)).is_none());
    }

    /// A shadow-stack VMA as a buffer: records every write, refuses any outside it.
    struct Buf {
        start: u64,
        slots: Vec<u64>,
        writes: Vec<u64>,
    }

    impl ShadowWrite for Buf {
        fn write(&mut self, addr: u64, val: u64) {
            assert!(addr >= self.start && addr.is_multiple_of(8), "write at {addr:#x}");
            let i = ((addr - self.start) / 8) as usize;
            assert!(i < self.slots.len(), "write at {addr:#x} past the top");
            self.slots[i] = val;
            self.writes.push(addr);
        }
    }

    /// Fill a VMA of `n` slots from a copy of distinct values, the dumped pointer `ssp`
    /// bytes above the start; check every slot and the writes' order.
    fn check_fill(n: u64, ssp_off: u64) {
        const POISON: u64 = 0xdead_dead_dead_dead;
        let start = 0x7f12_3456_0000u64;
        let s = info(start, n * 8, start + ssp_off, 0x1000, ARCH_SHSTK_SHSTK);
        let l = Layout::of(&s).unwrap();
        let copy: Vec<u64> = (0..n).map(|i| 0x4000_0000 + i * 0x11).collect();
        let mut b = Buf {
            start,
            slots: vec![POISON; n as usize],
            writes: Vec::new(),
        };
        let token = fill(&l, &copy, &mut b);

        // The entries from the first slot at or above ssp up to the top are the copy's.
        let first = ssp_off.div_ceil(8) as usize;
        assert_eq!(&b.slots[first..], &copy[first..]);
        // Below: the sigreturn token, then the restore token; nothing lower is touched.
        let sig_at = start + (first as u64 - 1) * 8;
        assert_eq!(token, sig_at - 8);
        assert_eq!(b.slots[first - 1], sigframe_token(start + ssp_off));
        assert_eq!(b.slots[first - 2], restore_token(sig_at));
        assert!(b.slots[..first - 2].iter().all(|&v| v == POISON));
        // What rstorssp checks: a 64-bit token naming the slot above it.
        assert_eq!(b.slots[first - 2] & !RSTOR_TOKEN_64, token + 8);
        assert_ne!(b.slots[first - 2] & RSTOR_TOKEN_64, 0);
        // What the kernel's sigreturn checks: data, aligned, not below its own slot.
        let back = b.slots[first - 1] & !SHSTK_DATA_BIT;
        assert_ne!(b.slots[first - 1] & SHSTK_DATA_BIT, 0);
        assert!(back.is_multiple_of(8) && back >= sig_at);
        // Each slot once, from the top down, as wrss must (never under a live entry).
        let want: Vec<u64> = (first as u64 - 2..n).rev().map(|i| start + i * 8).collect();
        assert_eq!(b.writes, want);
    }

    #[test]
    fn fill_restores_entries_and_tokens() {
        // A deep stack, one entry, a full one, and a stack of one page.
        check_fill(1024, 700 * 8);
        check_fill(1024, 1023 * 8);
        check_fill(1024, 16);
        check_fill(512, 500 * 8);
        // An unaligned pointer (not in 64-bit mode, but CRIU's arithmetic allows it).
        check_fill(64, 40 * 8 + 4);
    }

    #[test]
    fn fill_reads_the_copy_slot_for_slot() {
        let start = 0x7000_0000u64;
        let l = Layout::of(&info(start, 8 * 8, start + 5 * 8, 0x1000, 1)).unwrap();
        let copy = [10, 11, 12, 13, 14, 15, 16, 17];
        let mut b = Buf {
            start,
            slots: vec![0; 8],
            writes: Vec::new(),
        };
        assert_eq!(fill(&l, &copy, &mut b), start + 3 * 8);
        assert_eq!(
            b.slots,
            [
                0,
                0,
                0,
                (start + 4 * 8) | 1,
                (start + 5 * 8) | SHSTK_DATA_BIT,
                15,
                16,
                17
            ]
        );
    }

    /// Without the cet bit nothing is done: run both phases in a child under strict
    /// seccomp, where any syscall but read, write, exit and sigreturn kills it, with args
    /// whose munmap or map_shadow_stack would succeed.
    #[test]
    fn without_the_cet_bit_no_syscall() {
        const P: usize = PAGE_SIZE;
        // SAFETY: a fresh anonymous mapping of ours.
        let area = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4 * P,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(area, libc::MAP_FAILED);
        let a = area as u64;
        let status = child_status(|| {
            // SAFETY: strict mode for this single-threaded child only.
            let r = unsafe { libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_STRICT, 0, 0, 0) };
            let mut code = if r == 0 { 0 } else { 9 };
            for cet in [0, ARCH_SHSTK_WRSS] {
                let s = info(a, 2 * P as u64, a + P as u64, a + 2 * P as u64, cet);
                if switch_to_restorer(&s).is_err() {
                    code |= 1;
                }
                if restore(&s).is_err() {
                    code |= 2;
                }
            }
            // SAFETY: exit(2), the only way out strict mode allows (not exit_group).
            unsafe { libc::syscall(libc::SYS_exit, code) };
        });
        // SAFETY: the test's own mapping.
        unsafe { libc::munmap(area, 4 * P) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child status {status:#x}"
        );
    }

    /// This machine: `ARCH_SHSTK_STATUS` and `rdssp` agree on whether the test runs on a
    /// shadow stack, and without the CPU's user_shstk it does not (so the CET path is
    /// skipped for any task restored here).
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
        }
    }

    /// The sigreturn the entry leaves through, from a signal handler: the kernel's own
    /// frame, at the handler's `ucontext`, must bring the child back after the raise.
    #[test]
    fn sigreturn_through_a_kernel_frame() {
        use std::sync::atomic::{AtomicU32, Ordering};
        static HANDLED: AtomicU32 = AtomicU32::new(0);

        extern "C" fn handler(_sig: i32, _info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
            HANDLED.fetch_add(1, Ordering::SeqCst);
            // The frame starts with the return address, just below the ucontext.
            crate::entry::rst_sigreturn(uc as usize, std::ptr::null_mut());
        }

        // On a shadow stack, the kernel's signal frame has an entry there that the pop
        // would drop instead of the restorer's own: only the no-shadow-stack path here.
        if ssp() == 0 {
            let status = child_status(|| {
                // SAFETY: a zeroed sigaction with our handler, for this child only.
                let r = unsafe {
                    let mut sa: libc::sigaction = std::mem::zeroed();
                    sa.sa_sigaction = handler as *const () as usize;
                    sa.sa_flags = libc::SA_SIGINFO;
                    libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut())
                };
                // SAFETY: raising a handled signal.
                let raised = r == 0 && unsafe { libc::raise(libc::SIGUSR1) } == 0;
                let code = if raised && HANDLED.load(Ordering::SeqCst) == 1 {
                    0
                } else {
                    1
                };
                // SAFETY: ends the child.
                unsafe { libc::_exit(code) };
            });
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "child status {status:#x}"
            );
        }
    }
}
