//! compel's relocation table: each relocation of an accepted object evaluated as compel
//! does, PC-relative ones patched into the image in place, the rest kept as table lines.

use crate::elf::{Elf, Reloc, Section, Symbol};
use crate::error::Error;
use crate::hints;
use crate::layout::Layout;
use crate::relocs::{describe, Action};
use crate::rules::{self, Field, Violation};

/// A line of compel's relocation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub action: Action,
    /// Blob offset of the relocated field.
    pub place: u64,
    pub addend32: i32,
    pub addend64: i64,
    pub value32: i32,
    pub value64: i64,
}

/// The relocation table and GOT slot count, after PC-relative relocations have been
/// written into `image` (a copy of the whole file, from which the blob is then cut).
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub entries: Vec<Entry>,
    pub nr_gotpcrel: usize,
}

/// Walk every relocation section in section order, as compel does, and resolve each
/// entry. Any entry compel would refuse makes the whole run fail.
pub fn resolve(elf: &Elf<'_>, layout: &Layout, image: &mut [u8]) -> Result<Resolved, Error> {
    let mut out = Resolved::default();
    for sec in elf.sections.iter().filter(|s| s.is_reloc()) {
        let target = elf.sections.get(sec.info as usize).ok_or_else(|| {
            Error::malformed(format!(
                "relocation section {} (`{}'): target section index {} out of range (e_shnum {})",
                sec.index,
                sec.display_name(),
                sec.info,
                elf.shnum()
            ))
        })?;
        for r in elf.relocs(sec) {
            resolve_one(elf, layout, image, target, &r, &mut out)?;
        }
    }
    Ok(out)
}

fn resolve_one(
    elf: &Elf<'_>,
    layout: &Layout,
    image: &mut [u8],
    target: &Section<'_>,
    r: &Reloc,
    out: &mut Resolved,
) -> Result<(), Error> {
    let Field { action, range: field } = rules::check(elf, target, r)
        .accepted()
        .map_err(|v| refusal(v, elf, target, r))?;

    // SHT_REL keeps the addend in the relocated bytes; read them as patched so far.
    let (addend32, addend64) = match r.addend {
        Some(a) => (a as i32, a),
        None => {
            let bytes = &image[field.clone()];
            let a32 = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let a64 = if bytes.len() >= 8 {
                let mut b = [0u8; 8];
                b.copy_from_slice(&bytes[..8]);
                i64::from_le_bytes(b)
            } else {
                i64::from(a32)
            };
            (a32, a64)
        }
    };
    let (value32, value64) = symbol_value(layout, &elf.symbols[r.sym]);
    let place = layout.addr(target.index).wrapping_add(r.offset);

    match action {
        Action::PatchPc32 => {
            // S + A - P, truncated to the 32-bit field.
            let v = value32.wrapping_add(addend32).wrapping_sub(place as i32);
            image[field].copy_from_slice(&v.to_le_bytes());
        }
        Action::Int32 | Action::Long64 | Action::GotPcRel => {
            if action == Action::GotPcRel {
                out.nr_gotpcrel += 1;
            }
            out.entries.push(Entry {
                action,
                place,
                addend32,
                addend64,
                value32,
                value64,
            });
        }
    }
    Ok(())
}

/// Why compel (or, for a malformed object, this tool) refuses the relocation.
fn refusal(v: Violation, elf: &Elf<'_>, target: &Section<'_>, r: &Reloc) -> Error {
    let sym = &elf.symbols[r.sym];
    let site = format!("{}+{:#x}", target.display_name(), r.offset);
    match v {
        Violation::UndefinedSymbol => Error::rejected(format!(
            "Unexpected undefined symbol: `{}'. External symbol in PIE? (referenced at {site}; hint: {})",
            sym.display_name(),
            hints::undefined_symbol(&sym.display_name())
        )),
        Violation::CommonSymbol => Error::rejected(format!(
            "Unsupported COMMON symbol: `{}'. Try initializing the variable (referenced at {site})",
            sym.display_name(),
        )),
        Violation::UnsupportedType => Error::rejected(format!(
            "Unsupported relocation of type {} ({}) at {site}",
            r.r_type,
            describe(r.r_type),
        )),
        Violation::FieldOutsideSection => Error::malformed(format!(
            "relocation at {site} ({}) is outside its section (size {:#x})",
            describe(r.r_type),
            target.size
        )),
        Violation::SymbolSectionOutOfRange => Error::malformed(format!(
            "symbol `{}' has section index {} out of range (e_shnum {})",
            sym.display_name(),
            sym.shndx,
            elf.shnum()
        )),
    }
}

/// The symbol's blob address, in compel's two widths: its section's address plus its
/// value, or the plain value for `SHN_ABS`. The rules have checked its section index.
fn symbol_value(layout: &Layout, sym: &Symbol<'_>) -> (i32, i64) {
    if sym.is_abs() {
        return (sym.value as i32, sym.value as i64);
    }
    let base = layout.addr(usize::from(sym.shndx));
    (
        (base as i32).wrapping_add(sym.value as i32),
        base.wrapping_add(sym.value) as i64,
    )
}
