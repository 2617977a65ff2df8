//! x86-64 relocations as compel handles them: which types it supports, what each turns
//! into, and the evaluation that produces compel's relocation table and patches the
//! PC-relative ones in place.

use crate::elf::{byte_range, Elf, Reloc, Section, Symbol};
use crate::error::{printable, Error};
use crate::layout::Layout;

/// What compel does with a supported relocation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// R_X86_64_32 / 32S: a `COMPEL_TYPE_INT` table entry.
    Int32,
    /// R_X86_64_64: a `COMPEL_TYPE_LONG` table entry.
    Long64,
    /// R_X86_64_GOTPCREL / GOTPCRELX / REX_GOTPCRELX: a `COMPEL_TYPE_LONG |
    /// COMPEL_TYPE_GOTPCREL` entry and one GOT slot.
    GotPcRel,
    /// R_X86_64_PC32 / PLT32: resolved now, patched into the blob, no table entry.
    PatchPc32,
}

impl Action {
    /// Bytes of the relocated field compel reads (for `SHT_REL` addends) or writes.
    pub fn width(self) -> u64 {
        match self {
            Action::Long64 => 8,
            _ => 4,
        }
    }
}

pub fn action(r_type: u32) -> Option<Action> {
    use object::elf::*;
    match r_type {
        R_X86_64_32 | R_X86_64_32S => Some(Action::Int32),
        R_X86_64_64 => Some(Action::Long64),
        R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX => Some(Action::GotPcRel),
        R_X86_64_PC32 | R_X86_64_PLT32 => Some(Action::PatchPc32),
        _ => None,
    }
}

/// The psABI name of an x86-64 relocation type, if it has one.
pub fn type_name(r_type: u32) -> Option<&'static str> {
    const NAMES: [&str; 44] = [
        "R_X86_64_NONE",
        "R_X86_64_64",
        "R_X86_64_PC32",
        "R_X86_64_GOT32",
        "R_X86_64_PLT32",
        "R_X86_64_COPY",
        "R_X86_64_GLOB_DAT",
        "R_X86_64_JUMP_SLOT",
        "R_X86_64_RELATIVE",
        "R_X86_64_GOTPCREL",
        "R_X86_64_32",
        "R_X86_64_32S",
        "R_X86_64_16",
        "R_X86_64_PC16",
        "R_X86_64_8",
        "R_X86_64_PC8",
        "R_X86_64_DTPMOD64",
        "R_X86_64_DTPOFF64",
        "R_X86_64_TPOFF64",
        "R_X86_64_TLSGD",
        "R_X86_64_TLSLD",
        "R_X86_64_DTPOFF32",
        "R_X86_64_GOTTPOFF",
        "R_X86_64_TPOFF32",
        "R_X86_64_PC64",
        "R_X86_64_GOTOFF64",
        "R_X86_64_GOTPC32",
        "R_X86_64_GOT64",
        "R_X86_64_GOTPCREL64",
        "R_X86_64_GOTPC64",
        "R_X86_64_GOTPLT64",
        "R_X86_64_PLTOFF64",
        "R_X86_64_SIZE32",
        "R_X86_64_SIZE64",
        "R_X86_64_GOTPC32_TLSDESC",
        "R_X86_64_TLSDESC_CALL",
        "R_X86_64_TLSDESC",
        "R_X86_64_IRELATIVE",
        "R_X86_64_RELATIVE64",
        "",
        "",
        "R_X86_64_GOTPCRELX",
        "R_X86_64_REX_GOTPCRELX",
        "R_X86_64_CODE_4_GOTPCRELX",
    ];
    NAMES.get(r_type as usize).copied().filter(|n| !n.is_empty())
}

/// A relocation type for messages: its name, else its number.
pub fn describe(r_type: u32) -> String {
    type_name(r_type).map_or_else(|| format!("relocation type {r_type}"), str::to_string)
}

