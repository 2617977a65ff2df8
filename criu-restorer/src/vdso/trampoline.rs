//! Jumps from the dumped vDSO's entry points into the runtime vDSO (CRIU's
//! `vdso_redirect_calls` with `insert_trampoline64`, `arch/x86/vdso-pie.c`).

use super::{SymbolTable, VDSO_BAD_ADDR};
use crate::error::Result;
use crate::log::Hex;
use crate::{bail, pr_debug};

/// The patch's length: `movabs $to, %rax; jmp *%rax`, then four `int3` guards.
pub const LEN: usize = 16;

/// The patch that jumps to `to`.
pub fn jmp64(to: u64) -> [u8; LEN] {
    let mut p = [0xcc; LEN];
    p[..2].copy_from_slice(&[0x48, 0xb8]);
    p[2..10].copy_from_slice(&to.to_le_bytes());
    p[10..12].copy_from_slice(&[0xff, 0xe0]);
    p
}

/// Whether a symbol slot is unused (CRIU's `vdso_symbol_empty`).
fn is_empty(s: &criu_abi::raw::vdso_symbol) -> bool {
    s.offset == VDSO_BAD_ADDR && s.name[0] == 0
}

/// Patch every symbol `from` has in the dumped vDSO `dumped` (mapped at `from_base`)
/// into a jump to the same symbol of the runtime vDSO at `to_base`. As in CRIU, a
/// symbol the runtime vDSO lacks gets a jump to `to_base + VDSO_BAD_ADDR`; a patch that
/// would not fit inside `dumped` is an error (CRIU would write past the area).
pub fn redirect(dumped: &mut [u8], from_base: u64, from: &SymbolTable, to_base: u64, to: &SymbolTable) -> Result {
    for (i, (f, t)) in from.iter().zip(to).enumerate() {
        if is_empty(f) {
            continue;
        }
        pr_debug!(
            "vdso: ",
            "jmp: ",
            Hex(from_base),
            "/",
            Hex(f.offset),
            " -> ",
            Hex(to_base),
            "/",
            Hex(t.offset),
            " (index ",
            i,
            ")"
        );
        let at = usize::try_from(f.offset).ok();
        let slot = at.and_then(|at| dumped.get_mut(at..at.checked_add(LEN)?));
        let Some(slot) = slot.and_then(|s| <&mut [u8; LEN]>::try_from(s).ok()) else {
            bail!("vdso: ", "symbol offset ", Hex(f.offset), " is outside the dumped vDSO");
        };
        *slot = jmp64(to_base.wrapping_add(t.offset));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use criu_abi::raw::vdso_symbol;

    fn table(offsets: &[(usize, u64)]) -> SymbolTable {
        let mut t = [vdso_symbol {
            name: [0; _],
            offset: VDSO_BAD_ADDR,
        }; 7];
        for &(i, off) in offsets {
            t[i].offset = off;
            t[i].name[0] = b'x' as core::ffi::c_char;
        }
        t
    }

    #[test]
    fn jmp64_is_movabs_rax_jmp_rax() {
        let p = jmp64(0x1122_3344_5566_7788);
        assert_eq!(
            p,
            [0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xff, 0xe0, 0xcc, 0xcc, 0xcc, 0xcc]
        );
    }

    #[test]
    fn redirect_patches_each_present_symbol() {
        let mut mem = [0u8; 64];
        let from = table(&[(0, 8), (2, 48)]);
        let to = table(&[(0, 0x100), (1, 0x200), (2, 0x300)]);
        redirect(&mut mem, 0x7000, &from, 0x9000, &to).unwrap();
        assert_eq!(mem[..8], [0; 8]);
        assert_eq!(mem[8..24], jmp64(0x9100));
        assert_eq!(mem[24..48], [0; 24]);
        assert_eq!(mem[48..64], jmp64(0x9300));
    }

    #[test]
    fn redirect_refuses_a_patch_past_the_area() {
        let mut mem = [0u8; 64];
        let to = table(&[(0, 0x100)]);
        for off in [49, 64, u64::MAX - 8, VDSO_BAD_ADDR] {
            assert!(redirect(&mut mem, 0, &table(&[(0, off)]), 0, &to).is_err(), "{off:#x}");
        }
        assert_eq!(mem, [0; 64]);
    }
}
