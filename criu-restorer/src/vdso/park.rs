//! Keeping the runtime vDSO through the restore: parked in CRIU's reserved area before
//! the old VMAs are unmapped (CRIU's `can_restore_vdso` and `vdso_do_park`), or mapped
//! fresh there afterwards (CRIU's `map_vdso` and x86 `arch_map_vdso`).
//!
//! CRIU also points its log's timestamps at the runtime vDSO's gettimeofday once it is
//! parked or mapped (`vdso_update_gtod_addr`); this restorer's log always uses the
//! gettimeofday syscall, so there is nothing to update.

use criu_abi::raw::{vdso_maps, VmaEntry, VMA_AREA_VDSO, VMA_AREA_VVAR};
use pie_sys::mm::{self, MremapFlags};
use pie_sys::thread::{self, ARCH_MAP_VDSO_64};

use super::{is_present, refuse_compat, vma_is, VDSO_BAD_ADDR, VVAR_BAD_ADDR, VVAR_BAD_SIZE};
use crate::error::Result;
use crate::log::Hex;
use crate::{bail, pr_debug, pr_warn};

/// Whether the runtime vDSO/vvar can stand in for the dumped ones: a task that had a
/// vDSO needs one; a missing runtime vvar is only warned about (valgrind restores a
/// vvar alone, and only the vDSO reads it).
pub fn can_restore(rt: &vdso_maps, vmas: &[VmaEntry]) -> Result {
    let had_vdso = vmas.iter().any(|v| vma_is(v, VMA_AREA_VDSO));
    let had_vvar = vmas.iter().any(|v| vma_is(v, VMA_AREA_VVAR));
    if had_vdso && rt.vdso_start == VDSO_BAD_ADDR {
        bail!("Task had vdso, restorer doesn't");
    }
    if had_vvar && rt.vvar_start == VVAR_BAD_ADDR {
        pr_warn!("Can't restore vvar - continuing regardless");
    }
    Ok(())
}

/// `mremap` the `size` bytes at `*from` to exactly `to`; `*from` follows the move.
fn remap_one(who: &str, from: &mut u64, to: u64, size: u64) -> Result {
    pr_debug!("vdso: ", "Remap ", who, " ", Hex(*from), " -> ", Hex(to));
    // SAFETY: `from` is the runtime vDSO or vvar, which only the restorer uses while it
    // runs, and `to` is CRIU's park area or the dumped pair's place, both the
    // restorer's to overwrite.
    let got = unsafe {
        mm::mremap(
            *from as *mut u8,
            size as usize,
            size as usize,
            MremapFlags::MAYMOVE | MremapFlags::FIXED,
            to as *mut u8,
        )
    };
    // CRIU prints the raw return: the address, or the negative errno.
    let addr = got.map_or_else(|e| e.neg() as i64 as u64, |a| a as u64);
    if addr != to {
        bail!(
            "vdso: ",
            "Unable to remap ",
            Hex(*from),
            " -> ",
            Hex(to),
            " ",
            Hex(addr)
        );
    }
    *from = addr;
    Ok(())
}

/// Move the runtime vDSO to `vdso` and, unless `vvar` is 0, its vvar to `vvar` (since
/// Linux 6.13 the vvar is two VMAs, vvar then vvar_vclock, moved one by one). Shared
/// with [`proxy`](super::proxy), which moves the pair onto the dumped one's place.
pub(super) fn park_at(rt: &mut vdso_maps, vdso: u64, vvar: u64) -> Result {
    remap_one("rt-vdso", &mut rt.vdso_start, vdso, rt.sym.vdso_size)?;
    if vvar == 0 {
        return Ok(());
    }
    let clock = rt.sym.vvar_vclock_size;
    let data = rt.sym.vvar_size.wrapping_sub(clock);
    if clock != 0 {
        let mut from = rt.vvar_start.wrapping_add(data);
        remap_one("rt-vvar", &mut from, vvar.wrapping_add(data), clock)?;
    }
    remap_one("rt-vvar", &mut rt.vvar_start, vvar, data)
}

