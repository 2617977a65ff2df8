//! x86-64 relocation types as compel sees them: their psABI names, which ones compel
//! supports and what each supported one turns into.

use object::elf::*;

/// `R_X86_64_CODE_4_GOTPCRELX` (psABI 1.0, 2023): newer than `object`'s list.
const R_X86_64_CODE_4_GOTPCRELX: u32 = 43;

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

/// The types compel supports, in the order its hint lists them.
const SUPPORTED: [(u32, Action); 8] = [
    (R_X86_64_32, Action::Int32),
    (R_X86_64_32S, Action::Int32),
    (R_X86_64_64, Action::Long64),
    (R_X86_64_PC32, Action::PatchPc32),
    (R_X86_64_PLT32, Action::PatchPc32),
    (R_X86_64_GOTPCREL, Action::GotPcRel),
    (R_X86_64_GOTPCRELX, Action::GotPcRel),
    (R_X86_64_REX_GOTPCRELX, Action::GotPcRel),
];

/// What compel does with a relocation type; `None` where it refuses the type.
pub fn action(r_type: u32) -> Option<Action> {
    SUPPORTED.iter().find(|&&(t, _)| t == r_type).map(|&(_, a)| a)
}

/// The supported types' names, in the order compel's hint lists them.
pub fn supported_names() -> impl Iterator<Item = &'static str> {
    SUPPORTED.iter().filter_map(|&(t, _)| type_name(t))
}

/// Each constant next to its own name, so a name cannot drift from its value.
macro_rules! named {
    ($($name:ident),* $(,)?) => {
        [$(($name, stringify!($name))),*]
    };
}

/// Every x86-64 type the psABI names (39 and 40, once the MPX `_BND` types, have none).
const NAMES: [(u32, &str); 42] = named![
    R_X86_64_NONE,
    R_X86_64_64,
    R_X86_64_PC32,
    R_X86_64_GOT32,
    R_X86_64_PLT32,
    R_X86_64_COPY,
    R_X86_64_GLOB_DAT,
    R_X86_64_JUMP_SLOT,
    R_X86_64_RELATIVE,
    R_X86_64_GOTPCREL,
    R_X86_64_32,
    R_X86_64_32S,
    R_X86_64_16,
    R_X86_64_PC16,
    R_X86_64_8,
    R_X86_64_PC8,
    R_X86_64_DTPMOD64,
    R_X86_64_DTPOFF64,
    R_X86_64_TPOFF64,
    R_X86_64_TLSGD,
    R_X86_64_TLSLD,
    R_X86_64_DTPOFF32,
    R_X86_64_GOTTPOFF,
    R_X86_64_TPOFF32,
    R_X86_64_PC64,
    R_X86_64_GOTOFF64,
    R_X86_64_GOTPC32,
    R_X86_64_GOT64,
    R_X86_64_GOTPCREL64,
    R_X86_64_GOTPC64,
    R_X86_64_GOTPLT64,
    R_X86_64_PLTOFF64,
    R_X86_64_SIZE32,
    R_X86_64_SIZE64,
    R_X86_64_GOTPC32_TLSDESC,
    R_X86_64_TLSDESC_CALL,
    R_X86_64_TLSDESC,
    R_X86_64_IRELATIVE,
    R_X86_64_RELATIVE64,
    R_X86_64_GOTPCRELX,
    R_X86_64_REX_GOTPCRELX,
    R_X86_64_CODE_4_GOTPCRELX,
];

/// The psABI name of an x86-64 relocation type, if it has one.
pub fn type_name(r_type: u32) -> Option<&'static str> {
    NAMES.iter().find(|&&(t, _)| t == r_type).map(|&(_, n)| n)
}

/// A relocation type for messages: its name, else its number.
pub fn describe(r_type: u32) -> String {
    type_name(r_type).map_or_else(|| format!("relocation type {r_type}"), str::to_string)
}

/// Whether a relocation type is one of the thread-local-storage family.
pub fn is_tls(r_type: u32) -> bool {
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

    #[test]
    fn names_are_the_psabi_numbering() {
        // Types 0..=43 are numbered without gaps except the two retired ones.
        let numbered: Vec<u32> = NAMES.iter().map(|&(t, _)| t).collect();
        let expected: Vec<u32> = (0..=43).filter(|t| !matches!(t, 39 | 40)).collect();
        assert_eq!(numbered, expected);
        assert_eq!(type_name(43), Some("R_X86_64_CODE_4_GOTPCRELX"));
        assert_eq!(type_name(40), None);
        assert_eq!(type_name(44), None);
    }

    #[test]
    fn every_supported_type_has_a_name() {
        assert_eq!(supported_names().count(), SUPPORTED.len());
    }
}
