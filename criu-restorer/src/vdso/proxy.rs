//! The dumped vDSO made to work on this kernel (CRIU's `vdso_proxify`,
//! `criu/pie/parasite-vdso.c`): when the runtime vDSO/vvar pair is alike the dumped one
//! (same size, symbol offsets, vvar size and order) it is moved onto the dumped pair's
//! place; otherwise the dumped vDSO's entry points become jumps into the runtime vDSO,
//! which stays where it was parked or mapped, marked so that the next dump skips it.

use criu_abi::raw::{vdso_maps, VmaEntry, VMA_AREA_VDSO, VMA_AREA_VVAR};
use pie_sys::mm::{self, ProtFlags};

use super::park::park_at;
use super::{elf, is_present, refuse_compat, trampoline, vma_is, SymbolTable, VVAR_BAD_ADDR, VVAR_BAD_SIZE};
use crate::error::Result;
use crate::log::Hex;
use crate::{bail, pr_debug, pr_info};

/// The mark's first word (`VDSO_MARK_SIGNATURE_V3`, "CRIUvDSO").
pub const MARK_SIGNATURE: u64 = 0x4f53_4476_5549_5243;
/// `VDSO_MARK_CUR_VERSION`.
pub const MARK_VERSION: u64 = 3;
/// The mark's size: five words (`struct vdso_mark`), written over the runtime vDSO's
/// ELF header, which only the proxy's jumps use.
pub const MARK_LEN: usize = 40;

/// The mark CRIU's dump looks for in a runtime vDSO serving as a proxy's target: the
/// runtime vvar and the dumped pair's addresses (`struct vdso_mark`).
pub fn mark(rt_vvar: u64, orig_vdso: u64, orig_vvar: u64) -> [u8; MARK_LEN] {
    let words = [MARK_SIGNATURE, orig_vdso, MARK_VERSION, orig_vvar, rt_vvar];
    let mut m = [0u8; MARK_LEN];
    for (chunk, w) in m.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    m
}

/// A VMA's length (`vma_entry_len`).
fn len(vma: &VmaEntry) -> u64 {
    vma.end.wrapping_sub(vma.start)
}

/// Whether the runtime pair can simply take the dumped pair's place (CRIU's
/// `blobs_matches`), logging the first difference.
fn alike(vdso: &VmaEntry, vvar: Option<&VmaEntry>, img: &SymbolTable, rt: &vdso_maps) -> bool {
    if len(vdso) != rt.sym.vdso_size {
        pr_info!(
            "vdso: ",
            "size differs: ",
            Hex(len(vdso)),
            " != ",
            Hex(rt.sym.vdso_size),
            " (rt)"
        );
        return false;
    }
    for (i, (s, r)) in img.iter().zip(&rt.sym.symbols).enumerate() {
        if s.offset != r.offset {
            let bytes = s.name.map(|c| c as u8);
            let name = core::ffi::CStr::from_bytes_until_nul(&bytes).unwrap_or(c"");
            pr_info!(
                "vdso: ",
                "[",
                i,
                "]`",
                name,
                "` offset differs: ",
                Hex(s.offset),
                " != ",
                Hex(r.offset),
                " (rt)"
            );
            return false;
        }
    }
    if let Some(vvar) = vvar.filter(|_| rt.sym.vvar_size != VVAR_BAD_SIZE) {
        let vdso_first = vvar.start > vdso.start;
        if len(vvar) != rt.sym.vvar_size {
            pr_info!(
                "vdso: ",
                "vvar size differs: ",
                Hex(len(vvar)),
                " != ",
                Hex(rt.sym.vvar_size),
                " (rt)"
            );
            return false;
        }
        if vdso_first != rt.sym.vdso_before_vvar {
            let pair = if vdso_first { "vdso/vvar" } else { "vvar/vdso" };
            pr_info!("vdso: ", "[", pair, "] pair has different order");
            return false;
        }
    }
    true
}

/// Put the runtime pair where the dumped pair was (CRIU's `remap_rt_vdso`).
fn remap_onto(vdso: &VmaEntry, vvar: Option<&VmaEntry>, rt: &mut vdso_maps) -> Result {
    pr_info!("vdso: ", "Runtime vdso/vvar matches dumpee, remap inplace");
    // SAFETY: the dumped vDSO's memory is the restored task's, about to be replaced by
    // the runtime vDSO; nothing refers to it (`proxify` no longer uses its slice).
    if unsafe { mm::munmap(vdso.start as *mut u8, len(vdso) as usize) }.is_err() {
        bail!("vdso: ", "Failed to unmap dumpee vdso");
    }
    let Some(vvar) = vvar else {
        return park_at(rt, vdso.start, 0);
    };
    // SAFETY: as for the vDSO: the dumped vvar is replaced by the runtime one.
    if unsafe { mm::munmap(vvar.start as *mut u8, len(vvar) as usize) }.is_err() {
        bail!("vdso: ", "Failed to unmap dumpee vvar");
    }
    park_at(rt, vdso.start, vvar.start)
}

