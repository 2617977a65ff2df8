//! Section addresses as compel assigns them.
//!
//! compel ignores the `sh_addr` a linker may have precomputed for `SHF_ALLOC` sections:
//! it lays them out itself, in section-header order, each one at the next multiple of
//! its `sh_addralign` (when non-zero), starting from 0. Sections without `SHF_ALLOC`
//! keep the `sh_addr` stored in the file, which still matters: compel uses it as the
//! base of symbols and relocations in such sections.

use crate::elf::Section;
use crate::error::Error;

/// The address of every section, indexed like [`crate::elf::Elf::sections`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub addrs: Vec<u64>,
    /// One past the last byte of the last `SHF_ALLOC` section.
    pub end: u64,
}

impl Layout {
    pub fn addr(&self, index: usize) -> u64 {
        self.addrs.get(index).copied().unwrap_or(0)
    }
}

/// Lay out the sections; fails only if an address would overflow 64 bits.
pub fn layout(sections: &[Section<'_>]) -> Result<Layout, Error> {
    let mut addrs = Vec::with_capacity(sections.len());
    let mut k: u64 = 0;
    for s in sections {
        if !s.is_alloc() {
            addrs.push(s.addr);
            continue;
        }
        let overflow = || {
            Error::malformed(format!(
                "section {} (`{}'): address overflows (sh_addralign {:#x}, sh_size {:#x})",
                s.index,
                s.display_name(),
                s.addralign,
                s.size
            ))
        };
        // Alignments need not be powers of two here: compel rounds up with `%`.
        if s.addralign > 0 && !k.is_multiple_of(s.addralign) {
            k = k.checked_add(s.addralign - k % s.addralign).ok_or_else(overflow)?;
        }
        addrs.push(k);
        k = k.checked_add(s.size).ok_or_else(overflow)?;
    }
    Ok(Layout { addrs, end: k })
}

#[cfg(test)]
mod tests {
    use super::*;
    use object::elf::{SHF_ALLOC, SHT_PROGBITS};

    fn sec(index: usize, alloc: bool, addr: u64, size: u64, addralign: u64) -> Section<'static> {
        Section {
            index,
            name: b"s",
            sh_type: SHT_PROGBITS,
            flags: if alloc { u64::from(SHF_ALLOC) } else { 0 },
            addr,
            offset: 0,
            size,
            link: 0,
            info: 0,
            addralign,
            entsize: 0,
        }
    }

    #[test]
    fn alloc_sections_are_packed_with_alignment() {
        let l = layout(&[
            sec(0, false, 0, 0, 0),
            sec(1, true, 0x999, 0x21, 16),
            sec(2, false, 0x1234, 0x10, 1),
            sec(3, true, 0, 0x10, 0x1000),
            sec(4, true, 0, 3, 0),
            sec(5, true, 0, 1, 6),
        ])
        .unwrap();
        assert_eq!(l.addrs, vec![0, 0, 0x1234, 0x1000, 0x1010, 0x1014]);
        assert_eq!(l.end, 0x1015);
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(layout(&[sec(0, true, 0, u64::MAX, 1), sec(1, true, 0, 2, 1)]).is_err());
        assert!(layout(&[sec(0, true, 0, 3, 1), sec(1, true, 0, 1, u64::MAX)]).is_err());
    }
}
