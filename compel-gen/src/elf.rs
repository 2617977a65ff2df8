//! A validated view of an x86-64 ELF64 relocatable object.
//!
//! Everything later stages index is checked here once, against the file length:
//! the section header table, section names, the data of every section that has file
//! bytes, the symbol table with its names, and every relocation's symbol index. After
//! [`Elf::parse`] succeeds, the rest of the crate can index without further checks,
//! except where a value only matters to one consumer (a relocation's target section,
//! the bytes behind a `SHT_NOBITS` section), which is left to that consumer.

use std::ops::Range;

use object::elf::{
    FileHeader64, Rel64, Rela64, SectionHeader64, Sym64, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG,
    EM_X86_64, ET_REL, EV_CURRENT, SHF_ALLOC, SHN_ABS, SHN_COMMON, SHN_UNDEF, SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA,
    SHT_SYMTAB,
};
use object::{LittleEndian as LE, ReadRef};

use crate::error::{printable, Error};

const EHDR_SIZE: usize = std::mem::size_of::<FileHeader64<LE>>();
const SHDR_SIZE: u64 = std::mem::size_of::<SectionHeader64<LE>>() as u64;
const SYM_SIZE: u64 = std::mem::size_of::<Sym64<LE>>() as u64;
const REL_SIZE: u64 = std::mem::size_of::<Rel64<LE>>() as u64;
const RELA_SIZE: u64 = std::mem::size_of::<Rela64<LE>>() as u64;

/// One section header, with its name resolved.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub index: usize,
    pub name: &'a [u8],
    pub sh_type: u32,
    pub flags: u64,
    /// `sh_addr` as stored in the file (the `layout` module assigns the address compel uses).
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub addralign: u64,
    pub entsize: u64,
}

impl Section<'_> {
    pub fn is_alloc(&self) -> bool {
        self.flags & u64::from(SHF_ALLOC) != 0
    }

    /// Whether the section occupies bytes of the file (and so was bounds-checked).
    pub fn has_file_data(&self) -> bool {
        self.sh_type != SHT_NOBITS && self.sh_type != SHT_NULL
    }

    pub fn is_reloc(&self) -> bool {
        self.sh_type == SHT_REL || self.sh_type == SHT_RELA
    }

    /// The section name for messages.
    pub fn display_name(&self) -> String {
        printable(self.name)
    }
}

/// One symbol table entry, with its name resolved.
#[derive(Debug, Clone)]
pub struct Symbol<'a> {
    pub index: usize,
    pub name: &'a [u8],
    pub st_type: u8,
    pub bind: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

impl Symbol<'_> {
    pub fn is_undefined(&self) -> bool {
        self.shndx == SHN_UNDEF
    }

    pub fn is_common(&self) -> bool {
        self.shndx == SHN_COMMON
    }

    pub fn is_abs(&self) -> bool {
        self.shndx == SHN_ABS
    }

    pub fn display_name(&self) -> String {
        printable(self.name)
    }
}

/// One relocation entry. `sym` is a checked index into [`Elf::symbols`].
#[derive(Debug, Clone, Copy)]
pub struct Reloc {
    pub offset: u64,
    pub sym: usize,
    pub r_type: u32,
    /// The explicit addend of a `SHT_RELA` entry; `None` for `SHT_REL`, whose addend
    /// lives in the relocated bytes.
    pub addend: Option<i64>,
}

/// The parsed object.
#[derive(Debug, Clone)]
pub struct Elf<'a> {
    pub data: &'a [u8],
    pub ident: [u8; 16],
    pub sections: Vec<Section<'a>>,
    /// Index of the symbol table section (the last `SHT_SYMTAB`, as compel picks it).
    pub symtab: Option<usize>,
    pub symbols: Vec<Symbol<'a>>,
}

impl<'a> Elf<'a> {
    /// Parse and validate `data`; any inconsistency is an [`Error`] naming what is wrong.
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        let ident = check_ident(data)?;
        let hdr: &FileHeader64<LE> = data.read_at(0).map_err(|()| Error::malformed("truncated ELF header"))?;
        check_header(hdr)?;
        let headers = section_headers(data, hdr)?;

