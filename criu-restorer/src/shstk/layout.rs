//! What is written where on a shadow stack, as pure functions over a [`ShadowWrite`]
//! (the `wrss` writer in the restorer, a buffer in the tests): the tokens, a thread's
//! checked layout, and each protocol's way of filling the VMA from its copy.

use criu_abi::raw::rst_shstk_info;
use pie_sys::thread::ARCH_SHSTK_SHSTK;

use super::protocol::Protocol;

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

/// Where the fills write: the shadow stack itself, or a buffer in the tests.
pub trait ShadowWrite {
    fn write(&mut self, addr: u64, val: u64);
}

/// A thread's shadow stack from its args, checked so that the writes stay in the VMA
/// and the reads in the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The VMA, `start..top`.
    pub start: u64,
    pub top: u64,
    /// The dumped shadow-stack pointer, in the VMA with room for the two tokens below it.
    pub ssp: u64,
    /// The premapped copy of the VMA's contents (read by the late protocol only).
    pub copy: u64,
}

impl Layout {
    /// 4.1.1 reads the copy here, so it must be aligned; 4.2 writes its tokens at exactly
    /// `ssp - 8` and `ssp - 16`, so the pointer must be (it is in 64-bit mode).
    pub fn of(s: &rst_shstk_info, protocol: Protocol) -> Option<Layout> {
        let (start, size, copy) = (s.vma_start, s.vma_size, s.premmaped_addr);
        let top = start.checked_add(size)?;
        let aligned = match protocol {
            Protocol::Late => (start | size | copy).is_multiple_of(8),
            Protocol::Remap => (start | size | s.ssp).is_multiple_of(8),
        };
        (aligned && size != 0 && start.saturating_add(16) <= s.ssp && s.ssp < top).then_some(Layout {
            start,
            top,
            ssp: s.ssp,
            copy,
        })
    }

    pub fn size(&self) -> u64 {
        self.top - self.start
    }
}

/// The sigreturn token at `slot` (naming `ssp`) and below it a restore token naming
/// `slot`; returns the restore token's address, the switch target.
#[inline(always)]
pub fn write_tokens(slot: u64, ssp: u64, w: &mut impl ShadowWrite) -> u64 {
    w.write(slot, sigframe_token(ssp));
    let token = slot - 8;
    w.write(token, restore_token(slot));
    token
}

/// The late protocol (4.1.1), on the fresh VMA the thread moved onto: the dumped entries
/// from the top of the VMA down to the dumped pointer (`copy` is the VMA's image, slot
/// for slot), then the two tokens below them. Returns the switch target.
#[inline(always)]
pub fn fill(l: &Layout, copy: &[u64], w: &mut impl ShadowWrite) -> u64 {
    let mut at = l.top - 8;
    while at >= l.ssp {
        w.write(at, copy[((at - l.start) / 8) as usize]);
        at -= 8;
    }
    write_tokens(at, l.ssp, w)
}

/// The remap protocol (4.2), in the VMA remap: the whole copy into the fresh VMA at
/// `new`, slot for slot from the bottom (the kernel's token at its top is overwritten).
#[inline(always)]
pub fn copy_into(new: u64, copy: &[u64], w: &mut impl ShadowWrite) {
    for (i, &v) in copy.iter().enumerate() {
        w.write(new + 8 * i as u64, v);
    }
}

