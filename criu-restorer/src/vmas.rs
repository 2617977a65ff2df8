//! The task's memory map: unmap what CRIU left of itself, move the premapped private
//! VMAs into place, map the others, and after the pages are in, put back the VMAs'
//! protections and madvise bits (CRIU's restorer, in its order).

use criu_abi::raw::{
    VmaEntry, VMA_ANON_SHARED, VMA_AREA_AIORING, VMA_AREA_REGULAR, VMA_AREA_SYSVIPC, VMA_AREA_VDSO, VMA_AREA_VSYSCALL,
    VMA_AREA_VVAR, VMA_CLOSE, VMA_NO_PROT_WRITE, VMA_PREMMAPED,
};
use pie_sys::fd::BorrowedFd;
use pie_sys::mm::{self, MadviseAdvice, MapFlags, MremapFlags, ProtFlags, SHM_RDONLY};
use pie_sys::notify::{UffdioRange, UffdioRegister, UFFDIO_REGISTER, UFFDIO_REGISTER_MODE_MISSING};
use pie_sys::{fs, Errno};
use vma_io::PAGE_SIZE;

use crate::error::{Failed, Result};
use crate::log::Hex;
use crate::remap_plan::{Plan, Step};
use crate::{bail, pr_debug, pr_err, pr_info, shstk};

/// `SYSV_SHMEM_SKIP_FD` (criu/include/shmem.h): a SysV segment CRIU attached already.
const SYSV_SHMEM_SKIP_FD: i64 = 0x7fff_ffff;

/// A VMA of the image, with CRIU's accessors.
pub trait Vma {
    fn is(&self, status: u32) -> bool;
    fn size(&self) -> usize;
    fn map_flags(&self) -> MapFlags;
    fn prot_flags(&self) -> ProtFlags;
    /// Where CRIU premapped it (kept in `shmid` for private VMAs: `vma_premmaped_start`).
    fn premapped_at(&self) -> usize;
    /// `vma_entry_can_be_lazy`.
    fn can_be_lazy(&self) -> bool;
}

impl Vma for VmaEntry {
    fn is(&self, status: u32) -> bool {
        self.status & status == status
    }
    fn size(&self) -> usize {
        (self.end - self.start) as usize
    }
    fn map_flags(&self) -> MapFlags {
        MapFlags::from_bits_retain(self.flags)
    }
    fn prot_flags(&self) -> ProtFlags {
        ProtFlags::from_bits_retain(self.prot)
    }
    fn premapped_at(&self) -> usize {
        self.shmid as usize
    }
    fn can_be_lazy(&self) -> bool {
        let f = self.map_flags();
        f.contains(MapFlags::ANONYMOUS | MapFlags::PRIVATE)
            && !f.intersects(MapFlags::LOCKED | MapFlags::HUGETLB)
            && !self.is(VMA_AREA_VDSO)
            && !self.is(VMA_AREA_VVAR)
            && !self.is(VMA_AREA_VSYSCALL)
    }
}

/// Unmap everything below `task_size` but the premapped area and the bootstrap area
/// (the blob, its stacks and args): three ranges, around the two areas in address order.
pub fn unmap_old(premapped: (usize, usize), bootstrap: (usize, usize), task_size: usize) -> Result {
    let (first, second) = if premapped.0 < bootstrap.0 {
        (premapped, bootstrap)
    } else {
        (bootstrap, premapped)
    };
    for (from, to) in [
        (0, first.0),
        (first.0 + first.1, second.0),
        (second.0 + second.1, task_size),
    ] {
        if to <= from {
            continue;
        }
        // SAFETY: the ranges exclude the restorer's own memory and the premapped VMAs;
        // what is there is CRIU's, which this task no longer runs.
        if let Err(e) = unsafe { mm::munmap(from as *mut u8, to - from) } {
            bail!("Unable to unmap (", Hex(from as u64), "-", Hex(to as u64), "): ", e);
        }
    }
    Ok(())
}

