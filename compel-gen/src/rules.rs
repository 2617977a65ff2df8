//! compel's acceptance rules for one relocation: what it refuses (undefined and COMMON
//! symbols, unsupported types), and what would make the object unusable (a field
//! outside its section, a symbol in a section that does not exist).
//!
//! The audit reports every violation; hgen stops at the first, in compel's order.

use std::ops::Range;

use crate::elf::{byte_range, Elf, Reloc, Section};
use crate::relocs::{self, Action};

/// One rule a relocation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Its symbol is undefined: nothing resolves it at run time.
    UndefinedSymbol,
    /// Its symbol is COMMON: compel allocates no storage for it.
    CommonSymbol,
    /// Its symbol's section index does not exist.
    SymbolSectionOutOfRange,
    /// compel does not handle its type.
    UnsupportedType,
    /// The field it relocates is not inside its section (or the file).
    FieldOutsideSection,
}

impl Violation {
    /// Whether the violation is about the relocation's symbol rather than the relocation.
    pub fn is_about_symbol(self) -> bool {
        matches!(
            self,
            Violation::UndefinedSymbol | Violation::CommonSymbol | Violation::SymbolSectionOutOfRange
        )
    }
}

/// A relocation that breaks no rule: what compel does with it, and where its field is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub action: Action,
    /// The field's bytes in the file (and in any same-sized copy of it).
    pub range: Range<usize>,
}

/// The rules applied to one relocation: at most one violation about its symbol and one
/// about its type or place.
#[derive(Debug, Clone)]
pub struct Check {
    symbol: Option<Violation>,
    field: Result<Field, Violation>,
}

/// Apply the rules to relocation `r`, which applies to section `target` of `elf`.
pub fn check(elf: &Elf<'_>, target: &Section<'_>, r: &Reloc) -> Check {
    let sym = &elf.symbols[r.sym];
    let symbol = if sym.is_undefined() {
        Some(Violation::UndefinedSymbol)
    } else if sym.is_common() {
        Some(Violation::CommonSymbol)
    } else if !sym.is_abs() && usize::from(sym.shndx) >= elf.shnum() {
        Some(Violation::SymbolSectionOutOfRange)
    } else {
        None
    };
    let field = match relocs::action(r.r_type) {
        None => Err(Violation::UnsupportedType),
        Some(action) => field_range(elf.data, target, r.offset, action.width())
            .map(|range| Field { action, range })
            .ok_or(Violation::FieldOutsideSection),
    };
    Check { symbol, field }
}

impl Check {
    /// Every violation, in the order compel meets them: an undefined or COMMON symbol,
    /// then the type and the field, then (when the symbol's value is needed) its section.
    pub fn violations(&self) -> impl Iterator<Item = Violation> + '_ {
        let early = self.symbol.filter(|&v| v != Violation::SymbolSectionOutOfRange);
        let late = self.symbol.filter(|&v| v == Violation::SymbolSectionOutOfRange);
        early.into_iter().chain(self.field.as_ref().err().copied()).chain(late)
    }

    /// The relocation's field, or the first violation.
    pub fn accepted(self) -> Result<Field, Violation> {
        let first = self.violations().next();
        match first {
            Some(v) => Err(v),
            None => self.field,
        }
    }
}

/// The file bytes of a relocated field: inside its section and inside the file.
fn field_range(data: &[u8], target: &Section<'_>, offset: u64, width: u64) -> Option<Range<usize>> {
    if offset.checked_add(width)? > target.size {
        return None;
    }
    byte_range(data, target.offset.checked_add(offset)?, width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_of(symbol: Option<Violation>, field: Result<Field, Violation>) -> Check {
        Check { symbol, field }
    }

    fn ok() -> Result<Field, Violation> {
        Ok(Field {
            action: Action::Int32,
            range: 4..8,
        })
    }

    #[test]
    fn violations_in_compel_order() {
        use Violation::*;
        let all = |c: &Check| c.violations().collect::<Vec<_>>();
        let c = check_of(Some(UndefinedSymbol), Err(UnsupportedType));
        assert_eq!(all(&c), [UndefinedSymbol, UnsupportedType]);
        assert_eq!(c.accepted().unwrap_err(), UndefinedSymbol);
        let c = check_of(Some(SymbolSectionOutOfRange), Err(FieldOutsideSection));
        assert_eq!(all(&c), [FieldOutsideSection, SymbolSectionOutOfRange]);
        assert_eq!(c.accepted().unwrap_err(), FieldOutsideSection);
        let c = check_of(Some(SymbolSectionOutOfRange), ok());
        assert_eq!(c.accepted().unwrap_err(), SymbolSectionOutOfRange);
        let c = check_of(Some(CommonSymbol), ok());
        assert_eq!(all(&c), [CommonSymbol]);
        let c = check_of(None, ok());
        assert_eq!(all(&c), []);
        assert_eq!(c.accepted().unwrap().range, 4..8);
    }

    #[test]
    fn field_must_lie_in_section_and_file() {
        let target = Section {
            index: 1,
            name: b".text",
            sh_type: object::elf::SHT_PROGBITS,
            flags: 0,
            addr: 0,
            offset: 8,
            size: 8,
            link: 0,
            info: 0,
            addralign: 1,
            entsize: 0,
        };
        let data = [0u8; 16];
        assert_eq!(field_range(&data, &target, 4, 4), Some(12..16));
        assert_eq!(field_range(&data, &target, 5, 4), None);
        assert_eq!(field_range(&data, &target, u64::MAX, 4), None);
        assert_eq!(field_range(&data[..15], &target, 4, 4), None);
    }
}