        let shstrndx = usize::from(hdr.e_shstrndx.get(LE));
        if shstrndx == 0 || shstrndx >= headers.len() {
            return Err(Error::malformed(format!(
                "e_shstrndx {shstrndx} is not a section index (e_shnum {})",
                headers.len()
            )));
        }
        let sh = &headers[shstrndx];
        let shstrtab = byte_range(data, sh.sh_offset.get(LE), sh.sh_size.get(LE))
            .ok_or_else(|| Error::malformed("section name string table is past the end of the file"))?;
        let shstrtab = &data[shstrtab];

        let mut sections = Vec::with_capacity(headers.len());
        for (index, sh) in headers.iter().enumerate() {
            let name = cstr_at(shstrtab, u64::from(sh.sh_name.get(LE))).ok_or_else(|| {
                Error::malformed(format!(
                    "section {index}: name offset {:#x} is outside the section name string table",
                    sh.sh_name.get(LE)
                ))
            })?;
            sections.push(Section {
                index,
                name,
                sh_type: sh.sh_type.get(LE),
                flags: sh.sh_flags.get(LE),
                addr: sh.sh_addr.get(LE),
                offset: sh.sh_offset.get(LE),
                size: sh.sh_size.get(LE),
                link: sh.sh_link.get(LE),
                info: sh.sh_info.get(LE),
                addralign: sh.sh_addralign.get(LE),
                entsize: sh.sh_entsize.get(LE),
            });
        }
        check_section_data(data, &sections)?;

        let symtab = sections.iter().rev().find(|s| s.sh_type == SHT_SYMTAB).map(|s| s.index);
        let symbols = match symtab {
            Some(i) => parse_symbols(data, &sections, &sections[i])?,
            None => Vec::new(),
        };

