//! The order in which the premapped private VMAs are moved into place, and what is done
//! with each: CRIU's two passes (the VMAs that move down in address order, then those
//! that move up in reverse, so that no move lands on a VMA not yet moved), with the
//! shadow-stack VMAs as the tree's protocol has them. Pure, so both protocols' plans are
//! tested on any tree.

use criu_abi::raw::{VmaEntry, VMA_AREA_SHSTK, VMA_PREMMAPED};

use crate::shstk::Protocol;
use crate::vmas::Vma;

/// What the remap does with one VMA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Move the premapped VMA to its place.
    Move,
    /// 4.2: make the shadow stack anew from the premapped copy, then move it to its place.
    ShadowStack,
}

/// The remap's steps, in order: an iterator of the VMAs and what to do with each.
///
/// Each VMA comes once. CRIU visits a VMA that is already in place (premapped at its own
/// address) in both passes, a no-op for a plain VMA; 4.2 writes a recreated shadow
/// stack's new address into its entry, which its second pass then reads. This plan is
/// made from the premapped addresses alone, so a shadow stack is recreated once.
pub struct Plan<'a> {
    vmas: &'a [VmaEntry],
    task_size: u64,
    protocol: Protocol,
    pass: Pass,
    /// Where the first pass stopped: the VMAs below it that it took are not taken again.
    first_end: usize,
}

#[derive(Debug, Clone, Copy)]
enum Pass {
    /// Upwards from this index.
    Down(usize),
    /// Downwards from below this index.
    Up(usize),
    Done,
}

