//! The object's functions (sized `STT_FUNC` symbols in executable sections) and what its
//! relocations say about code: the target of a call's field, the address in a GOT slot,
//! and which places data refers to (function pointers, jump tables).

use std::collections::{BTreeMap, HashMap};

use object::elf::{SHF_EXECINSTR, STB_GLOBAL, STB_WEAK, STT_FUNC};

use super::frame::{Fixup, Loc, Target};
use crate::elf::{Elf, Reloc, Section};

const R_X86_64_PC32: u32 = 2;
const R_X86_64_PLT32: u32 = 4;
const R_X86_64_GOTPCREL: u32 = 9;
const R_X86_64_GOTPCRELX: u32 = 41;
const R_X86_64_REX_GOTPCRELX: u32 = 42;
const R_X86_64_CODE_4_GOTPCRELX: u32 = 43;

/// One function: where its code is and the name it is shown by.
#[derive(Debug, Clone)]
pub struct Function<'a> {
    pub section: usize,
    pub start: u64,
    pub bytes: &'a [u8],
    /// The symbol's raw name (of aliases at one address, a global one).
    pub name: &'a [u8],
}

/// The functions of an object and its code relocations.
pub struct Functions<'e, 'a> {
    elf: &'e Elf<'a>,
    pub list: Vec<Function<'a>>,
    /// Per section, function start -> index into `list`.
    starts: HashMap<usize, BTreeMap<u64, usize>>,
    /// Relocations of executable sections by (section, field offset).
    code_relocs: HashMap<(usize, u64), Reloc>,
    /// Places in executable sections that non-executable sections refer to.
    data_refs: HashMap<usize, Vec<u64>>,
}

impl<'e, 'a> Functions<'e, 'a> {
    pub fn new(elf: &'e Elf<'a>) -> Self {
        let exec = |i: usize| {
            elf.sections
                .get(i)
                .is_some_and(|s| s.flags & u64::from(SHF_EXECINSTR) != 0 && s.has_file_data())
        };
        let mut list: Vec<Function<'a>> = Vec::new();
        let mut starts: HashMap<usize, BTreeMap<u64, usize>> = HashMap::new();
        for sym in elf.symbols.iter().filter(|s| s.st_type == STT_FUNC && s.size != 0) {
            let section = usize::from(sym.shndx);
            if !exec(section) {
                continue;
            }
            let data = elf.section_data(&elf.sections[section]);
            let Some(bytes) = range(data, sym.value, sym.size) else {
                continue;
            };
            let global = sym.bind == STB_GLOBAL || sym.bind == STB_WEAK;
            let at = starts.entry(section).or_default();
            match at.get(&sym.value) {
                Some(&i) => {
                    // An alias: keep the longer body and a global name.
                    let f = &mut list[i];
                    if bytes.len() > f.bytes.len() {
                        f.bytes = bytes;
                    }
                    if global {
                        f.name = sym.name;
                    }
                }
                None => {
                    at.insert(sym.value, list.len());
                    list.push(Function {
                        section,
                        start: sym.value,
                        bytes,
                        name: sym.name,
                    });
                }
            }
        }

        let mut code_relocs = HashMap::new();
        let mut data_refs: HashMap<usize, Vec<u64>> = HashMap::new();
        for rs in elf.sections.iter().filter(|s| s.is_reloc()) {
            let target = rs.info as usize;
            let Some(ts) = elf.sections.get(target) else { continue };
            // Unwind tables and debug info refer to every function: not a use of one.
            if !ts.is_alloc() || ts.name.starts_with(b".eh_frame") {
                continue;
            }
            let in_code = exec(target);
            for r in elf.relocs(rs) {
                // A field inside a function is an instruction's; anywhere else (data,
                // or tables a linker script put among the code) it is data.
                let in_function = in_code && function_at(&list, &starts, target, r.offset).is_some();
                if in_function {
                    code_relocs.insert((target, r.offset), r);
                } else if let Some(Target::At(l)) = place(elf, ts, &r, 0) {
                    if exec(l.section) {
                        data_refs.entry(l.section).or_default().push(l.offset);
                    }
                }
            }
        }
        for v in data_refs.values_mut() {
            v.sort_unstable();
        }
        Functions {
            elf,
            list,
            starts,
            code_relocs,
            data_refs,
        }
    }