/// Park the runtime vDSO (and vvar) in the `space` bytes at `addr`, in their runtime
/// order (CRIU's `vdso_do_park`). An area larger than the pair is CRIU's BUG_ON; here an
/// error.
pub fn park(rt: &mut vdso_maps, addr: u64, space: u64) -> Result {
    let (vdso_size, vvar_size) = (rt.sym.vdso_size, rt.sym.vvar_size);
    if rt.vvar_start == VVAR_BAD_ADDR {
        if vdso_size < space {
            bail!(
                "vdso: ",
                "park area ",
                Hex(space),
                " is larger than the vDSO ",
                Hex(vdso_size)
            );
        }
        return park_at(rt, addr, 0);
    }
    if vdso_size.wrapping_add(vvar_size) < space {
        bail!("vdso: ", "park area ", Hex(space), " is larger than the vDSO/vvar pair");
    }
    if rt.sym.vdso_before_vvar {
        park_at(rt, addr, addr.wrapping_add(vdso_size))
    } else {
        park_at(rt, addr.wrapping_add(vvar_size), addr)
    }
}

/// Have the kernel map a fresh vDSO (and vvar) at `map_at` (`ARCH_MAP_VDSO_64`) and
/// record where each one is, as CRIU's `map_vdso`. A compat (32-bit) task is refused:
/// this restorer has no 32-bit vDSO handling.
pub fn map(rt: &mut vdso_maps, map_at: u64, compat: bool) -> Result {
    if compat {
        return refuse_compat();
    }
    pr_debug!("Mapping ", "native", " vDSO at ", Hex(map_at));
    // SAFETY: ARCH_MAP_VDSO_64 maps new pages at `map_at`, CRIU's reserved area at the
    // bootstrap region's end; it touches no fs/gs state and writes no user memory.
    if let Err(e) = unsafe { thread::arch_prctl(ARCH_MAP_VDSO_64, map_at as usize) } {
        bail!("Failed to map vdso ", e);
    }
    // The kernel may provide a vDSO alone.
    if rt.sym.vvar_size == VVAR_BAD_SIZE {
        rt.vdso_start = map_at;
        rt.vvar_start = VVAR_BAD_ADDR;
    } else if rt.sym.vdso_before_vvar {
        rt.vdso_start = map_at;
        rt.vvar_start = map_at.wrapping_add(rt.sym.vdso_size);
    } else {
        rt.vvar_start = map_at;
        rt.vdso_start = map_at.wrapping_add(rt.sym.vvar_size);
    }
    Ok(())
}

/// The vDSO step before `unmap_old_vmas` in CRIU's `__export_restore_task`: where the
/// kernel cannot map a vDSO on request (`!can_map_vdso`) and there is a runtime one,
/// check it can stand in for the dumped one and park it in the `park_size` bytes at
/// `park_at` (`args->vdso_rt_parked_at`, `args->vdso_rt_size`), which the unmap spares.
pub fn before_unmap(
    rt: &mut vdso_maps,
    vmas: &[VmaEntry],
    can_map_vdso: bool,
    compat: bool,
    park_at: u64,
    park_size: u64,
) -> Result {
    if can_map_vdso || !is_present(rt) {
        return Ok(());
    }
    // kerndat checked it already; CRIU checks again.
    if compat {
        bail!("Compatible mode without vdso map support");
    }
    can_restore(rt, vmas)?;
    park(rt, park_at, park_size)
}

