//! The vDSO's dynamic symbols, found as CRIU's `vdso_fill_symtable` finds them
//! (`criu/pie/util-vdso.c`): the PT_LOAD and PT_DYNAMIC headers, the dynamic tags, then
//! each of [`SYMBOL_NAMES`] through the SysV hash table (or the GNU one when the vDSO has
//! no DT_HASH).
//!
//! The bytes are untrusted (a dumped vDSO is restored from the image), so every read is
//! checked against the slice: a bad header, offset or table is an `Err`, never a fault,
//! a panic or an endless walk. Only the 64-bit ELF layout is read: a compat (32-bit)
//! vDSO is refused by the caller.

use criu_abi::raw::vdso_symbol;

use super::{SymbolTable, SYMBOL_NAMES, VDSO_BAD_ADDR};
use crate::error::Result;
use crate::log::Hex;
use crate::{bail, pr_debug};

/// The first 16 bytes a 64-bit little-endian ELF starts with (class, data, version,
/// then zero padding): the whole `e_ident` must be exactly this.
const IDENT: [u8; 16] = [0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];

// Sizes of the ELF64 records read here.
const EHDR_SIZE: u64 = 64;
const PHDR_SIZE: u64 = 56;
const DYN_SIZE: u64 = 16;
const SYM_SIZE: u64 = 24;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;

const DT_NULL: u64 = 0;
const DT_HASH: u64 = 4;
const DT_STRTAB: u64 = 5;
const DT_SYMTAB: u64 = 6;
const DT_STRSZ: u64 = 10;
const DT_SYMENT: u64 = 11;
const DT_GNU_HASH: u64 = 0x6fff_fef5;

const STT_FUNC: u8 = 2;
const STB_GLOBAL: u8 = 1;
const STN_UNDEF: u32 = 0;

/// How many bytes of a symbol's name are compared: `vdso_symbol.name` less its NUL.
const NAME_LEN: usize = EMPTY.name.len() - 1;

// CRIU refuses a wanted name longer than `vdso_symbol.name` holds with its NUL.
const _: () = {
    let mut i = 0;
    while i < SYMBOL_NAMES.len() {
        assert!(SYMBOL_NAMES[i].count_bytes() <= NAME_LEN);
        i += 1;
    }
};

/// A symbol the vDSO lacks (CRIU's `VDSO_SYMBOL_INIT`).
const EMPTY: vdso_symbol = vdso_symbol {
    name: [0; _],
    offset: VDSO_BAD_ADDR,
};

/// Checked little-endian reads at byte offsets of an untrusted image.
#[derive(Clone, Copy)]
struct Image<'a>(&'a [u8]);

impl<'a> Image<'a> {
    fn size(self) -> u64 {
        self.0.len() as u64
    }

    /// `len` bytes at `off`, if all of them are inside.
    fn bytes(self, off: u64, len: u64) -> Option<&'a [u8]> {
        let end = off.checked_add(len)?;
        self.0.get(usize::try_from(off).ok()?..usize::try_from(end).ok()?)
    }

    fn array<const N: usize>(self, off: u64) -> Option<[u8; N]> {
        self.bytes(off, N as u64)?.try_into().ok()
    }

    fn u8(self, off: u64) -> Option<u8> {
        self.array::<1>(off).map(|b| b[0])
    }

    fn u16(self, off: u64) -> Option<u16> {
        self.array(off).map(u16::from_le_bytes)
    }

    fn u32(self, off: u64) -> Option<u32> {
        self.array(off).map(u32::from_le_bytes)
    }

    fn u64(self, off: u64) -> Option<u64> {
        self.array(off).map(u64::from_le_bytes)
    }

    /// Whether `off` is inside the image (CRIU's `__ptr_oob` test, negated).
    fn contains(self, off: u64) -> bool {
        off < self.size()
    }
}

/// The two program headers the lookup needs.
#[derive(Clone, Copy)]
struct Phdrs {
    /// PT_LOAD's `p_vaddr`: image offsets are addresses less this.
    load_vaddr: u64,
    /// PT_DYNAMIC's `p_offset` and `p_filesz`.
    dynamic: (u64, u64),
}

