//! Which function (or, failing that, which symbol) a section offset belongs to.

use std::collections::HashMap;

use object::elf::{STT_FILE, STT_FUNC, STT_SECTION};

use crate::elf::Symbol;
use crate::error::printable;

struct Entry<'a> {
    value: u64,
    size: u64,
    is_func: bool,
    name: &'a [u8],
}

/// Named symbols grouped per section and sorted by value, for offset look-ups.
pub struct Locator<'a> {
    by_section: HashMap<u16, Section<'a>>,
}

#[derive(Default)]
struct Section<'a> {
    entries: Vec<Entry<'a>>,
    /// `func_end[i]`: the largest end of any function among `entries[..=i]`, so a
    /// look-up knows when no function can cover an offset without scanning.
    func_end: Vec<u64>,
}

impl<'a> Locator<'a> {
    pub fn new(symbols: &[Symbol<'a>]) -> Self {
        let mut by_section: HashMap<u16, Vec<Entry<'a>>> = HashMap::new();
        for s in symbols {
            if s.name.is_empty() || s.st_type == STT_SECTION || s.st_type == STT_FILE || s.shndx == 0 {
                continue;
            }
            by_section.entry(s.shndx).or_default().push(Entry {
                value: s.value,
                size: s.size,
                is_func: s.st_type == STT_FUNC,
                name: s.name,
            });
        }
        let by_section = by_section
            .into_iter()
            .map(|(shndx, mut entries)| {
                // Among equal values a function sorts last, so it wins the fallback.
                entries.sort_by_key(|e| (e.value, e.is_func));
                let mut end = 0u64;
                let func_end = entries
                    .iter()
                    .map(|e| {
                        if e.is_func {
                            end = end.max(e.value.saturating_add(e.size.max(1)));
                        }
                        end
                    })
                    .collect();
                (shndx, Section { entries, func_end })
            })
            .collect();
        Locator { by_section }
    }

    /// The `STT_FUNC` symbol of section `shndx` covering `offset`, else the nearest
    /// symbol of that section at or before it.
    pub fn function_at(&self, shndx: usize, offset: u64) -> Option<String> {
        let sec = self.by_section.get(&u16::try_from(shndx).ok()?)?;
        let upto = sec.entries.partition_point(|e| e.value <= offset);
        let preceding = &sec.entries[..upto];
        let last = upto.checked_sub(1)?;
        let covering = if sec.func_end[last] > offset {
            // A zero-sized function still owns the byte it starts at.
            preceding
                .iter()
                .rev()
                .find(|e| e.is_func && offset - e.value < e.size.max(1))
        } else {
            None
        };
        covering.or(preceding.last()).map(|e| printable(e.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::elf::{STT_NOTYPE, STT_OBJECT};

    fn sym(name: &'static [u8], st_type: u8, shndx: u16, value: u64, size: u64) -> Symbol<'static> {
        Symbol {
            index: 0,
            name,
            st_type,
            bind: 0,
            shndx,
            value,
            size,
        }
    }

    #[test]
    fn covering_function_then_nearest_symbol() {
        let syms = [
            sym(b"a", STT_FUNC, 1, 0, 0x10),
            sym(b"b", STT_FUNC, 1, 0x20, 0x10),
            sym(b"label", STT_NOTYPE, 1, 0x24, 0),
            sym(b".text", STT_SECTION, 1, 0, 0),
            sym(b"obj", STT_OBJECT, 2, 8, 8),
        ];
        let l = Locator::new(&syms);
        assert_eq!(l.function_at(1, 0x4).as_deref(), Some("a"));
        assert_eq!(l.function_at(1, 0x28).as_deref(), Some("b"));
        // Past the end of `a`, before `b`: nearest preceding symbol.
        assert_eq!(l.function_at(1, 0x18).as_deref(), Some("a"));
        assert_eq!(l.function_at(2, 0xc).as_deref(), Some("obj"));
        assert_eq!(l.function_at(2, 0x4), None);
        assert_eq!(l.function_at(3, 0), None);
        assert_eq!(l.function_at(1 << 20, 0), None);
    }
}