/// The vDSO step after `unmap_old_vmas`: map the vDSO that was not parked, at `map_at`
/// (`args->vdso_rt_parked_at`), where the kernel can.
pub fn after_unmap(rt: &mut vdso_maps, can_map_vdso: bool, compat: bool, map_at: u64) -> Result {
    if !can_map_vdso {
        return Ok(());
    }
    map(rt, map_at, compat)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{anon, check_clock_gettime, in_child, mapped, range, runtime, vma};
    use super::*;
    use criu_abi::raw::VMA_AREA_REGULAR;

    /// Where [`park`] and [`map`] must put the pair given its start `at`.
    fn placed(rt: &vdso_maps, at: u64) -> (u64, u64) {
        if rt.sym.vdso_before_vvar {
            (at, at + rt.sym.vdso_size)
        } else {
            (at + rt.sym.vvar_size, at)
        }
    }

    /// The child's maps show the vDSO at `vdso` and the vvar (with vvar_vclock after it
    /// where the kernel has one) at `vvar`.
    fn assert_pair_at(maps: &str, rt: &vdso_maps, vdso: u64, vvar: u64) {
        assert_eq!(range(maps, "[vdso]"), Some((vdso, vdso + rt.sym.vdso_size)), "{maps}");
        let clock = rt.sym.vvar_vclock_size;
        let data = rt.sym.vvar_size - clock;
        assert_eq!(range(maps, "[vvar]"), Some((vvar, vvar + data)), "{maps}");
        if clock != 0 {
            assert_eq!(
                range(maps, "[vvar_vclock]"),
                Some((vvar + data, vvar + data + clock)),
                "{maps}"
            );
        }
    }

    fn pair_size(rt: &vdso_maps) -> u64 {
        rt.sym.vdso_size + rt.sym.vvar_size
    }

    #[test]
    fn park_moves_the_pair_in_runtime_order() {
        let rt = runtime();
        let total = pair_size(&rt);
        let area = anon(total, libc::PROT_NONE);
        let (vdso, vvar) = placed(&rt, area);
        let (code, maps) = in_child(move || {
            let mut rt = rt;
            let (old_vdso, old_vvar) = (rt.vdso_start, rt.vvar_start);
            if park(&mut rt, area, total).is_err() {
                return 2;
            }
            if (rt.vdso_start, rt.vvar_start) != (vdso, vvar) {
                return 3;
            }
            if mapped(old_vdso, rt.sym.vdso_size) || mapped(old_vvar, rt.sym.vvar_size) {
                return 4;
            }
            // The moved code still finds its data: the pair kept its layout.
            5 * check_clock_gettime(vdso + rt.sym.symbols[0].offset)
        });
        assert_eq!(code, 0);
        assert_pair_at(&maps, &rt, vdso, vvar);
    }

    #[test]
    fn park_moves_a_vdso_without_vvar() {
        let mut rt = runtime();
        rt.vvar_start = VVAR_BAD_ADDR;
        let area = anon(rt.sym.vdso_size, libc::PROT_NONE);
        let (code, maps) = in_child(move || {
            let mut rt = rt;
            let size = rt.sym.vdso_size;
            match park(&mut rt, area, size) {
                Ok(()) if rt.vdso_start == area && rt.vvar_start == VVAR_BAD_ADDR => 0,
                _ => 2,
            }
        });
        assert_eq!(code, 0);
        assert_eq!(range(&maps, "[vdso]"), Some((area, area + rt.sym.vdso_size)));
        // The vvar stayed where the kernel put it.
        assert_eq!(range(&maps, "[vvar]").map(|r| r.0), runtime().vvar_start.into());
    }

    #[test]
    fn park_refuses_an_area_larger_than_the_pair() {
        let rt = runtime();
        let (code, _) = in_child(move || {
            let mut moved = rt;
            let big = pair_size(&rt) + 4096;
            match park(&mut moved, 0x10000, big) {
                Err(_) if moved.vdso_start == rt.vdso_start && mapped(rt.vdso_start, 4096) => 0,
                _ => 2,
            }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn map_puts_a_fresh_pair_where_criu_expects_it() {
        let rt = runtime();
        let total = pair_size(&rt);
        let area = anon(total, libc::PROT_NONE);
        let (vdso, vvar) = placed(&rt, area);
        let (code, maps) = in_child(move || {
            let mut rt = rt;
            // SAFETY: the child gives up its vDSO, vvar and the reserved hole; it calls
            // no vDSO code but through `rt` afterwards.
            unsafe {
                libc::munmap(rt.vdso_start as *mut _, rt.sym.vdso_size as usize);
                libc::munmap(rt.vvar_start as *mut _, rt.sym.vvar_size as usize);
                libc::munmap(area as *mut _, total as usize);
            }
            if map(&mut rt, area, false).is_err() {
                return 2;
            }
            if (rt.vdso_start, rt.vvar_start) != (vdso, vvar) {
                return 3;
            }
            5 * check_clock_gettime(vdso + rt.sym.symbols[0].offset)
        });
        assert_eq!(code, 0);
        assert_pair_at(&maps, &rt, vdso, vvar);
    }

    #[test]
    fn map_fails_while_a_vdso_is_mapped_and_for_compat() {
        let rt = runtime();
        let area = anon(pair_size(&rt), libc::PROT_NONE);
        let (code, maps) = in_child(move || {
            let mut m = rt;
            if map(&mut m, area, false).is_ok() || m.vdso_start != rt.vdso_start {
                return 2;
            }
            if map(&mut m, area, true).is_ok() || m.vdso_start != rt.vdso_start {
                return 3;
            }
            0
        });
        assert_eq!(code, 0);
        assert_eq!(range(&maps, "[vdso]").map(|r| r.0), Some(rt.vdso_start));
    }

    #[test]
    fn can_restore_needs_a_vdso_only_for_a_vdso() {
        let mut rt = runtime();
        let vdso = [vma(0x1000, 0x3000, VMA_AREA_REGULAR | VMA_AREA_VDSO)];
        let vvar = [vma(0x1000, 0x3000, VMA_AREA_REGULAR | VMA_AREA_VVAR)];
        assert!(can_restore(&rt, &vdso).is_ok());
        rt.vvar_start = VVAR_BAD_ADDR;
        assert!(can_restore(&rt, &vvar).is_ok());
        rt.vdso_start = VDSO_BAD_ADDR;
        assert!(can_restore(&rt, &vvar).is_ok());
        assert!(can_restore(&rt, &[]).is_ok());
        assert!(can_restore(&rt, &vdso).is_err());
    }

    #[test]
    fn before_and_after_unmap_follow_can_map_vdso() {
        let rt = runtime();
        let total = pair_size(&rt);
        let area = anon(total, libc::PROT_NONE);
        let (vdso, vvar) = placed(&rt, area);
        let vmas = [vma(0x1000, 0x3000, VMA_AREA_REGULAR | VMA_AREA_VDSO)];
        let (code, maps) = in_child(move || {
            let mut m = rt;
            // The kernel can map one later: nothing moves now, nothing maps then if not.
            if before_unmap(&mut m, &vmas, true, false, area, total).is_err() || m.vdso_start != rt.vdso_start {
                return 2;
            }
            if after_unmap(&mut m, false, false, area).is_err() || m.vdso_start != rt.vdso_start {
                return 3;
            }
            // No runtime vDSO: nothing to park.
            let mut none = rt;
            none.vdso_start = VDSO_BAD_ADDR;
            if before_unmap(&mut none, &vmas, false, false, area, total).is_err() {
                return 4;
            }
            // A compat task needs ARCH_MAP_VDSO_32.
            if before_unmap(&mut m, &vmas, false, true, area, total).is_ok() || m.vdso_start != rt.vdso_start {
                return 5;
            }
            if before_unmap(&mut m, &vmas, false, false, area, total).is_err() {
                return 6;
            }
            if (m.vdso_start, m.vvar_start) != (vdso, vvar) {
                return 7;
            }
            0
        });
        assert_eq!(code, 0);
        assert_pair_at(&maps, &rt, vdso, vvar);
    }
}