    /// The function starting at `l`, else the one whose body holds it.
    pub fn at(&self, l: Loc) -> Option<usize> {
        function_at(&self.list, &self.starts, l.section, l.offset)
    }

    /// Whether `l` is exactly a function's start.
    pub fn starts_at(&self, l: Loc) -> Option<usize> {
        self.starts.get(&l.section)?.get(&l.offset).copied()
    }

    /// Whether data refers into the body of function `i` (past its first byte): a jump
    /// table's entries do.
    pub fn has_interior_refs(&self, i: usize) -> bool {
        let f = &self.list[i];
        let Some(refs) = self.data_refs.get(&f.section) else {
            return false;
        };
        let end = f.start.saturating_add(f.bytes.len() as u64);
        let from = refs.partition_point(|&o| o <= f.start);
        refs.get(from).is_some_and(|&o| o < end)
    }

    /// Functions whose start data refers to (function pointers in tables).
    pub fn referenced_by_data(&self) -> impl Iterator<Item = usize> + '_ {
        self.data_refs.iter().flat_map(move |(&section, offs)| {
            offs.iter()
                .filter_map(move |&offset| self.starts_at(Loc { section, offset }))
        })
    }

    /// What the relocation at `field` of `section` makes of that field, `next_ip` being
    /// the offset PC-relative fields count from.
    pub fn fixup(&self, section: usize, field: u64, next_ip: u64) -> Option<Fixup> {
        let r = self.code_relocs.get(&(section, field))?;
        let s = self.elf.sections.get(section)?;
        match r.r_type {
            R_X86_64_PC32 | R_X86_64_PLT32 => {
                place(self.elf, s, r, next_ip.wrapping_sub(field) as i64).map(Fixup::Place)
            }
            R_X86_64_GOTPCREL | R_X86_64_GOTPCRELX | R_X86_64_REX_GOTPCRELX | R_X86_64_CODE_4_GOTPCRELX => {
                // The slot holds the symbol's address; the addend only steers the
                // PC-relative read of the slot.
                symbol_place(self.elf, r.sym, 0).map(Fixup::Slot)
            }
            _ => None,
        }
    }
}

fn function_at(
    list: &[Function<'_>],
    starts: &HashMap<usize, BTreeMap<u64, usize>>,
    section: usize,
    offset: u64,
) -> Option<usize> {
    let (_, &i) = starts.get(&section)?.range(..=offset).next_back()?;
    let f = &list[i];
    (offset - f.start < f.bytes.len() as u64).then_some(i)
}

/// Symbol plus addend plus `adjust`: the place a relocation of `s` refers to.
fn place(elf: &Elf<'_>, s: &Section<'_>, r: &Reloc, adjust: i64) -> Option<Target> {
    let addend = match r.addend {
        Some(a) => a,
        None => implicit_addend(elf, s, r.offset)?,
    };
    symbol_place(elf, r.sym, addend.wrapping_add(adjust))
}

fn symbol_place(elf: &Elf<'_>, sym: usize, add: i64) -> Option<Target> {
    let sym = elf.symbols.get(sym)?;
    if sym.is_undefined() {
        return Some(Target::External(sym.index));
    }
    let section = usize::from(sym.shndx);
    if sym.is_abs() || sym.is_common() || section >= elf.sections.len() {
        return None;
    }
    Some(Target::At(Loc {
        section,
        offset: sym.value.wrapping_add(add as u64),
    }))
}

/// A `SHT_REL` relocation's addend: the 4 bytes it relocates, sign-extended.
fn implicit_addend(elf: &Elf<'_>, s: &Section<'_>, offset: u64) -> Option<i64> {
    let bytes = range(elf.section_data(s), offset, 4)?;
    Some(i64::from(i32::from_le_bytes(bytes.try_into().ok()?)))
}

fn range(data: &[u8], offset: u64, size: u64) -> Option<&[u8]> {
    let end = offset.checked_add(size)?;
    data.get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?)
}