/// Move the premapped private VMAs to their addresses in the order of [`Plan`] (CRIU's
/// two passes), shadow stacks as the tree's protocol has them.
pub fn remap_premapped(vmas: &[VmaEntry], task_size: u64, uffd: Option<BorrowedFd<'_>>) -> Result {
    remap_all(Plan::new(vmas, task_size, shstk::PROTOCOL), uffd)
}

fn remap_all(plan: Plan<'_>, uffd: Option<BorrowedFd<'_>>) -> Result {
    for (v, step) in plan {
        remap(v, step, uffd)?;
    }
    Ok(())
}

fn remap(v: &VmaEntry, step: Step, uffd: Option<BorrowedFd<'_>>) -> Result {
    let (mut src, dst, len) = (v.premapped_at(), v.start as usize, v.size());
    pr_info!(
        "Remap ",
        Hex(src as u64),
        "->",
        Hex(dst as u64),
        " len ",
        Hex(len as u64)
    );
    if step == Step::ShadowStack {
        // The copy is plain memory: the shadow stack is made anew, then moved as any VMA.
        match recreate_shadow_stack(v) {
            Ok(at) => src = at as usize,
            Err(e) => {
                pr_err!(
                    "Unable to prepare shadow stack vma for remap ",
                    Hex(src as u64),
                    " -> ",
                    Hex(dst as u64)
                );
                return Err(e);
            }
        }
    }
    if src == dst {
        return Ok(());
    }
    // mremap refuses overlapping ranges: then go through a free place first, with a guard
    // page on the far border of the target so the detour cannot land on it.
    let guard = if src.wrapping_sub(dst) < len {
        Some(dst)
    } else if dst.wrapping_sub(src) < len {
        Some(dst + len - PAGE_SIZE)
    } else {
        None
    };
    if let Some(guard) = guard {
        // SAFETY: the guard page lies in the target range, which this VMA is about to
        // take over; nothing of the restorer lives there.
        let got = unsafe {
            mm::mmap(
                guard as *mut u8,
                PAGE_SIZE,
                ProtFlags::NONE,
                MapFlags::PRIVATE | MapFlags::ANONYMOUS,
                None,
                0,
            )
        };
        if got != Ok(guard as *mut u8) {
            bail!(
                "Unable to map a guard page ",
                Hex(guard as u64),
                " (",
                got.err().map_or(0, |e| e.neg()),
                ")"
            );
        }
        // SAFETY: a fresh reservation where the kernel finds room.
        let tmp = match unsafe {
            mm::mmap(
                core::ptr::null_mut(),
                len,
                ProtFlags::NONE,
                MapFlags::PRIVATE | MapFlags::ANONYMOUS,
                None,
                0,
            )
        } {
            Ok(p) => p as usize,
            Err(e) => bail!("Unable to reserve memory (", e, ")"),
        };
        move_range(src, tmp, len)?;
        src = tmp;
    }
    move_range(src, dst, len)?;
    if v.can_be_lazy() {
        if let Some(uffd) = uffd {
            register_lazy(uffd, dst, len)?;
        }
    }
    Ok(())
}

#[cfg(criu_has_shstk)]
fn recreate_shadow_stack(v: &VmaEntry) -> Result<u64> {
    shstk::remap::recreate(v)
}

/// A tree without shadow stacks has no such VMAs to recreate.
#[cfg(not(criu_has_shstk))]
fn recreate_shadow_stack(v: &VmaEntry) -> Result<u64> {
    bail!("Shadow stack VMA ", Hex(v.start), " in a tree without shadow stacks");
}

fn move_range(src: usize, dst: usize, len: usize) -> Result {
    // SAFETY: `src` is a premapped VMA (or its detour), `dst` its place in the task's
    // map; both are the restored task's memory, which no Rust reference points into.
    let got = unsafe {
        mm::mremap(
            src as *mut u8,
            len,
            len,
            MremapFlags::MAYMOVE | MremapFlags::FIXED,
            dst as *mut u8,
        )
    };
    if got != Ok(dst as *mut u8) {
        bail!("Unable to remap ", Hex(src as u64), " -> ", Hex(dst as u64));
    }
    Ok(())
}