        let elf = Elf {
            data,
            ident,
            sections,
            symtab,
            symbols,
        };
        for s in elf.sections.iter().filter(|s| s.is_reloc()) {
            elf.check_reloc_section(s)?;
        }
        Ok(elf)
    }

    /// Number of section headers (`e_shnum`).
    pub fn shnum(&self) -> usize {
        self.sections.len()
    }

    /// The bytes of a section that has file data (validated by `parse`); empty otherwise.
    pub fn section_data(&self, s: &Section<'_>) -> &'a [u8] {
        if !s.has_file_data() {
            return &[];
        }
        byte_range(self.data, s.offset, s.size).map_or(&[][..], |r| &self.data[r])
    }

    /// The relocations of a `SHT_REL`/`SHT_RELA` section, in file order.
    ///
    /// `parse` validated the entry size, bounds and symbol indexes of every relocation
    /// section, so this yields plain values.
    pub fn relocs(&self, s: &Section<'_>) -> impl Iterator<Item = Reloc> + 'a {
        let is_rela = s.sh_type == SHT_RELA;
        let entsize = if is_rela { RELA_SIZE } else { REL_SIZE } as usize;
        let bytes = if s.is_reloc() { self.section_data(s) } else { &[] };
        bytes.chunks_exact(entsize).map(move |e| decode_reloc(e, is_rela))
    }

    fn check_reloc_section(&self, s: &Section<'_>) -> Result<(), Error> {
        let want = if s.sh_type == SHT_RELA { RELA_SIZE } else { REL_SIZE };
        if s.entsize != want {
            return Err(Error::malformed(format!(
                "relocation section {} (`{}'): sh_entsize {} (expected {want})",
                s.index,
                s.display_name(),
                s.entsize
            )));
        }
        for (k, r) in self.relocs(s).enumerate() {
            if r.sym >= self.symbols.len() {
                let what = if self.symtab.is_none() {
                    "but the object has no symbol table".to_string()
                } else {
                    format!("out of range (symbol table has {} entries)", self.symbols.len())
                };
                return Err(Error::malformed(format!(
                    "relocation {k} in section {} (`{}'): symbol index {} {what}",
                    s.index,
                    s.display_name(),
                    r.sym
                )));
            }
        }
        Ok(())
    }
}

/// Check `e_ident`: magic, class, byte order and version, each with its own message.
fn check_ident(data: &[u8]) -> Result<[u8; 16], Error> {
    if data.len() < ELFMAG.len() || data[..ELFMAG.len()] != ELFMAG {
        return Err(Error::unsupported("not an ELF file (bad magic)"));
    }
    let Some(ident) = data.get(..16) else {
        return Err(Error::malformed(format!(
            "truncated ELF identification ({} bytes)",
            data.len()
        )));
    };
    match ident[4] {
        ELFCLASS64 => {}
        ELFCLASS32 => return Err(Error::unsupported("ELFCLASS32 object: only ELF64 is supported")),
        c => return Err(Error::malformed(format!("invalid ELF class {c}"))),
    }
    match ident[5] {
        ELFDATA2LSB => {}
        ELFDATA2MSB => return Err(Error::unsupported("big-endian object: only little-endian is supported")),
        d => return Err(Error::malformed(format!("invalid ELF data encoding {d}"))),
    }
    if ident[6] != EV_CURRENT {
        return Err(Error::malformed(format!(
            "invalid ELF identification version {}",
            ident[6]
        )));
    }
    if data.len() < EHDR_SIZE {
        return Err(Error::malformed(format!(
            "truncated ELF header ({} bytes, need {EHDR_SIZE})",
            data.len()
        )));
    }
    let mut out = [0u8; 16];
    out.copy_from_slice(ident);
    Ok(out)
}

fn check_header(hdr: &FileHeader64<LE>) -> Result<(), Error> {
    let machine = hdr.e_machine.get(LE);
    if machine != EM_X86_64 {
        return Err(Error::unsupported(format!("e_machine {machine} is not x86-64 (62)")));
    }
    let ty = hdr.e_type.get(LE);
    if ty != ET_REL {
        return Err(Error::unsupported(format!(
            "e_type {ty} is not ET_REL: a relocatable object (ld -r output) is needed"
        )));
    }
    let version = hdr.e_version.get(LE);
    if version != u32::from(EV_CURRENT) {
        return Err(Error::malformed(format!("invalid e_version {version}")));
    }
    Ok(())
}

/// The section header table, checked to lie inside the file.
fn section_headers<'a>(data: &'a [u8], hdr: &FileHeader64<LE>) -> Result<&'a [SectionHeader64<LE>], Error> {
    let shnum = hdr.e_shnum.get(LE);
    let shoff = hdr.e_shoff.get(LE);
    if shnum == 0 {
        // Extended numbering (the count in section 0) is never produced for the small
        // objects compel handles, and compel itself does not support it.
        return Err(Error::malformed("no section headers (e_shnum is 0)"));
    }
    let shentsize = hdr.e_shentsize.get(LE);
    if u64::from(shentsize) != SHDR_SIZE {
        return Err(Error::malformed(format!(
            "e_shentsize {shentsize} (expected {SHDR_SIZE})"
        )));
    }
    let end = u64::from(shnum)
        .checked_mul(SHDR_SIZE)
        .and_then(|n| n.checked_add(shoff));
    match end {
        Some(end) if end <= data.len() as u64 => {}
        _ => {
            return Err(Error::malformed(format!(
                "section header table (e_shoff {shoff:#x}, e_shnum {shnum}) is past the end of the file ({:#x} bytes)",
                data.len()
            )))
        }
    }
    data.read_slice_at(shoff, usize::from(shnum))
        .map_err(|()| Error::malformed("section header table is past the end of the file"))
}