/// The remap protocol (4.2), at the end of each thread's restore: the VMA is filled and
/// in place already, so only the two tokens go below the dumped pointer. Returns the
/// switch target.
#[inline(always)]
pub fn tokens_below(l: &Layout, w: &mut impl ShadowWrite) -> u64 {
    write_tokens(l.ssp - 8, l.ssp, w)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use pie_sys::thread::ARCH_SHSTK_WRSS;

    pub fn info(start: u64, size: u64, ssp: u64, copy: u64, cet: u64) -> rst_shstk_info {
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
        for p in [Protocol::Late, Protocol::Remap] {
            let good = Layout::of(&info(s, n, s + 0x3f00, c, 1), p).unwrap();
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
            assert!(Layout::of(&info(s, n, s + 16, c, 1), p).is_some());
            assert!(Layout::of(&info(s, n, s + n - 8, c, 1), p).is_some());
            // The pointer out of the VMA, or without room for the two tokens below it.
            assert!(Layout::of(&info(s, n, s + n, c, 1), p).is_none());
            assert!(Layout::of(&info(s, n, s + 8, c, 1), p).is_none());
            assert!(Layout::of(&info(s, n, s - 8, c, 1), p).is_none());
            // No VMA (CRIU found none around the pointer), odd sizes, misaligned, wrapping.
            assert!(Layout::of(&info(0, 0, 0, 0, 1), p).is_none());
            assert!(Layout::of(&info(s, n + 4, s + 0x3f00, c, 1), p).is_none());
            assert!(Layout::of(&info(s + 4, n, s + 0x3f00, c, 1), p).is_none());
            assert!(Layout::of(&info(u64::MAX - 0xfff, 0x2000, u64::MAX - 8, c, 1), p).is_none());
            assert!(Layout::of(&info(u64::MAX - 15, 8, u64::MAX - 7, c, 1), p).is_none());
        }
        // Only the late protocol reads the copy; only the remap one writes at ssp - 8.
        assert!(Layout::of(&info(s, n, s + 0x3f00, c + 4, 1), Protocol::Late).is_none());
        assert!(Layout::of(&info(s, n, s + 0x3f00, c + 4, 1), Protocol::Remap).is_some());
        assert!(Layout::of(&info(s, n, s + 0x3f04, c, 1), Protocol::Late).is_some());
        assert!(Layout::of(&info(s, n, s + 0x3f04, c, 1), Protocol::Remap).is_none());
    }

    /// A shadow-stack VMA as a buffer: records every write, refuses any outside it.
    struct Buf {
        pub start: u64,
        pub slots: Vec<u64>,
        pub writes: Vec<u64>,
    }

    impl Buf {
        pub fn new(start: u64, slots: Vec<u64>) -> Buf {
            Buf {
                start,
                slots,
                writes: Vec::new(),
            }
        }
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

    const POISON: u64 = 0xdead_dead_dead_dead;

    /// A copy of `n` distinct values, as CRIU premaps it.
    fn copy_of(n: u64) -> Vec<u64> {
        (0..n).map(|i| 0x4000_0000 + i * 0x11).collect()
    }

    /// The tokens both protocols leave for an aligned `ssp` (slot index `first`, the
    /// lowest dumped entry): the sigreturn token just below it, a restore token naming
    /// that slot below that, and `token`, the switch target, is the restore token's slot.
    fn check_tokens(b: &Buf, first: usize, ssp: u64, token: u64) {
        let sig_at = b.start + (first as u64 - 1) * 8;
        assert_eq!(token, sig_at - 8);
        assert_eq!(b.slots[first - 1], sigframe_token(ssp));
        assert_eq!(b.slots[first - 2], restore_token(sig_at));
        // What rstorssp checks: a 64-bit token naming the slot above it.
        assert_eq!(b.slots[first - 2] & !RSTOR_TOKEN_64, token + 8);
        assert_ne!(b.slots[first - 2] & RSTOR_TOKEN_64, 0);
        // What the kernel's sigreturn checks: data, aligned, not below its own slot.
        let back = b.slots[first - 1] & !SHSTK_DATA_BIT;
        assert_ne!(b.slots[first - 1] & SHSTK_DATA_BIT, 0);
        assert!(back.is_multiple_of(8) && back >= sig_at);
    }

    /// The late protocol: fill a fresh VMA of `n` slots, the dumped pointer `ssp_off`
    /// bytes above the start; check every slot and the writes' order.
    fn check_fill(n: u64, ssp_off: u64) {
        let start = 0x7f12_3456_0000u64;
        let s = info(start, n * 8, start + ssp_off, 0x1000, ARCH_SHSTK_SHSTK);
        let l = Layout::of(&s, Protocol::Late).unwrap();
        let copy = copy_of(n);
        let mut b = Buf::new(start, vec![POISON; n as usize]);
        let token = fill(&l, &copy, &mut b);

        // The entries from the first slot at or above ssp up to the top are the copy's.
        let first = ssp_off.div_ceil(8) as usize;
        assert_eq!(&b.slots[first..], &copy[first..]);
        check_tokens(&b, first, start + ssp_off, token);
        // Nothing lower is touched.
        assert!(b.slots[..first - 2].iter().all(|&v| v == POISON));
        // Each slot once, from the top down, as wrss must (never under a live entry).
        let want: Vec<u64> = (first as u64 - 2..n).rev().map(|i| start + i * 8).collect();
        assert_eq!(b.writes, want);
    }

    #[test]
    fn late_fill_restores_entries_and_tokens() {
        // A deep stack, one entry, a full one, and a stack of one page.
        check_fill(1024, 700 * 8);
        check_fill(1024, 1023 * 8);
        check_fill(1024, 16);
        check_fill(512, 500 * 8);
        // An unaligned pointer (not in 64-bit mode, but CRIU's arithmetic allows it).
        check_fill(64, 40 * 8 + 4);
    }

    #[test]
    fn late_fill_reads_the_copy_slot_for_slot() {
        let start = 0x7000_0000u64;
        let l = Layout::of(&info(start, 8 * 8, start + 5 * 8, 0x1000, 1), Protocol::Late).unwrap();
        let copy = [10, 11, 12, 13, 14, 15, 16, 17];
        let mut b = Buf::new(start, vec![0; 8]);
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

    /// The remap protocol: the VMA's copy goes in whole in the remap (the kernel's token
    /// at the top of the fresh VMA overwritten), then the thread writes its two tokens.
    fn check_remap(n: u64, ssp_off: u64) {
        let start = 0x7f12_3456_0000u64;
        let copy = copy_of(n);
        // map_shadow_stack's fresh VMA: zeros and its restore token in the top slot.
        let mut fresh = vec![0; n as usize];
        fresh[n as usize - 1] = restore_token(start + n * 8);
        let mut b = Buf::new(start, fresh);
        copy_into(start, &copy, &mut b);
        assert_eq!(b.slots, copy);
        let up: Vec<u64> = (0..n).map(|i| start + i * 8).collect();
        assert_eq!(b.writes, up, "the copy is written slot for slot from the bottom");

        b.writes.clear();
        let s = info(start, n * 8, start + ssp_off, 0x1000, ARCH_SHSTK_SHSTK);
        let l = Layout::of(&s, Protocol::Remap).unwrap();
        let token = tokens_below(&l, &mut b);
        let first = (ssp_off / 8) as usize;
        check_tokens(&b, first, start + ssp_off, token);
        // Everything else is the copy's: the entries above, and what lay below the
        // dumped pointer (4.1.1 leaves zeros there).
        assert_eq!(&b.slots[first..], &copy[first..]);
        assert_eq!(&b.slots[..first - 2], &copy[..first - 2]);
        assert_eq!(b.writes, [start + ssp_off - 8, start + ssp_off - 16]);
    }

    #[test]
    fn remap_copies_whole_and_writes_only_the_tokens_late() {
        check_remap(1024, 700 * 8);
        check_remap(1024, 1023 * 8);
        check_remap(1024, 16);
        check_remap(512, 500 * 8);
    }

    /// For one aligned pointer both protocols give the task the same shadow stack above
    /// it and the same tokens, and switch to the same slot.
    #[test]
    fn both_protocols_leave_the_same_tokens_and_entries() {
        let (start, n, off) = (0x7f00_0000_0000u64, 512u64, 300 * 8);
        let s = info(start, n * 8, start + off, 0x1000, ARCH_SHSTK_SHSTK);
        let copy = copy_of(n);
        let mut late = Buf::new(start, vec![0; n as usize]);
        let t_late = fill(&Layout::of(&s, Protocol::Late).unwrap(), &copy, &mut late);
        let mut remap = Buf::new(start, vec![0; n as usize]);
        copy_into(start, &copy, &mut remap);
        let t_remap = tokens_below(&Layout::of(&s, Protocol::Remap).unwrap(), &mut remap);
        assert_eq!(t_late, t_remap);
        let from = (off / 8 - 2) as usize;
        assert_eq!(&late.slots[from..], &remap.slots[from..]);
    }
}