/// Lazy pages: the range's missing pages are served through the uffd CRIU handed over.
fn register_lazy(uffd: BorrowedFd<'_>, addr: usize, len: usize) -> Result {
    let mut reg = UffdioRegister {
        range: UffdioRange {
            start: addr as u64,
            len: len as u64,
        },
        mode: UFFDIO_REGISTER_MODE_MISSING,
        ioctls: 0,
    };
    pr_info!("lazy-pages: register: ", Hex(addr as u64), ", len ", Hex(len as u64));
    // SAFETY: UFFDIO_REGISTER reads and writes one UffdioRegister, a live local.
    if let Err(e) = unsafe { fs::ioctl(uffd, UFFDIO_REGISTER, &mut reg as *mut UffdioRegister as usize) } {
        bail!("lazy-pages: register ", Hex(addr as u64), " failed: rc:", e, ", ");
    }
    // _UFFDIO_WAKE, _UFFDIO_COPY, _UFFDIO_ZEROPAGE.
    let expected = (1 << 0x02) | (1 << 0x03) | (1 << 0x04);
    if reg.ioctls & expected != expected {
        pr_err!("lazy-pages: unexpected missing uffd ioctl for anon memory");
    }
    Ok(())
}

/// Map every regular (and AIO ring) VMA CRIU did not premap, writable while its pages
/// are restored.
pub fn map_others(vmas: &mut [VmaEntry]) -> Result {
    for v in vmas.iter_mut() {
        if (!v.is(VMA_AREA_REGULAR) && !v.is(VMA_AREA_AIORING)) || v.is(VMA_PREMMAPED) {
            continue;
        }
        let va = map_one(v);
        if va != Ok(v.start as usize) {
            pr_err!(
                "Can't restore ",
                Hex(v.start),
                " mapping with ",
                Hex(va.map_or_else(|e| e.neg() as u64, |a| a as u64))
            );
            return Err(Failed);
        }
    }
    Ok(())
}

fn raw_fd(v: &VmaEntry) -> Option<BorrowedFd<'static>> {
    // SAFETY: CRIU opened the VMA's file for the restorer (and closes it below where it
    // asks to); fd -1 means none.
    (v.fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(v.fd as i32) })
}

fn map_one(v: &mut VmaEntry) -> core::result::Result<usize, Errno> {
    if v.is(VMA_AREA_SYSVIPC) {
        if v.fd == SYSV_SHMEM_SKIP_FD {
            return Ok(v.start as usize);
        }
        // Executable segments are attached writable-and-executable, the rest read-only;
        // the protection is set later from `prot` (PROT_EXEC dropped here, as CRIU does).
        let flags = if v.prot & ProtFlags::EXEC.bits() != 0 {
            v.prot &= !ProtFlags::EXEC.bits();
            0
        } else {
            SHM_RDONLY
        };
        pr_info!("Attach SYSV shmem ", v.fd as i32, " at ", Hex(v.start));
        // SAFETY: the segment goes to its own address in the task's map.
        return unsafe { mm::shmat(v.fd as i32, v.start as *mut u8, flags) }.map(|p| p as usize);
    }
    let mut flags = v.map_flags() | MapFlags::FIXED;
    let mut prot = v.prot_flags();
    // A shared anonymous VMA comes from the fd CRIU opened (map_files), not MAP_ANONYMOUS.
    if v.is(VMA_ANON_SHARED) && v.fd != -1 {
        flags.remove(MapFlags::ANONYMOUS);
    }
    if v.is(VMA_AREA_AIORING) {
        flags.insert(MapFlags::ANONYMOUS);
    }
    // A shared file mapping is up to date already; everything else gets its pages now.
    if (v.fd == -1 || !flags.contains(MapFlags::SHARED)) && v.status & VMA_NO_PROT_WRITE == 0 {
        prot.insert(ProtFlags::WRITE);
    }
    pr_debug!(
        "\tmmap(",
        Hex(v.start),
        " -> ",
        Hex(v.end),
        ", ",
        Hex(prot.bits() as u64),
        " ",
        Hex(flags.bits() as u64),
        " ",
        v.fd as i32,
        ")"
    );
    let fd = if flags.contains(MapFlags::ANONYMOUS) {
        None
    } else {
        raw_fd(v)
    };
    // SAFETY: MAP_FIXED at the VMA's own address in the task's map, which unmap_old
    // cleared of everything but the restorer and the premapped VMAs (CRIU's layout keeps
    // those apart).
    let got = unsafe { mm::mmap(v.start as *mut u8, v.size(), prot, flags, fd, v.pgoff as i64) };
    if let Some(fd) = raw_fd(v) {
        if v.status & VMA_CLOSE != 0 {
            // SAFETY: CRIU marked the fd as the restorer's to close, once mapped.
            let _ = unsafe { fs::close(fd.as_raw_fd()) };
        }
    }
    got.map(|p| p as usize)
}