/// Turn the dumped vDSO into a proxy of the runtime one (CRIU's `add_vdso_proxy`).
fn add_proxy(dumped: &mut [u8], vdso: &VmaEntry, vvar: Option<&VmaEntry>, img: &SymbolTable, rt: &vdso_maps) -> Result {
    pr_info!("vdso: ", "Runtime vdso mismatches dumpee, generate proxy");
    // As in CRIU, the patched code is not saved: a later migration with fewer symbols
    // cannot undo the jumps.
    if trampoline::redirect(dumped, vdso.start, img, rt.vdso_start, &rt.sym.symbols).is_err() {
        bail!("vdso: ", "Failed to proxify dumpee contents");
    }
    let orig_vvar = vvar.map_or(VVAR_BAD_ADDR, |v| v.start);
    let m = mark(rt.vvar_start, vdso.start, orig_vvar);
    if rt.sym.vdso_size < MARK_LEN as u64 {
        bail!("vdso: ", "runtime vDSO too small for its mark: ", Hex(rt.sym.vdso_size));
    }
    let (at, size) = (rt.vdso_start as *mut u8, rt.sym.vdso_size as usize);
    // SAFETY: the runtime vDSO is the restorer's; it is made writable only for the mark,
    // and no vDSO code runs until it is executable again.
    if unsafe { mm::mprotect(at, size, ProtFlags::WRITE) }.is_err() {
        // CRIU ignores this and would fault on the write; fail the restore cleanly.
        bail!("vdso: ", "Can't make the runtime vDSO writable at ", Hex(rt.vdso_start));
    }
    // SAFETY: `at` starts a writable mapping of at least MARK_LEN bytes (checked above).
    unsafe { core::ptr::copy_nonoverlapping(m.as_ptr(), at, MARK_LEN) };
    // SAFETY: back to the vDSO's own protection; as in CRIU, an error here is ignored.
    let _ = unsafe { mm::mprotect(at, size, ProtFlags::READ | ProtFlags::EXEC) };
    Ok(())
}