impl<'a> Plan<'a> {
    pub fn new(vmas: &'a [VmaEntry], task_size: u64, protocol: Protocol) -> Plan<'a> {
        Plan {
            vmas,
            task_size,
            protocol,
            pass: Pass::Down(0),
            first_end: 0,
        }
    }

    /// The step for a VMA the passes reached; none for a shadow stack the VMA remap
    /// leaves to the threads (4.1.1: they cannot be moved, each thread maps its own).
    fn step(&self, v: &VmaEntry) -> Option<Step> {
        match (v.is(VMA_AREA_SHSTK), self.protocol.in_remap()) {
            (false, _) => Some(Step::Move),
            (true, true) => Some(Step::ShadowStack),
            (true, false) => None,
        }
    }

    /// Whether the first pass took the VMA at `i` (CRIU's first-pass filter).
    fn first_took(&self, i: usize) -> bool {
        i < self.first_end && self.vmas[i].end < self.task_size
    }
}

impl<'a> Iterator for Plan<'a> {
    type Item = (&'a VmaEntry, Step);

    fn next(&mut self) -> Option<Self::Item> {
        let vmas = self.vmas;
        loop {
            match self.pass {
                Pass::Down(i) => {
                    let Some(v) = vmas.get(i) else {
                        self.first_end = vmas.len();
                        self.pass = Pass::Up(vmas.len());
                        continue;
                    };
                    if !v.is(VMA_PREMMAPED) || v.end >= self.task_size {
                        self.pass = Pass::Down(i + 1);
                        continue;
                    }
                    if v.start > v.shmid {
                        self.first_end = i;
                        self.pass = Pass::Up(vmas.len());
                        continue;
                    }
                    self.pass = Pass::Down(i + 1);
                    if let Some(s) = self.step(v) {
                        return Some((v, s));
                    }
                }
                Pass::Up(0) => self.pass = Pass::Done,
                Pass::Up(j) => {
                    let i = j - 1;
                    let v = &vmas[i];
                    self.pass = Pass::Up(i);
                    if !v.is(VMA_PREMMAPED) || v.start > self.task_size {
                        continue;
                    }
                    if v.start < v.shmid {
                        self.pass = Pass::Done;
                        continue;
                    }
                    if self.first_took(i) {
                        continue;
                    }
                    if let Some(s) = self.step(v) {
                        return Some((v, s));
                    }
                }
                Pass::Done => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use criu_abi::raw::VMA_AREA_REGULAR;

    const P: u64 = vma_io::PAGE_SIZE as u64;
    const TASK: u64 = 0x7fff_ffff_f000;

    /// A premapped VMA of `pages` pages at `start`, its copy at `at`.
    fn vma(start: u64, pages: u64, at: u64) -> VmaEntry {
        VmaEntry {
            start,
            end: start + pages * P,
            shmid: at,
            status: VMA_AREA_REGULAR | VMA_PREMMAPED,
            ..VmaEntry::default()
        }
    }

    fn shstk(start: u64, pages: u64, at: u64) -> VmaEntry {
        let mut v = vma(start, pages, at);
        v.status |= VMA_AREA_SHSTK;
        v
    }

    /// The plan as (start, step) pairs.
    fn plan(vmas: &[VmaEntry], p: Protocol) -> Vec<(u64, Step)> {
        Plan::new(vmas, TASK, p).map(|(v, s)| (v.start, s)).collect()
    }

    /// CRIU's premap: the copies back to back from `area`, in address order.
    fn premapped(layout: &[(u64, u64, bool)], area: u64) -> Vec<VmaEntry> {
        let mut at = area;
        layout
            .iter()
            .map(|&(start, pages, is_shstk)| {
                let v = if is_shstk {
                    shstk(start, pages, at)
                } else {
                    vma(start, pages, at)
                };
                at += pages * P;
                v
            })
            .collect()
    }

    /// The premap area in the middle: the lower VMAs move up (second pass, from the
    /// top down), the upper ones move down (first pass, in address order).
    #[test]
    fn the_two_passes_in_order_with_shadow_stacks_per_protocol() {
        let b = 0x7f00_0000_0000u64;
        // A heap, a thread's shadow stack, a library, the main shadow stack, a stack.
        let layout = [
            (0x5555_0000_0000, 4, false),
            (b, 2, true),
            (b + 0x10_0000, 8, false),
            (b + 0x20_0000, 2, true),
            (b + 0x30_0000, 4, false),
        ];
        let vmas = premapped(&layout, b + 0x8000);
        use Step::*;
        let remap = plan(&vmas, Protocol::Remap);
        // The first pass takes the two lower VMAs (each at or below its copy) in address
        // order, the second the three upper ones from the top down...
        assert!(vmas[0].start <= vmas[0].shmid && vmas[1].start <= vmas[1].shmid);
        assert!(vmas[2].start > vmas[2].shmid);
        assert_eq!(
            remap,
            [
                (0x5555_0000_0000, Move),
                (b, ShadowStack),
                (b + 0x30_0000, Move),
                (b + 0x20_0000, ShadowStack),
                (b + 0x10_0000, Move),
            ]
        );
        // ... and 4.1.1's skips the shadow stacks, in the same order otherwise.
        assert_eq!(
            plan(&vmas, Protocol::Late),
            [(0x5555_0000_0000, Move), (b + 0x30_0000, Move), (b + 0x10_0000, Move)]
        );
    }

    /// CRIU's filters and stops: VMAs not premapped are passed over, the first pass
    /// stops at the first VMA above its copy, the second at the first below its copy,
    /// each VMA comes once (also one already in place), and the task-size filters differ
    /// per pass as CRIU's do.
    #[test]
    fn filters_stops_and_each_vma_once() {
        let b = 0x7f00_0000_0000u64;
        use Step::*;
        let mut not_premapped = vma(b + 0x1000 * P, 1, 0);
        not_premapped.status = VMA_AREA_REGULAR;
        let vmas = [
            vma(b, 2, b + 0x100 * P),              // down
            shstk(b + 0x10 * P, 2, b + 0x10 * P),  // in place: first pass only
            not_premapped,                         // never
            vma(b + 0x2000 * P, 1, b + 0x200 * P), // up
            vma(b + 0x3000 * P, 1, b + 0x300 * P), // up
        ];
        assert_eq!(
            plan(&vmas, Protocol::Remap),
            [
                (b, Move),
                (b + 0x10 * P, ShadowStack),
                (b + 0x3000 * P, Move),
                (b + 0x2000 * P, Move),
            ]
        );
        // Out of CRIU's order (its layout never is): a VMA above its copy first ends the
        // first pass at once, and the second pass ends at the first VMA below its copy,
        // whatever lies beyond.
        let odd = [
            vma(b + 0x100 * P, 1, b),
            vma(b, 1, b + 0x200 * P),
            vma(b + 0x300 * P, 1, b + 0x250 * P),
        ];
        assert_eq!(plan(&odd, Protocol::Remap), [(b + 0x300 * P, Move)]);
        // A VMA reaching the task size is not taken by the first pass; the second takes
        // one that starts at or below it.
        let top = [vma(TASK - P, 1, TASK - 2 * P)];
        assert_eq!(plan(&top, Protocol::Late), [(TASK - P, Move)]);
        let past = [vma(TASK + P, 1, TASK - 8 * P)];
        assert_eq!(plan(&past, Protocol::Late), []);
        assert_eq!(plan(&[], Protocol::Remap), []);
    }
}