/// Drop PROT_WRITE from the regular VMAs that did not have it.
pub fn restore_protections(vmas: &[VmaEntry]) {
    for v in vmas {
        if !v.is(VMA_AREA_REGULAR) || v.prot & ProtFlags::WRITE.bits() != 0 || v.status & VMA_NO_PROT_WRITE != 0 {
            continue;
        }
        // SAFETY: the VMA is the task's own memory; no Rust reference points into it.
        // CRIU ignores a failure here, and so does this.
        let _ = unsafe { mm::mprotect(v.start as *mut u8, v.size(), v.prot_flags()) };
    }
}

/// madvise bits that shape how pages are faulted in: applied before the pages are
/// read, so a VMA dumped with MADV_HUGEPAGE is filled with huge pages.
const BEFORE_READ: u64 = 1 << MadviseAdvice::HUGEPAGE.as_raw() | 1 << MadviseAdvice::NOHUGEPAGE.as_raw();

/// The VMAs' THP advice, before their pages are read.
pub fn advise_before_read(vmas: &[VmaEntry]) -> Result {
    advise(vmas, BEFORE_READ)
}

/// The rest of the VMAs' madvise bits, once the pages are in.
pub fn advise_after_read(vmas: &[VmaEntry]) -> Result {
    advise(vmas, !BEFORE_READ)
}

/// Non-regular VMAs (device mappings a plugin restores, as GPU drivers' memory) keep
/// no advice: e.g. MADV_DONTFORK on a VM_IO mapping fails (criu-dev after 4.2 skips
/// them too).
fn advise(vmas: &[VmaEntry], which: u64) -> Result {
    for v in vmas {
        if !v.is(VMA_AREA_REGULAR) || v.has_madv == 0 || v.madv & which == 0 {
            continue;
        }
        for bit in 0..64u32 {
            if v.madv & which & (1 << bit) == 0 {
                continue;
            }
            // SAFETY: advice on the task's own VMA; none of the advice CRIU dumps (it
            // keeps only the persistent VMA flags) discards contents.
            if let Err(e) = unsafe { mm::madvise(v.start as *mut u8, v.size(), MadviseAdvice::from_raw(bit)) } {
                pr_err!(
                    "madvise(",
                    Hex(v.start),
                    ", ",
                    v.size() as u64,
                    ", ",
                    bit,
                    ") failed with ",
                    e
                );
                return Err(Failed);
            }
        }
    }
    Ok(())
}

/// Guard regions (MADV_GUARD_INSTALL, CRIU 4.2's `VMA_AREA_GUARD`): installed again once
/// the pages and the other advice are in.
#[cfg(criu_has_vma_area_guard)]
pub fn install_guards(vmas: &[VmaEntry]) -> Result {
    for v in vmas.iter().filter(|v| v.is(criu_abi::raw::VMA_AREA_GUARD)) {
        // SAFETY: guard pages over the task's own range, as the dumped task had them.
        if let Err(e) = unsafe { mm::madvise(v.start as *mut u8, v.size(), MadviseAdvice::GUARD_INSTALL) } {
            pr_err!(
                "madvise(",
                Hex(v.start),
                ", ",
                v.size() as u64,
                ", MADV_GUARD_INSTALL) failed with ",
                e
            );
            return Err(Failed);
        }
    }
    Ok(())
}