/// Every section with file bytes must lie inside the file, and sections must not share
/// bytes: their sizes may not add up to more than the file. The latter bounds all work
/// done per section byte or per relocation by the file length.
fn check_section_data(data: &[u8], sections: &[Section<'_>]) -> Result<(), Error> {
    let mut total: u64 = 0;
    for s in sections.iter().filter(|s| s.has_file_data()) {
        if byte_range(data, s.offset, s.size).is_none() {
            return Err(Error::malformed(format!(
                "section {} (`{}'): data at offset {:#x} size {:#x} is past the end of the file ({:#x} bytes)",
                s.index,
                s.display_name(),
                s.offset,
                s.size,
                data.len()
            )));
        }
        total = total.saturating_add(s.size);
    }
    if total > data.len() as u64 {
        return Err(Error::malformed(format!(
            "section data overlaps: sizes add up to {total:#x} bytes in a {:#x}-byte file",
            data.len()
        )));
    }
    Ok(())
}

fn parse_symbols<'a>(data: &'a [u8], sections: &[Section<'a>], symtab: &Section<'a>) -> Result<Vec<Symbol<'a>>, Error> {
    if symtab.entsize != SYM_SIZE {
        return Err(Error::malformed(format!(
            "symbol table sh_entsize {} (expected {SYM_SIZE})",
            symtab.entsize
        )));
    }
    let link = symtab.link as usize;
    let strtab = match sections.get(link) {
        Some(s) if link != 0 && s.has_file_data() => s,
        _ => {
            return Err(Error::malformed(format!(
                "symbol table sh_link {link} is not a string table section"
            )))
        }
    };
    let strings = byte_range(data, strtab.offset, strtab.size).map_or(&[][..], |r| &data[r]);
    // Both ranges were checked by check_section_data; the count is bounded by the file.
    let count = (symtab.size / SYM_SIZE) as usize;
    let raw: &[Sym64<LE>] = data
        .read_slice_at(symtab.offset, count)
        .map_err(|()| Error::malformed("symbol table is past the end of the file"))?;
    let mut symbols = Vec::with_capacity(count);
    for (index, sym) in raw.iter().enumerate() {
        let name = cstr_at(strings, u64::from(sym.st_name.get(LE))).ok_or_else(|| {
            Error::malformed(format!(
                "symbol {index}: name offset {:#x} is outside the string table",
                sym.st_name.get(LE)
            ))
        })?;
        symbols.push(Symbol {
            index,
            name,
            st_type: sym.st_info & 0xf,
            bind: sym.st_info >> 4,
            shndx: sym.st_shndx.get(LE),
            value: sym.st_value.get(LE),
            size: sym.st_size.get(LE),
        });
    }
    Ok(symbols)
}

fn decode_reloc(entry: &[u8], is_rela: bool) -> Reloc {
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&entry[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    let info = word(1);
    Reloc {
        offset: word(0),
        sym: (info >> 32) as usize,
        r_type: info as u32,
        addend: is_rela.then(|| word(2) as i64),
    }
}

/// `[offset, offset + size)` as a range of `data`, if it lies inside it.
pub(crate) fn byte_range(data: &[u8], offset: u64, size: u64) -> Option<Range<usize>> {
    let end = offset.checked_add(size)?;
    if end > data.len() as u64 {
        return None;
    }
    Some(offset as usize..end as usize)
}

/// A NUL-terminated string starting at `offset` inside `table`.
fn cstr_at(table: &[u8], offset: u64) -> Option<&[u8]> {
    let rest = table.get(usize::try_from(offset).ok()?..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cstr_at_needs_a_terminator_inside_the_table() {
        assert_eq!(cstr_at(b"\0abc\0", 1), Some(&b"abc"[..]));
        assert_eq!(cstr_at(b"\0abc", 1), None);
        assert_eq!(cstr_at(b"\0abc\0", 5), None);
        assert_eq!(cstr_at(b"\0abc\0", u64::MAX), None);
    }

    #[test]
    fn byte_range_rejects_overflow_and_overrun() {
        assert_eq!(byte_range(&[0; 8], 2, 6), Some(2..8));
        assert_eq!(byte_range(&[0; 8], 2, 7), None);
        assert_eq!(byte_range(&[0; 8], u64::MAX, 2), None);
    }

    #[test]
    fn rejects_non_elf_and_short_input() {
        assert!(Elf::parse(b"").is_err());
        assert!(Elf::parse(b"\x7fELF").is_err());
        assert!(Elf::parse(b"MZ\x90\x00").is_err());
        let mut ident = [0u8; 64];
        ident[..4].copy_from_slice(b"\x7fELF");
        ident[4] = ELFCLASS64;
        ident[5] = ELFDATA2LSB;
        ident[6] = EV_CURRENT;
        assert!(Elf::parse(&ident[..40]).unwrap_err().to_string().contains("truncated"));
    }
}