/// CRIU's `vdso_proxify` for a 64-bit task, after the task's pages are restored: find
/// the dumped vDSO (and vvar) among `vmas`, read its symbols from its restored memory
/// and either move the runtime pair `rt` onto it or make it a proxy. Returns whether a
/// proxy was made: then the runtime pair must outlive the restorer (CRIU sets
/// `vdso_rt_size` to 0 when not). `force_trampolines` is FI_VDSO_TRAMPOLINES.
pub fn proxify(rt: &mut vdso_maps, vmas: &[VmaEntry], compat: bool, force_trampolines: bool) -> Result<bool> {
    let (mut vdso, mut vvar) = (None, None);
    for v in vmas {
        if vma_is(v, VMA_AREA_VDSO) {
            vdso = Some(v);
        } else if vma_is(v, VMA_AREA_VVAR) {
            vvar = Some(v);
        }
    }
    let Some(vdso) = vdso else {
        if vvar.is_none() {
            // Nothing was parked for it either: nothing to undo.
            pr_info!("vdso: ", "No VVAR, no vDSO in image");
            return Ok(false);
        }
        bail!("vdso: ", "Can't find vDSO area in image");
    };
    if !is_present(rt) {
        bail!("vdso: ", "vDSO isn't provided by kernel, but exists in images");
    }
    if compat {
        return refuse_compat().map(|()| false);
    }
    let size = len(vdso);
    if vdso.end <= vdso.start || size > isize::MAX as u64 {
        bail!("vdso: ", "Bad vDSO area ", Hex(vdso.start), "-", Hex(vdso.end));
    }
    // SAFETY: the restorer mapped every VMA of the image, writable, before this step
    // (PROT_WRITE is dropped only after it), and restored its pages; nothing else
    // reads or writes the dumped vDSO while the restorer runs.
    let dumped = unsafe { core::slice::from_raw_parts_mut(vdso.start as *mut u8, size as usize) };
    let img = elf::symbols(dumped)?;

    let (vvar_start, vvar_end) = vvar.map_or((VVAR_BAD_ADDR, VVAR_BAD_ADDR), |v| (v.start, v.end));
    pr_debug!(
        "vdso: ",
        "image [vdso] ",
        Hex(vdso.start),
        "-",
        Hex(vdso.end),
        " [vvar] ",
        Hex(vvar_start),
        "-",
        Hex(vvar_end)
    );

    if alike(vdso, vvar, &img, rt) && !force_trampolines {
        remap_onto(vdso, vvar, rt)?;
        return Ok(false);
    }
    add_proxy(dumped, vdso, vvar, &img, rt)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{anon, check_clock_gettime, host_image, in_child, mapped, range, runtime, vma};
    use super::super::VDSO_BAD_ADDR;
    use super::*;
    use criu_abi::raw::VMA_AREA_REGULAR;

    const VDSO: u32 = VMA_AREA_REGULAR | VMA_AREA_VDSO;
    const VVAR: u32 = VMA_AREA_REGULAR | VMA_AREA_VVAR;

    /// A "dumped" vDSO: a writable copy of the host's, at `at` or anywhere (0), `extra`
    /// bytes longer.
    fn dumped_copy(at: u64, extra: u64) -> (u64, u64) {
        let img = host_image();
        let len = img.len() as u64 + extra;
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | if at != 0 { libc::MAP_FIXED } else { 0 };
        // SAFETY: a fresh mapping, at `at` only over the test's own reserved area.
        let p = unsafe {
            libc::mmap(
                at as *mut _,
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED);
        // SAFETY: copying the vDSO's bytes into the new writable mapping.
        unsafe { std::ptr::copy_nonoverlapping(img.as_ptr(), p.cast(), img.len()) };
        (p as u64, p as u64 + len)
    }

    fn at(addr: u64, len: usize) -> &'static [u8] {
        // SAFETY: the callers read mappings that stay for the child's life.
        unsafe { std::slice::from_raw_parts(addr as *const u8, len) }
    }

    #[test]
    fn mark_is_struct_vdso_mark_v3() {
        let m = mark(0x3000, 0x1000, 0x2000);
        let word = |i: usize| u64::from_le_bytes(m[i * 8..i * 8 + 8].try_into().unwrap());
        assert_eq!(&m[..8], b"CRIUvDSO");
        assert_eq!([word(1), word(2), word(3), word(4)], [0x1000, 3, 0x2000, 0x3000]);
    }

    #[test]
    fn forced_trampolines_make_the_dumped_copy_call_the_runtime_vdso() {
        let rt = runtime();
        let (start, end) = dumped_copy(0, 0);
        let vmas = [vma(start, end, VDSO)];
        let (code, _) = in_child(move || {
            let mut rt = rt;
            let before = rt;
            if proxify(&mut rt, &vmas, false, true) != Ok(true) {
                return 2;
            }
            // The runtime pair stays where it is.
            if (rt.vdso_start, rt.vvar_start) != (before.vdso_start, before.vvar_start) {
                return 3;
            }
            for s in rt.sym.symbols.iter().filter(|s| s.offset != VDSO_BAD_ADDR) {
                // Same offsets in the copy (it is the same vDSO).
                let patch = trampoline::jmp64(rt.vdso_start + s.offset);
                if at(start + s.offset, trampoline::LEN) != patch {
                    return 4;
                }
            }
            if at(rt.vdso_start, MARK_LEN) != mark(rt.vvar_start, start, VVAR_BAD_ADDR) {
                return 5;
            }
            // SAFETY: the copy is the child's own mapping.
            if unsafe {
                libc::mprotect(
                    start as *mut _,
                    (end - start) as usize,
                    libc::PROT_READ | libc::PROT_EXEC,
                )
            } != 0
            {
                return 6;
            }
            // Through the copy's patched entry into the runtime vDSO: without the jump,
            // the copy's own code would read a vvar that is not there.
            let off = rt.sym.symbols[0].offset;
            if check_clock_gettime(start + off) != 0 {
                return 7;
            }
            // The runtime vDSO is executable again after its mark.
            8 * check_clock_gettime(rt.vdso_start + off)
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn any_difference_makes_a_proxy() {
        let rt = runtime();
        let page = 4096;
        let longer = dumped_copy(0, page);
        let (a, b) = dumped_copy(0, 0);
        let (c, d) = dumped_copy(0, 0);
        let (e, f) = dumped_copy(0, 0);
        let vvar_len = rt.sym.vvar_size;
        // The dumped vvar after the vDSO, where the runtime one is before (or the reverse).
        let vvar_at = |vdso: u64, end: u64| if rt.sym.vdso_before_vvar { vdso - vvar_len } else { end };
        let none = vma(0, 0, 0);
        // The VMAs (the first `n` of them) and whether a runtime symbol moved.
        let cases = [
            ([vma(longer.0, longer.1, VDSO), none], 1, false),
            (
                [vma(a, b, VDSO), vma(vvar_at(a, b), vvar_at(a, b) + vvar_len, VVAR)],
                2,
                false,
            ),
            ([vma(c, d, VDSO), vma(c - page, c, VVAR)], 2, false),
            ([vma(e, f, VDSO), none], 1, true),
        ];
        for (i, (vmas, n, moved_symbol)) in cases.into_iter().enumerate() {
            let (code, _) = in_child(move || {
                let mut rt = rt;
                if moved_symbol {
                    rt.sym.symbols[1].offset += 16;
                }
                match proxify(&mut rt, &vmas[..n], false, false) {
                    Ok(true) => 0,
                    Ok(false) => 2,
                    Err(_) => 3,
                }
            });
            assert_eq!(code, 0, "case {i}");
        }
    }

    #[test]
    fn a_matching_pair_is_moved_onto_the_dumped_one() {
        let rt = runtime();
        let (vdso_len, vvar_len) = (rt.sym.vdso_size, rt.sym.vvar_size);
        let area = anon(vdso_len + vvar_len, libc::PROT_NONE);
        let (vdso, vvar) = if rt.sym.vdso_before_vvar {
            (area, area + vdso_len)
        } else {
            (area + vvar_len, area)
        };
        let (start, end) = dumped_copy(vdso, 0);
        assert_eq!((start, end), (vdso, vdso + vdso_len));
        let vmas = [vma(vvar, vvar + vvar_len, VVAR), vma(start, end, VDSO)];
        let (code, maps) = in_child(move || {
            let mut rt = rt;
            let before = rt;
            if proxify(&mut rt, &vmas, false, false) != Ok(false) {
                return 2;
            }
            if (rt.vdso_start, rt.vvar_start) != (vdso, vvar) {
                return 3;
            }
            if mapped(before.vdso_start, vdso_len) || mapped(before.vvar_start, vvar_len) {
                return 4;
            }
            // Unmarked: no proxy points at it.
            if at(vdso, 4) != b"\x7fELF" {
                return 5;
            }
            6 * check_clock_gettime(vdso + rt.sym.symbols[0].offset)
        });
        assert_eq!(code, 0);
        assert_eq!(range(&maps, "[vdso]"), Some((vdso, vdso + vdso_len)), "{maps}");
        assert_eq!(range(&maps, "[vvar]").map(|r| r.0), Some(vvar), "{maps}");
    }

    #[test]
    fn bad_images_and_missing_vdsos_fail_cleanly() {
        let rt = runtime();
        let img = host_image();
        let (start, end) = dumped_copy(0, 0);
        let (bad, bad_end) = dumped_copy(0, 0);
        // SAFETY: the copy is this test's own writable mapping.
        unsafe { *(bad as *mut u8) = 0 };
        let (code, _) = in_child(move || {
            let mut rt = rt;
            let before = rt;
            if proxify(&mut rt, &[], false, false) != Ok(false) {
                return 2;
            }
            if proxify(&mut rt, &[vma(start, end, VVAR)], false, false).is_ok() {
                return 3;
            }
            if proxify(&mut rt, &[vma(bad, bad_end, VDSO)], false, false).is_ok() {
                return 4;
            }
            if proxify(&mut rt, &[vma(start, end, VDSO)], true, false).is_ok() {
                return 5;
            }
            if proxify(&mut rt, &[vma(end, start, VDSO)], false, false).is_ok() {
                return 6;
            }
            let mut absent = rt;
            absent.vdso_start = VDSO_BAD_ADDR;
            if proxify(&mut absent, &[vma(start, end, VDSO)], false, false).is_ok() {
                return 7;
            }
            // Nothing was patched, moved or marked.
            if rt.vdso_start != before.vdso_start || at(start, img.len()) != img {
                return 8;
            }
            if at(rt.vdso_start, 4) != b"\x7fELF" {
                return 9;
            }
            0
        });
        assert_eq!(code, 0);
    }
}