/// Trees without guard-region VMAs (CRIU 4.1.1) have none to install.
#[cfg(not(criu_has_vma_area_guard))]
pub fn install_guards(_vmas: &[VmaEntry]) -> Result {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child;
    use criu_abi::raw::VMA_AREA_REGULAR;

    const P: usize = PAGE_SIZE;

    /// A private anonymous VMA entry of `pages` pages at `start`, premapped at `at`.
    fn premapped(start: usize, pages: usize, at: usize) -> VmaEntry {
        VmaEntry {
            start: start as u64,
            end: (start + pages * P) as u64,
            shmid: at as u64,
            prot: (ProtFlags::READ | ProtFlags::WRITE).bits(),
            flags: (MapFlags::PRIVATE | MapFlags::ANONYMOUS).bits(),
            status: VMA_AREA_REGULAR | VMA_PREMMAPED,
            fd: -1,
            ..VmaEntry::default()
        }
    }

    /// A fresh area of `pages` pages; each page's first word is `tag + i`.
    fn filled(pages: usize, tag: u64) -> usize {
        // SAFETY: a fresh anonymous mapping wherever the kernel finds room.
        let p = unsafe {
            mm::mmap(
                core::ptr::null_mut(),
                pages * P,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::ANONYMOUS,
                None,
                0,
            )
        }
        .unwrap() as usize;
        for i in 0..pages {
            // SAFETY: inside the mapping just made.
            unsafe { ((p + i * P) as *mut u64).write(tag + i as u64) };
        }
        p
    }

    fn tags(at: usize, pages: usize) -> Vec<u64> {
        // SAFETY: the caller names mapped, readable pages.
        (0..pages)
            .map(|i| unsafe { ((at + i * P) as *const u64).read() })
            .collect()
    }

    /// Moves that overlap their source in either direction, and one that does not, land
    /// with every page in order: CRIU's guard-page detour.
    #[test]
    fn premapped_vmas_move_into_place_even_over_themselves() {
        in_child(|| {
            // A 64-page playground; three VMAs of 8 pages premapped inside it.
            let base = filled(64, 0);
            // SAFETY: the playground is ours; the VMAs are carved out of it below.
            unsafe { mm::munmap(base as *mut u8, 64 * P) }.unwrap();
            let place = |off: usize, tag: u64| {
                // SAFETY: inside the playground, unmapped above.
                let p = unsafe {
                    mm::mmap(
                        (base + off * P) as *mut u8,
                        8 * P,
                        ProtFlags::READ | ProtFlags::WRITE,
                        MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED,
                        None,
                        0,
                    )
                }
                .unwrap() as usize;
                for i in 0..8 {
                    // SAFETY: inside the mapping just made.
                    unsafe { ((p + i * P) as *mut u64).write(tag + i as u64) };
                }
                p
            };
            // Down by 4 pages (overlapping), up by 4 pages (overlapping), far up.
            let a = place(8, 100);
            let b = place(24, 200);
            let c = place(40, 300);
            let vmas = [
                premapped(a - 4 * P, 8, a),
                premapped(b + 4 * P, 8, b),
                premapped(c + 16 * P, 8, c),
            ];
            remap_premapped(&vmas, u64::MAX, None).unwrap();
            assert_eq!(tags(a - 4 * P, 8), (100..108).collect::<Vec<_>>());
            assert_eq!(tags(b + 4 * P, 8), (200..208).collect::<Vec<_>>());
            assert_eq!(tags(c + 16 * P, 8), (300..308).collect::<Vec<_>>());
        });
    }

    /// Shadow-stack VMAs in the remap, on this machine (no user shadow stacks): 4.1.1's
    /// plan leaves the copy where CRIU premapped it (each thread maps its VMA later);
    /// 4.2's moves the VMAs planned before it, then refuses the shadow stack (nothing may
    /// write one here) with its copy and the next copy's first page still mapped.
    #[test]
    fn shadow_stack_vmas_in_the_remap_per_protocol() {
        use crate::remap_plan::Plan;
        use crate::shstk::Protocol;
        use criu_abi::raw::VMA_AREA_SHSTK;
        for p in [Protocol::Late, Protocol::Remap] {
            in_child(|| {
                // An 80-page playground of ours: [a: 4 pages][shadow stack copy: 2][b: 4]
                // premapped back to back at its page 64, each moving down by 64 pages
                // (into the playground); the shadow stack's neighbours tagged.
                let area = filled(80, 0) + 64 * P;
                let (a, s, b) = (area, area + 4 * P, area + 6 * P);
                for (at, tag) in [(s, 500), (s + P, 501), (b, 600)] {
                    // SAFETY: inside the area made above.
                    unsafe { (at as *mut u64).write(tag) };
                }
                let mut st = premapped(s - 64 * P, 2, s);
                st.status |= VMA_AREA_SHSTK;
                let vmas = [premapped(a - 64 * P, 4, a), st, premapped(b - 64 * P, 4, b)];
                let got = remap_all(Plan::new(&vmas, u64::MAX, p), None);
                // The VMA before the shadow stack moved in both.
                assert_eq!(tags(a - 64 * P, 4), (64..68).collect::<Vec<_>>());
                match p {
                    Protocol::Late => {
                        got.unwrap();
                        assert_eq!(tags(s, 2), [500, 501], "the copy stays for the threads");
                        assert_eq!(tags(b - 64 * P, 1), [600]);
                    }
                    Protocol::Remap => {
                        assert_eq!(got, Err(Failed));
                        assert_eq!(tags(s, 2), [500, 501], "nothing unmapped on refusal");
                        assert_eq!(tags(b, 1), [600], "the next copy untouched");
                    }
                }
            });
        }
    }

    /// THP advice goes on before the read, the other bits after, each exactly once.
    #[test]
    fn advice_is_split_around_the_read() {
        in_child(|| {
            let p = filled(512, 0);
            let mut v = premapped(p, 512, p);
            v.has_madv = 1;
            v.madv = 1 << MadviseAdvice::HUGEPAGE.as_raw() | 1 << MadviseAdvice::DONTDUMP.as_raw();
            advise_before_read(core::slice::from_ref(&v)).unwrap();
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
            let flags = |smaps: &str| {
                let head = format!("{p:x}-");
                let at = smaps.find(&head).unwrap();
                smaps[at..]
                    .lines()
                    .find(|l| l.starts_with("VmFlags:"))
                    .unwrap()
                    .to_string()
            };
            let before = flags(&smaps);
            assert!(before.contains(" hg") && !before.contains(" dd"), "{before}");
            advise_after_read(core::slice::from_ref(&v)).unwrap();
            let after = flags(&std::fs::read_to_string("/proc/self/smaps").unwrap());
            assert!(after.contains(" hg") && after.contains(" dd"), "{after}");
            // An advice the kernel refuses fails the step.
            v.madv = 1 << 63;
            assert_eq!(advise_after_read(core::slice::from_ref(&v)), Err(Failed));
        });
    }

    /// A VMA that is not VMA_AREA_REGULAR (a device mapping) gets no advice at all.
    #[test]
    fn non_regular_vmas_get_no_advice() {
        in_child(|| {
            let p = filled(4, 0);
            let mut v = premapped(p, 4, p);
            v.status &= !VMA_AREA_REGULAR;
            v.has_madv = 1;
            // Advice the kernel refuses, and advice it would take: neither is applied.
            v.madv = 1 << 63 | 1 << MadviseAdvice::HUGEPAGE.as_raw();
            assert_eq!(advise_before_read(core::slice::from_ref(&v)), Ok(()));
            assert_eq!(advise_after_read(core::slice::from_ref(&v)), Ok(()));
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
            let at = smaps.find(&format!("{p:x}-")).unwrap();
            let flags = smaps[at..].lines().find(|l| l.starts_with("VmFlags:")).unwrap();
            assert!(!flags.contains(" hg"), "{flags}");
        });
    }
}
