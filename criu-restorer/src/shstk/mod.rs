//! x86 CET shadow stacks, as CRIU's restorer brings them back (`asm/shstk.h`), in the
//! protocol of the tree's CRIU ([`Protocol`]: 4.0-4.1.1's or 4.2's, decided at build
//! time from the tree's sources).
//!
//! A shadow stack cannot be mmap'ed or written by plain stores: CRIU premaps a copy of
//! each shadow-stack VMA's contents as ordinary memory, and the restorer makes the VMA
//! anew with `map_shadow_stack` and writes it with `wrss`. The leader first moves from
//! the kernel's shadow stack to a temporary one ([`switch_to_restorer`]), so that the
//! kernel-made one can go with the old mappings, and enables `wrss`. At the end each
//! thread ([`restore`]) gets its shadow stack back with the token the kernel's sigreturn
//! checks and the one a stack switch needs below its pointer, moves there and locks the
//! controls; the way out, [`sigreturn`], first drops the return address its own call
//! pushed.
//!
//! | | 4.0-4.1.1 ([`Protocol::Late`], `late`) | 4.2 ([`Protocol::Remap`], `remap`) |
//! | --- | --- | --- |
//! | temporary shadow stack | the spare page CRIU premaps past the leader's copy | a page of the bootstrap area |
//! | VMA made | by each thread at the end, at `vma_start` | by the leader in the VMA remap, anywhere, then moved |
//! | contents | entries above the pointer | the whole copy |
//! | unmapped | the copy and the spare page, by each thread | the copy, in the remap |
//! | VMAs no thread points into | not restored, copies left | restored |
//!
//! Everything at the ends depends on `cet & ARCH_SHSTK_SHSTK`: without it those
//! functions make no syscall and touch no shadow stack, so a task without one restores
//! as before (and has no shadow-stack VMA for the remap to recreate).
//!
//! Once the shadow stack is switched, no frame that was entered before the switch may
//! return (its return address is on the old stack, and `ret` would fault with #CP): the
//! switching functions are `#[inline(always)]`, and so must be their callers up to the
//! entry point, which never returns.

pub mod protocol;

#[cfg(criu_has_shstk)]
mod cpu;
#[cfg(criu_has_shstk)]
mod late;
#[cfg(criu_has_shstk)]
pub mod layout;
#[cfg(criu_has_shstk)]
pub mod remap;

pub use protocol::{Protocol, PROTOCOL};

#[cfg(criu_has_shstk)]
pub use self::entry_points::*;

#[cfg(criu_has_shstk)]
mod entry_points {
    use criu_abi::raw::rst_shstk_info;
    use pie_sys::mm;
    use vma_io::PAGE_SIZE;

    use super::cpu::{enable_wrss, map_at, switch_ssp};
    pub use super::cpu::{sigreturn, ssp};
    use super::layout::enabled;
    use super::protocol::{Protocol, PROTOCOL};
    use super::{late, remap};
    use crate::error::{Failed, Result};
    use crate::log::Hex;
    use crate::{bail, pr_err};

    /// The leader, right after the restorer's log is set up: move from the kernel's
    /// shadow stack to the temporary one CRIU set aside, and enable `wrss`. CRIU's
    /// `arch_shstk_switch_to_restorer` in `__export_restore_task`. `bootstrap` is the
    /// bootstrap area (start, length), where 4.2 puts the temporary shadow stack.
    ///
    /// Inlined into its caller, which (up to the entry point) must never return once
    /// this succeeded or failed after the switch.
    #[inline(always)]
    pub fn switch_to_restorer(s: &rst_shstk_info, bootstrap: (u64, u64)) -> Result {
        switch_to_restorer_in(PROTOCOL, s, bootstrap)
    }

    #[inline(always)]
    pub(super) fn switch_to_restorer_in(p: Protocol, s: &rst_shstk_info, bootstrap: (u64, u64)) -> Result {
        if !enabled(s) {
            return Ok(());
        }
        let tmp = s.tmp_shstk;
        // A page elsewhere would be someone else's: refuse before unmapping it.
        if !p.tmp_in_place(tmp, s.premmaped_addr, s.vma_size, bootstrap.0, bootstrap.1) {
            bail!(
                "Temporary shadow stack at ",
                Hex(tmp),
                " is not where the ",
                p.name(),
                " protocol puts it: this restorer was built for another CRIU"
            );
        }
        // SAFETY: CRIU set this page aside for the temporary shadow stack (checked above);
        // nothing else uses it.
        if unsafe { mm::munmap(tmp as *mut u8, PAGE_SIZE) }.is_err() {
            bail!("Failed to unmap area for temporary shadow stack");
        }
        map_at(tmp, PAGE_SIZE as u64)?;
        // SAFETY: map_shadow_stack put a restore token in the top slot; the caller's
        // frames never return (see the module).
        unsafe { switch_ssp(tmp + PAGE_SIZE as u64 - 8) };
        enable_wrss()
    }

