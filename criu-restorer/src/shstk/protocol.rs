//! The two shadow-stack protocols of CRIU's trees and what differs between them, as pure
//! values: which one this build follows is decided at build time from the tree's sources
//! (criu-abi's `criu_shstk_late` / `criu_shstk_remap`), but every function here takes the
//! protocol, so both are tested on any tree.

use vma_io::PAGE_SIZE;

/// How CRIU's main process prepared the shadow stacks, and so what the restorer must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// CRIU 4.0 to 4.1.1: each shadow-stack copy is premapped with a spare page past it,
    /// the leader's spare page is the temporary shadow stack, the VMA remap skips
    /// shadow-stack VMAs, and each thread maps its own at `vma_start` at the end, then
    /// unmaps its copy and the spare page. VMAs no thread points into are not restored.
    Late,
    /// CRIU 4.2: copies are premapped without a spare page, the temporary shadow stack is
    /// a page of the bootstrap area, and the leader's VMA remap recreates every
    /// shadow-stack VMA (made anywhere, filled from the copy, the copy unmapped, then
    /// moved into place like any premapped VMA); at the end each thread only writes its
    /// two tokens and switches.
    Remap,
}

/// The tree's protocol.
#[cfg(criu_shstk_remap)]
pub const PROTOCOL: Protocol = Protocol::Remap;
/// The tree's protocol (also for trees without shadow stacks, which have no such VMAs).
#[cfg(not(criu_shstk_remap))]
pub const PROTOCOL: Protocol = Protocol::Late;

// criu-abi fails the build where it recognises neither; this keeps a stale pairing of
// crates from compiling a guess.
#[cfg(all(criu_has_shstk, not(any(criu_shstk_late, criu_shstk_remap))))]
compile_error!("the CRIU tree restores shadow stacks, but criu-abi set neither criu_shstk_late nor criu_shstk_remap");

impl Protocol {
    /// Whether the VMA remap recreates the shadow-stack VMAs (else it skips them).
    pub const fn in_remap(self) -> bool {
        matches!(self, Protocol::Remap)
    }

    /// What is unmapped once a shadow stack's premapped copy at `copy` (`size` bytes) was
    /// written: 4.1.1 adds the spare page past it; 4.2 premaps none, so that page is the
    /// start of whatever CRIU premapped next, and must stay.
    pub const fn copy_unmap(self, copy: u64, size: u64) -> (u64, u64) {
        match self {
            Protocol::Late => (copy, size + PAGE_SIZE as u64),
            Protocol::Remap => (copy, size),
        }
    }

    /// Whether the temporary shadow stack page `tmp` is where this protocol's CRIU puts
    /// it: past the leader's copy (`copy`, `size`), or inside the bootstrap area
    /// (`boot`, `boot_len`), which the unmap of the old mappings spares. Checked before
    /// that page is unmapped, so that a tree built with the wrong protocol fails instead
    /// of unmapping someone else's page.
    pub const fn tmp_in_place(self, tmp: u64, copy: u64, size: u64, boot: u64, boot_len: u64) -> bool {
        match self {
            Protocol::Late => match copy.checked_add(size) {
                Some(end) => size != 0 && end == tmp && tmp.is_multiple_of(PAGE_SIZE as u64),
                None => false,
            },
            Protocol::Remap => match (tmp.checked_add(PAGE_SIZE as u64), boot.checked_add(boot_len)) {
                (Some(end), Some(boot_end)) => tmp >= boot && end <= boot_end && tmp.is_multiple_of(PAGE_SIZE as u64),
                _ => false,
            },
        }
    }

    /// For the log.
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Late => "late map (CRIU 4.0-4.1.1)",
            Protocol::Remap => "remap (CRIU 4.2)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: u64 = PAGE_SIZE as u64;

    #[test]
    fn the_tree_protocol_follows_the_cfgs() {
        assert_eq!(PROTOCOL == Protocol::Remap, cfg!(criu_shstk_remap));
        assert_eq!(PROTOCOL == Protocol::Remap, criu_abi::has::SHSTK_REMAP);
        if criu_abi::has::SHSTK {
            assert_eq!(PROTOCOL == Protocol::Late, criu_abi::has::SHSTK_LATE);
        }
        assert!(Protocol::Remap.in_remap() && !Protocol::Late.in_remap());
    }

    /// A 4.2 premap: the shadow stack's copy with the next premapped VMA right after it.
    /// 4.1.1's unmap would take that VMA's first page; 4.2's stops at the copy.
    #[test]
    fn which_pages_of_the_copy_are_unmapped() {
        let (copy, size) = (0x7f00_0000_0000u64, 5 * P);
        let next = copy + size;
        assert_eq!(Protocol::Late.copy_unmap(copy, size), (copy, size + P));
        assert_eq!(Protocol::Remap.copy_unmap(copy, size), (copy, size));
        let end = |(a, l): (u64, u64)| a + l;
        assert_eq!(end(Protocol::Late.copy_unmap(copy, size)), next + P);
        assert_eq!(end(Protocol::Remap.copy_unmap(copy, size)), next);
    }

    #[test]
    fn the_temporary_shadow_stack_is_where_each_protocol_puts_it() {
        let (copy, size) = (0x5500_0000_0000u64, 8 * P);
        let (boot, boot_len) = (0x1_2000_0000u64, 40 * P);
        // 4.1.1: the spare page past the copy.
        assert!(Protocol::Late.tmp_in_place(copy + size, copy, size, boot, boot_len));
        assert!(!Protocol::Late.tmp_in_place(boot + 30 * P, copy, size, boot, boot_len));
        assert!(!Protocol::Late.tmp_in_place(copy + size + P, copy, size, boot, boot_len));
        // 4.2: a page of the bootstrap area (CRIU's, past rst_mem), whole.
        assert!(Protocol::Remap.tmp_in_place(boot + 30 * P, copy, size, boot, boot_len));
        assert!(Protocol::Remap.tmp_in_place(boot + 39 * P, copy, size, boot, boot_len));
        assert!(!Protocol::Remap.tmp_in_place(boot + 40 * P, copy, size, boot, boot_len));
        assert!(!Protocol::Remap.tmp_in_place(copy + size, copy, size, boot, boot_len));
        assert!(!Protocol::Remap.tmp_in_place(boot + 30 * P + 8, copy, size, boot, boot_len));
        // Nothing found (CRIU leaves zeros) or wrapping values are never in place.
        assert!(!Protocol::Late.tmp_in_place(0, 0, 0, boot, boot_len));
        assert!(!Protocol::Late.tmp_in_place(0, u64::MAX - P + 1, P, boot, boot_len));
        assert!(!Protocol::Remap.tmp_in_place(u64::MAX - P + 1, copy, size, u64::MAX - P + 1, 2 * P));
        assert!(!Protocol::Remap.tmp_in_place(0, copy, size, boot, boot_len));
    }
}
