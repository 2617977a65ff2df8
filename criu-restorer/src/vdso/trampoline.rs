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
        let Some(slot) = at.and_then(|at| dumped.get_mut(at..at.checked_add(LEN)?)) else {
            bail!("vdso: ", "symbol offset ", Hex(f.offset), " is outside the dumped vDSO");
        };
        slot.copy_from_slice(&jmp64(to_base.wrapping_add(t.offset)));
    }
    Ok(())
}
