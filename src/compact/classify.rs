//! Which pages may go: the VMA rules.
//!
//! A page absent from a task's pagemap is restored as a zero page only in a private
//! anonymous mapping (CRIU maps it fresh, or the kernel fills it on first touch through
//! the lazy-pages daemon's `UFFDIO_ZEROPAGE`). Anything else keeps its pages: a private
//! file mapping would read the file, shared memory has its own images, and the special
//! areas (vDSO, vvar, AIO rings, shadow stacks, SysV IPC, memfd, plugin-restored VMAs,
//! statuses this tool does not know) are restored by code that may read them.

use criu_image::magic::PAGE_SIZE;
use criu_image::mm::{
    VmaEntry, MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, VMA_ANON_PRIVATE, VMA_AREA_HEAP,
    VMA_AREA_REGULAR,
};

/// The status bits a compactable VMA may carry, and the ones it must.
const REQUIRED: u32 = VMA_AREA_REGULAR | VMA_ANON_PRIVATE;
const ALLOWED: u32 = REQUIRED | VMA_AREA_HEAP;

/// Whether an absent page of `v` comes back as zero: a regular private anonymous VMA
/// (the heap included), not huge-TLB, not grow-down (CRIU premaps a stack with its guard
/// page; its few zero pages are not worth a special case).
pub fn zero_when_absent(v: &VmaEntry) -> bool {
    v.status & REQUIRED == REQUIRED
        && v.status & !ALLOWED == 0
        && v.flags & (MAP_PRIVATE | MAP_ANONYMOUS) == MAP_PRIVATE | MAP_ANONYMOUS
        && v.flags & (MAP_SHARED | MAP_HUGETLB | MAP_GROWSDOWN) == 0
        && v.start.is_multiple_of(PAGE_SIZE)
        && v.end.is_multiple_of(PAGE_SIZE)
}

/// The VMA of `vmas` (sorted, disjoint) holding `addr`.
pub fn vma_at(vmas: &[VmaEntry], addr: u64) -> Option<&VmaEntry> {
    let i = vmas.partition_point(|v| v.end <= addr);
    vmas.get(i).filter(|v| v.start <= addr)
}

/// The parent's VMA a child's VMA `v` may be restored from, copy-on-write: CRIU inherits
/// a private VMA of the parent with the same start and end (`prepare_cow_vmas`). Taken
/// more widely than CRIU does (any parent VMA with the same bounds, whatever its type
/// or executable): a link assumed where CRIU sees none only keeps more pages.
pub fn cow_source<'a>(parent_vmas: &'a [VmaEntry], v: &VmaEntry) -> Option<&'a VmaEntry> {
    vma_at(parent_vmas, v.start).filter(|p| p.start == v.start && p.end == v.end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use criu_image::mm::{VMA_AREA_STACK, VMA_AREA_VDSO, VMA_FILE_PRIVATE};

    fn vma(start: u64, end: u64, status: u32, flags: u32) -> VmaEntry {
        VmaEntry {
            start,
            end,
            status,
            flags,
            fd: -1,
            prot: 3,
            ..Default::default()
        }
    }

    #[test]
    fn only_plain_private_anonymous_memory() {
        let anon = MAP_PRIVATE | MAP_ANONYMOUS;
        assert!(zero_when_absent(&vma(0x1000, 0x3000, REQUIRED, anon)));
        assert!(zero_when_absent(&vma(0x1000, 0x3000, REQUIRED | VMA_AREA_HEAP, anon)));
        for (status, flags) in [
            (VMA_AREA_REGULAR | VMA_FILE_PRIVATE, MAP_PRIVATE),
            (REQUIRED | VMA_AREA_VDSO, anon),
            (REQUIRED | VMA_AREA_STACK, anon),
            (REQUIRED | (1 << 16), anon),
            (REQUIRED, anon | MAP_HUGETLB),
            (REQUIRED, anon | MAP_GROWSDOWN),
            (REQUIRED, MAP_SHARED | MAP_ANONYMOUS),
            (VMA_ANON_PRIVATE, anon),
        ] {
            assert!(
                !zero_when_absent(&vma(0x1000, 0x3000, status, flags)),
                "{status:#x} {flags:#x}"
            );
        }
    }

    #[test]
    fn lookups() {
        let vs = [vma(0x1000, 0x3000, 0, 0), vma(0x5000, 0x6000, 0, 0)];
        assert_eq!(vma_at(&vs, 0x0fff), None);
        assert_eq!(vma_at(&vs, 0x2fff).unwrap().start, 0x1000);
        assert_eq!(vma_at(&vs, 0x3000), None);
        assert_eq!(vma_at(&vs, 0x5000).unwrap().start, 0x5000);
        assert!(cow_source(&vs, &vma(0x1000, 0x3000, 0, 0)).is_some());
        assert!(cow_source(&vs, &vma(0x1000, 0x2000, 0, 0)).is_none());
        assert!(cow_source(&vs, &vma(0x2000, 0x3000, 0, 0)).is_none());
    }
}