fn parse_phdrs(img: Image<'_>) -> Result<Phdrs> {
    if img.size() < EHDR_SIZE {
        bail!("vdso: ", "Corrupted Elf phdr");
    }
    if img.bytes(0, 16) != Some(&IDENT[..]) {
        bail!("vdso: ", "ELF header magic mismatch");
    }
    let (Some(phoff), Some(phnum)) = (img.u64(32), img.u16(56)) else {
        bail!("vdso: ", "Corrupted Elf phdr");
    };
    if !img.contains(phoff) {
        bail!("vdso: ", "Corrupted Elf phdr");
    }
    let (mut load, mut dynamic) = (None, None);
    for i in 0..u64::from(phnum) {
        // phnum is at most 65535 and phoff inside the image: no overflow.
        let ph = phoff + i * PHDR_SIZE;
        let Some(p) = img.bytes(ph, PHDR_SIZE).map(Image) else {
            bail!("vdso: ", "Corrupted Elf phdr");
        };
        let field = |off| p.u64(off).unwrap_or_default();
        match p.u32(0) {
            Some(PT_DYNAMIC) => {
                if dynamic.is_some() {
                    bail!("vdso: ", "Second PT_DYNAMIC header");
                }
                dynamic = Some((field(8), field(32)));
            }
            Some(PT_LOAD) => {
                if load.is_some() {
                    bail!("vdso: ", "Second PT_LOAD header");
                }
                load = Some(field(16));
            }
            _ => {}
        }
    }
    let (Some(load_vaddr), Some(dynamic)) = (load, dynamic) else {
        bail!("vdso: ", "One of obligated program headers is missed");
    };
    pr_debug!("vdso: ", "PT_LOAD p_vaddr: ", Hex(load_vaddr));
    Ok(Phdrs { load_vaddr, dynamic })
}

/// The dynamic tags the lookup needs (their `d_un` values).
struct Dynamic {
    strtab: u64,
    symtab: u64,
    hash: u64,
    gnu_hash: bool,
}

fn parse_dynamic(img: Image<'_>, (offset, filesz): (u64, u64)) -> Result<Dynamic> {
    if !img.contains(offset) {
        bail!("vdso: ", "Corrupted Elf dynamic section");
    }
    let (mut strtab, mut symtab, mut strsz, mut syment, mut sysv, mut gnu) = (None, None, None, None, None, None);
    for i in 0..filesz / DYN_SIZE {
        let d = i.checked_mul(DYN_SIZE).and_then(|o| o.checked_add(offset));
        let Some((tag, val)) = d.and_then(|d| Some((img.u64(d)?, img.u64(d + 8)?))) else {
            bail!("vdso: ", "Corrupted Elf dynamic section");
        };
        // The last of a repeated tag wins, as in CRIU.
        match tag {
            DT_NULL => break,
            DT_STRTAB => {
                strtab = Some(val);
                pr_debug!("vdso: ", "DT_STRTAB: ", Hex(val));
            }
            DT_SYMTAB => {
                symtab = Some(val);
                pr_debug!("vdso: ", "DT_SYMTAB: ", Hex(val));
            }
            DT_STRSZ => {
                strsz = Some(val);
                pr_debug!("vdso: ", "DT_STRSZ: ", Hex(val));
            }
            DT_SYMENT => {
                syment = Some(val);
                pr_debug!("vdso: ", "DT_SYMENT: ", Hex(val));
            }
            DT_HASH => {
                sysv = Some(val);
                pr_debug!("vdso: ", "DT_HASH: ", Hex(val));
            }
            DT_GNU_HASH => {
                gnu = Some(val);
                pr_debug!("vdso: ", "DT_GNU_HASH: ", Hex(val));
            }
            _ => {}
        }
    }
    let (Some(strtab), Some(symtab), Some(_), Some(_), Some(hash)) = (strtab, symtab, strsz, syment, sysv.or(gnu))
    else {
        bail!("vdso: ", "Not all dynamic entries are present");
    };
    // DT_HASH is preferred, as CRIU prefers it (better tested).
    Ok(Dynamic {
        strtab,
        symtab,
        hash,
        gnu_hash: sysv.is_none(),
    })
}

/// The SysV ELF hash.
fn sysv_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// The GNU hash (djb2), kept to 32 bits as CRIU's lookup keeps it.
fn gnu_hash(name: &[u8]) -> u32 {
    name.iter()
        .fold(5381u32, |h, &c| h.wrapping_mul(33).wrapping_add(u32::from(c)))
}

/// Where the tables are, as image offsets.
struct Tables {
    img_strtab: u64,
    img_symtab: u64,
    img_hash: u64,
}

/// A hash table walk ran outside the image, or did not end.
struct Corrupt;

/// Whether the symbol at `sym` is the global function `name` (CRIU's
/// `elf_symbol_match`: a symbol or name outside the image is simply no match).
fn symbol_matches(img: Image<'_>, t: &Tables, sym: u64, name: &[u8]) -> Option<u64> {
    let s = img.bytes(sym, SYM_SIZE).map(Image)?;
    let info = s.u8(4)?;
    if info & 0xf != STT_FUNC && info >> 4 != STB_GLOBAL {
        return None;
    }
    let at = t.img_strtab.wrapping_add(u64::from(s.u32(0)?));
    let candidate = img.bytes(at, NAME_LEN as u64)?;
    // strncmp over NAME_LEN bytes: equal up to the first NUL of both.
    for i in 0..NAME_LEN {
        let want = name.get(i).copied().unwrap_or(0);
        if candidate[i] != want {
            return None;
        }
        if want == 0 {
            break;
        }
    }
    s.u64(8)
}