/// Whether a relocation type is one of the thread-local-storage family.
pub fn is_tls(r_type: u32) -> bool {
    use object::elf::*;
    matches!(
        r_type,
        R_X86_64_DTPMOD64
            | R_X86_64_DTPOFF64
            | R_X86_64_TPOFF64
            | R_X86_64_TLSGD
            | R_X86_64_TLSLD
            | R_X86_64_DTPOFF32
            | R_X86_64_GOTTPOFF
            | R_X86_64_TPOFF32
            | R_X86_64_GOTPC32_TLSDESC
            | R_X86_64_TLSDESC_CALL
            | R_X86_64_TLSDESC
    )
}

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
    let sym = &elf.symbols[r.sym];
    let site = || format!("{}+{:#x}", target.display_name(), r.offset);
    if sym.is_undefined() {
        return Err(Error::rejected(format!(
            "Unexpected undefined symbol: `{}'. External symbol in PIE? (referenced at {}; hint: {})",
            sym.display_name(),
            site(),
            crate::hints::undefined_symbol(&sym.display_name())
        )));
    }
    if sym.is_common() {
        return Err(Error::rejected(format!(
            "Unsupported COMMON symbol: `{}'. Try initializing the variable (referenced at {})",
            sym.display_name(),
            site()
        )));
    }
    let action = action(r.r_type).ok_or_else(|| {
        Error::rejected(format!(
            "Unsupported relocation of type {} ({}) at {}",
            r.r_type,
            describe(r.r_type),
            site()
        ))
    })?;
    let field = field_range(image, target, r.offset, action.width()).ok_or_else(|| {
        Error::malformed(format!(
            "relocation at {} ({}) is outside its section (size {:#x})",
            site(),
            describe(r.r_type),
            target.size
        ))
    })?;

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
    let (value32, value64) = symbol_value(elf, layout, sym)?;
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

/// The symbol's blob address, in compel's two widths: its section's address plus its
/// value, or the plain value for `SHN_ABS`.
fn symbol_value(elf: &Elf<'_>, layout: &Layout, sym: &Symbol<'_>) -> Result<(i32, i64), Error> {
    if sym.is_abs() {
        return Ok((sym.value as i32, sym.value as i64));
    }
    let index = usize::from(sym.shndx);
    if index >= elf.shnum() {
        return Err(Error::malformed(format!(
            "symbol `{}' has section index {} out of range (e_shnum {})",
            printable(sym.name),
            sym.shndx,
            elf.shnum()
        )));
    }
    let base = layout.addr(index);
    Ok((
        (base as i32).wrapping_add(sym.value as i32),
        base.wrapping_add(sym.value) as i64,
    ))
}

/// The file bytes of a relocated field: inside its section and inside the file.
pub(crate) fn field_range(
    image: &[u8],
    target: &Section<'_>,
    offset: u64,
    width: u64,
) -> Option<std::ops::Range<usize>> {
    if offset.checked_add(width)? > target.size {
        return None;
    }
    byte_range(image, target.offset.checked_add(offset)?, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_types() {
        assert_eq!(action(10), Some(Action::Int32));
        assert_eq!(action(11), Some(Action::Int32));
        assert_eq!(action(1), Some(Action::Long64));
        assert_eq!(action(2), Some(Action::PatchPc32));
        assert_eq!(action(4), Some(Action::PatchPc32));
        assert_eq!(action(9), Some(Action::GotPcRel));
        assert_eq!(action(41), Some(Action::GotPcRel));
        assert_eq!(action(42), Some(Action::GotPcRel));
        for t in [0, 3, 8, 21, 23, 24, 25, 26, 43, 1000] {
            assert_eq!(action(t), None, "type {t}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(type_name(23), Some("R_X86_64_TPOFF32"));
        assert_eq!(type_name(25), Some("R_X86_64_GOTOFF64"));
        assert_eq!(type_name(24), Some("R_X86_64_PC64"));
        assert_eq!(type_name(21), Some("R_X86_64_DTPOFF32"));
        assert_eq!(type_name(26), Some("R_X86_64_GOTPC32"));
        assert_eq!(type_name(42), Some("R_X86_64_REX_GOTPCRELX"));
        assert_eq!(type_name(39), None);
        assert_eq!(describe(500), "relocation type 500");
        assert!(is_tls(23) && !is_tls(2));
    }
}