    /// Each thread (the leader after it cloned the others and counted them in, since
    /// locking stops `wrss` for threads cloned later): its shadow stack back as the
    /// protocol has it, the switch to the dumped pointer, the lock. CRIU's
    /// `arch_shstk_restore` in `__export_restore_task` and `__export_restore_thread`;
    /// leave through [`sigreturn`].
    ///
    /// Inlined into its caller, which (up to the entry point) must never return once it
    /// switched.
    #[inline(always)]
    pub fn restore(s: &rst_shstk_info) -> Result {
        restore_in(PROTOCOL, s)
    }

    #[inline(always)]
    pub(super) fn restore_in(p: Protocol, s: &rst_shstk_info) -> Result {
        if !enabled(s) {
            return Ok(());
        }
        match p {
            Protocol::Late => late::restore(s),
            Protocol::Remap => remap::restore(s),
        }
    }

    /// CRIU trusts its own layout; a bad one would fault on the shadow stack.
    pub(super) fn bad_layout(s: &rst_shstk_info) -> Result {
        pr_err!(
            "Bad shadow stack layout: VMA ",
            Hex(s.vma_start),
            " size ",
            Hex(s.vma_size),
            " ssp ",
            Hex(s.ssp),
            " copy at ",
            Hex(s.premmaped_addr)
        );
        Err(Failed)
    }
}

#[cfg(all(test, criu_has_shstk))]
mod tests {
    use super::entry_points::{restore_in, switch_to_restorer_in};
    use super::layout::tests::info;
    use super::*;
    use crate::test_child::child_status;
    use pie_sys::thread::ARCH_SHSTK_WRSS;
    use vma_io::PAGE_SIZE;

    /// Without the cet bit nothing is done, in either protocol: run both phases in a child
    /// under strict seccomp, where any syscall but read, write, exit and sigreturn kills
    /// it, with args whose munmap or map_shadow_stack would succeed.
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
            for p in [Protocol::Late, Protocol::Remap] {
                for cet in [0, ARCH_SHSTK_WRSS] {
                    let s = info(a, 2 * P as u64, a + P as u64, a + 2 * P as u64, cet);
                    if switch_to_restorer_in(p, &s, (a, 4 * P as u64)).is_err() {
                        code |= 1;
                    }
                    if restore_in(p, &s).is_err() {
                        code |= 2;
                    }
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

    /// With the cet bit but the temporary page where the other protocol's CRIU puts it,
    /// the switch refuses before unmapping anything: the page stays mapped and written.
    #[test]
    fn a_temporary_page_out_of_place_is_refused_and_kept() {
        const P: usize = PAGE_SIZE;
        // SAFETY: a fresh anonymous mapping of ours: [copy (2 pages)][spare][bootstrap].
        let area = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                8 * P,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(area, libc::MAP_FAILED);
        let a = area as u64;
        let (copy, size, boot) = (a, 2 * P as u64, a + 3 * P as u64);
        let mark = |at: u64, v: u64| {
            // SAFETY: inside the test's mapping.
            unsafe { (at as *mut u64).write(v) }
        };
        let read = |at: u64| {
            // SAFETY: inside the test's mapping.
            unsafe { (at as *const u64).read() }
        };
        let shstk = pie_sys::thread::ARCH_SHSTK_SHSTK;
        // 4.1.1's place (past the copy) under 4.2, and 4.2's (in the bootstrap area)
        // under 4.1.1.
        for (p, tmp) in [(Protocol::Remap, copy + size), (Protocol::Late, boot + P as u64)] {
            mark(tmp, 0x5a5a);
            let mut s = info(0x7f00_0000_0000, size, 0x7f00_0000_1000, copy, shstk);
            s.tmp_shstk = tmp;
            assert!(switch_to_restorer_in(p, &s, (boot, 4 * P as u64)).is_err(), "{p:?}");
            assert_eq!(read(tmp), 0x5a5a, "{p:?}");
        }
        // SAFETY: the test's own mapping.
        unsafe { libc::munmap(area, 8 * P) };
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