/// A symbol's `st_value` (0: not found), looked up as CRIU's `elf_symbol_lookup` does.
fn lookup(img: Image<'_>, t: &Tables, gnu: bool, name: &[u8]) -> core::result::Result<u64, Corrupt> {
    let word = |off: u64| img.u32(off).ok_or(Corrupt);
    let sym_at = |j: u32| t.img_symtab.wrapping_add(u64::from(j) * SYM_SIZE);
    if gnu {
        let nbucket = word(t.img_hash)?;
        let sym_off = word(t.img_hash + 4)?;
        let bloom_words = word(t.img_hash + 8)?;
        if nbucket == 0 {
            return Err(Corrupt);
        }
        // Header of four words, then 64-bit bloom words, then the buckets.
        let buckets = t.img_hash + 16 + u64::from(bloom_words) * 8;
        let hash = gnu_hash(name);
        let mut j = word(buckets + u64::from(hash % nbucket) * 4)?;
        if j == STN_UNDEF {
            return Ok(0);
        }
        let Some(first) = j.checked_sub(sym_off) else {
            return Err(Corrupt);
        };
        let mut h = buckets + (u64::from(nbucket) + u64::from(first)) * 4;
        loop {
            // Each step reads the next chain word, so a chain without its end bit
            // runs off the image and ends there.
            let val = word(h)?;
            h += 4;
            if val | 1 == hash | 1 {
                if let Some(v) = symbol_matches(img, t, sym_at(j), name) {
                    return Ok(v);
                }
            }
            j = j.wrapping_add(1);
            if val & 1 != 0 {
                return Ok(0);
            }
        }
    } else {
        let nbucket = word(t.img_hash)?;
        let nchain = word(t.img_hash + 4)?;
        if nbucket == 0 {
            return Err(Corrupt);
        }
        let buckets = t.img_hash + 8;
        let chain = buckets + u64::from(nbucket) * 4;
        let mut j = word(buckets + u64::from(sysv_hash(name) % nbucket) * 4)?;
        // A chain visits each of the nchain symbols at most once; more is a loop.
        let mut steps = 0u32;
        while j < nchain && j != STN_UNDEF {
            if let Some(v) = symbol_matches(img, t, sym_at(j), name) {
                return Ok(v);
            }
            steps += 1;
            if steps > nchain {
                return Err(Corrupt);
            }
            j = word(chain + u64::from(j) * 4)?;
        }
        Ok(0)
    }
}

/// The offsets (from the vDSO's start) of [`SYMBOL_NAMES`] in the vDSO image `mem`:
/// CRIU's `vdso_fill_symtable` for a 64-bit vDSO. A symbol the vDSO lacks keeps
/// `VDSO_BAD_ADDR` and an empty name.
pub fn symbols(mem: &[u8]) -> Result<SymbolTable> {
    let img = Image(mem);
    let base = mem.as_ptr() as u64;
    pr_debug!(
        "vdso: ",
        "Parsing at ",
        Hex(base),
        " ",
        Hex(base.wrapping_add(img.size()))
    );
    let ph = parse_phdrs(img)?;
    let dy = parse_dynamic(img, ph.dynamic)?;

    let t = Tables {
        img_strtab: dy.strtab.wrapping_sub(ph.load_vaddr),
        img_symtab: dy.symtab.wrapping_sub(ph.load_vaddr),
        img_hash: dy.hash.wrapping_sub(ph.load_vaddr),
    };
    if !img.contains(t.img_strtab) || img.u32(t.img_hash).is_none() {
        bail!("vdso: ", "Corrupted Elf symbols/hash");
    }

    let mut out = [EMPTY; SYMBOL_NAMES.len()];
    for (slot, name) in out.iter_mut().zip(SYMBOL_NAMES) {
        let bytes = name.to_bytes();
        let Ok(addr) = lookup(img, &t, dy.gnu_hash, bytes) else {
            bail!("vdso: ", "Corrupted Elf symbols/hash");
        };
        pr_debug!("vdso: ", "symbol ", name, " at address ", Hex(addr));
        if addr == 0 {
            continue;
        }
        for (d, &s) in slot.name.iter_mut().zip(bytes) {
            *d = s as core::ffi::c_char;
        }
        slot.offset = addr.wrapping_sub(ph.load_vaddr);
    }
    Ok(out)
}
