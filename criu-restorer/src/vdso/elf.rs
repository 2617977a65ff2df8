//! The vDSO's dynamic symbols, found as CRIU's `vdso_fill_symtable` finds them
//! (`criu/pie/util-vdso.c`): the PT_LOAD and PT_DYNAMIC headers, the dynamic tags, then
//! each of [`SYMBOL_NAMES`] through the SysV hash table (or the GNU one when the vDSO has
//! no DT_HASH).
//!
//! The bytes are untrusted (a dumped vDSO is restored from the image), so every read is
//! checked against the slice: a bad header, offset or table is an `Err`, never a fault,
//! a panic or an endless walk. Only the 64-bit ELF layout is read: a compat (32-bit)
//! vDSO is refused by the caller.

use core::mem::{offset_of, size_of};

use criu_abi::raw::vdso_symbol;
use linux_raw_sys::elf_uapi::{
    Elf64_Dyn, Elf64_Ehdr, Elf64_Phdr, Elf64_Sym, DT_GNU_HASH, DT_HASH, DT_NULL, DT_STRSZ, DT_STRTAB, DT_SYMENT,
    DT_SYMTAB, EI_CLASS, EI_DATA, EI_OSABI, EI_VERSION, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG, ELFOSABI_LINUX,
    ELFOSABI_NONE, EV_CURRENT, PT_DYNAMIC, PT_LOAD, STB_GLOBAL, STN_UNDEF, STT_FUNC,
};

use super::{SymbolTable, SYMBOL_NAMES, VDSO_BAD_ADDR};
use crate::error::Result;
use crate::log::Hex;
use crate::{bail, pr_debug};

/// The byte order this blob runs in, as `e_ident[EI_DATA]` says it.
const NATIVE_DATA: u32 = if cfg!(target_endian = "big") {
    ELFDATA2MSB
} else {
    ELFDATA2LSB
};

/// Why an `e_ident` is not a vDSO this restorer reads (CRIU 4.2's `has_elf_identity`).
#[derive(Debug, PartialEq, Eq)]
enum BadIdent {
    Magic,
    Class(u8),
    Data(u8),
    Version(u8),
    OsAbi(u8),
}

/// CRIU 4.2's rule: the magic, a 64-bit class, the native byte order, the current
/// version, and OSABI none or Linux (kernels may mark their vDSO either way); the ABI
/// version and the padding are not looked at.
fn check_ident(id: &[u8; 16]) -> core::result::Result<(), BadIdent> {
    let at = |i: u32| id[i as usize];
    if id[..4] != ELFMAG[..4] {
        return Err(BadIdent::Magic);
    }
    if u32::from(at(EI_CLASS)) != ELFCLASS64 {
        return Err(BadIdent::Class(at(EI_CLASS)));
    }
    if u32::from(at(EI_DATA)) != NATIVE_DATA {
        return Err(BadIdent::Data(at(EI_DATA)));
    }
    if u32::from(at(EI_VERSION)) != EV_CURRENT {
        return Err(BadIdent::Version(at(EI_VERSION)));
    }
    if ![ELFOSABI_NONE, ELFOSABI_LINUX].contains(&u32::from(at(EI_OSABI))) {
        return Err(BadIdent::OsAbi(at(EI_OSABI)));
    }
    Ok(())
}

// Sizes of the ELF64 records read here, and the fields read in each.
const EHDR_SIZE: u64 = size_of::<Elf64_Ehdr>() as u64;
const E_PHOFF: u64 = offset_of!(Elf64_Ehdr, e_phoff) as u64;
const E_PHNUM: u64 = offset_of!(Elf64_Ehdr, e_phnum) as u64;
const PHDR_SIZE: u64 = size_of::<Elf64_Phdr>() as u64;
const P_TYPE: u64 = offset_of!(Elf64_Phdr, p_type) as u64;
const P_OFFSET: u64 = offset_of!(Elf64_Phdr, p_offset) as u64;
const P_VADDR: u64 = offset_of!(Elf64_Phdr, p_vaddr) as u64;
const P_FILESZ: u64 = offset_of!(Elf64_Phdr, p_filesz) as u64;
const DYN_SIZE: u64 = size_of::<Elf64_Dyn>() as u64;
const D_TAG: u64 = offset_of!(Elf64_Dyn, d_tag) as u64;
const D_UN: u64 = offset_of!(Elf64_Dyn, d_un) as u64;
const SYM_SIZE: u64 = size_of::<Elf64_Sym>() as u64;
const ST_NAME: u64 = offset_of!(Elf64_Sym, st_name) as u64;
const ST_INFO: u64 = offset_of!(Elf64_Sym, st_info) as u64;
const ST_VALUE: u64 = offset_of!(Elf64_Sym, st_value) as u64;

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
    let Some(ident) = img.array::<16>(0) else {
        bail!("vdso: ", "Corrupted Elf phdr");
    };
    match check_ident(&ident) {
        Ok(()) => {}
        Err(BadIdent::Magic) => bail!("vdso: ", "Invalid ELF magic"),
        Err(BadIdent::Class(c)) => bail!("vdso: ", "Unsupported ELF class: ", c),
        Err(BadIdent::Data(d)) => bail!("vdso: ", "Unsupported ELF data encoding: ", d),
        Err(BadIdent::Version(v)) => bail!("vdso: ", "Unsupported ELF version: ", v),
        Err(BadIdent::OsAbi(o)) => bail!("vdso: ", "Unsupported OSABI version: ", o),
    }
    let (Some(phoff), Some(phnum)) = (img.u64(E_PHOFF), img.u16(E_PHNUM)) else {
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
        match p.u32(P_TYPE) {
            Some(PT_DYNAMIC) => {
                if dynamic.is_some() {
                    bail!("vdso: ", "Second PT_DYNAMIC header");
                }
                dynamic = Some((field(P_OFFSET), field(P_FILESZ)));
            }
            Some(PT_LOAD) => {
                if load.is_some() {
                    bail!("vdso: ", "Second PT_LOAD header");
                }
                load = Some(field(P_VADDR));
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
        let Some((tag, val)) = d.and_then(|d| Some((img.u64(d + D_TAG)?, img.u64(d + D_UN)?))) else {
            bail!("vdso: ", "Corrupted Elf dynamic section");
        };
        // The last of a repeated tag wins, as in CRIU; a tag too wide for u32 is none
        // of these.
        match u32::try_from(tag).unwrap_or(u32::MAX) {
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
    let info = s.u8(ST_INFO)?;
    if u32::from(info & 0xf) != STT_FUNC && u32::from(info >> 4) != STB_GLOBAL {
        return None;
    }
    let at = t.img_strtab.wrapping_add(u64::from(s.u32(ST_NAME)?));
    let candidate = img.bytes(at, NAME_LEN as u64)?;
    // strncmp over NAME_LEN bytes: equal up to the first NUL of both.
    for (i, &have) in candidate.iter().enumerate() {
        let want = name.get(i).copied().unwrap_or(0);
        if have != want {
            return None;
        }
        if want == 0 {
            break;
        }
    }
    s.u64(ST_VALUE)
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

#[cfg(test)]
mod tests {
    use super::super::testing::{check_clock_gettime, host_image};
    use super::*;

    fn rd(b: &[u8], off: usize) -> u64 {
        u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
    }

    fn wr(b: &mut [u8], off: usize, v: u64) {
        b[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    /// Offsets of the test image's program headers and dynamic entries, read with the
    /// ELF64 layout written out here independently of the parser.
    fn phdr(b: &[u8], ty: u32) -> usize {
        let (phoff, phnum) = (rd(b, 32) as usize, u16::from_le_bytes([b[56], b[57]]) as usize);
        (0..phnum)
            .map(|i| phoff + i * 56)
            .find(|&p| u32::from_le_bytes(b[p..p + 4].try_into().unwrap()) == ty)
            .unwrap()
    }

    fn dyn_entry(b: &[u8], tag: u64) -> usize {
        let d = phdr(b, PT_DYNAMIC);
        let (off, size) = (rd(b, d + 8) as usize, rd(b, d + 32) as usize);
        (off..off + size).step_by(16).find(|&e| rd(b, e) == tag).unwrap()
    }

    fn table_off(b: &[u8], tag: u64) -> usize {
        (rd(b, dyn_entry(b, tag) + 8) - rd(b, phdr(b, PT_LOAD) + 16)) as usize
    }

    fn found(t: &SymbolTable) -> Vec<bool> {
        t.iter().map(|s| s.offset != VDSO_BAD_ADDR).collect()
    }

    fn name(s: &vdso_symbol) -> Vec<u8> {
        s.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect()
    }

    #[test]
    fn host_vdso_symbols_are_callable() {
        let img = host_image();
        let t = symbols(img).unwrap();
        // x86-64 vDSOs have the four __vdso_ calls, neither __kernel_*sigreturn nor the
        // 32-bit clock_gettime64.
        assert_eq!(found(&t), [true, true, true, true, false, false, false]);
        for (s, want) in t.iter().zip(SYMBOL_NAMES) {
            if s.offset == VDSO_BAD_ADDR {
                assert_eq!(name(s), b"");
            } else {
                assert_eq!(name(s), want.to_bytes());
                assert!(s.offset < img.len() as u64);
            }
        }
        let base = img.as_ptr() as u64;
        assert_eq!(check_clock_gettime(base + t[0].offset), 0);
        // __vdso_time agrees with the time syscall.
        type TimeFn = unsafe extern "C" fn(*mut libc::time_t) -> libc::time_t;
        // SAFETY: t[3] is __vdso_time's entry in the live vDSO.
        let f: TimeFn = unsafe { std::mem::transmute::<usize, TimeFn>((base + t[3].offset) as usize) };
        // SAFETY: time(NULL) writes nothing.
        let (a, v, b) = unsafe {
            (
                libc::syscall(libc::SYS_time, 0),
                f(std::ptr::null_mut()),
                libc::syscall(libc::SYS_time, 0),
            )
        };
        assert!(a <= v && v <= b, "{a} {v} {b}");
    }

    #[test]
    fn gnu_hash_alone_gives_the_same_symbols() {
        let img = host_image();
        let want = symbols(img).unwrap();
        let mut b = img.to_vec();
        let e = dyn_entry(&b, DT_HASH.into());
        // DT_DEBUG: a tag the parser ignores.
        wr(&mut b, e, 21);
        let got = symbols(&b).unwrap();
        assert_eq!(got.map(|s| s.offset), want.map(|s| s.offset));
        // Neither table: refused.
        let g = dyn_entry(&b, DT_GNU_HASH.into());
        wr(&mut b, g, 21);
        assert!(symbols(&b).is_err());
    }

    #[test]
    fn sysv_hash_is_preferred() {
        // With the GNU table wrecked, the lookup still finds everything through DT_HASH.
        let img = host_image();
        let want = symbols(img).unwrap();
        let mut b = img.to_vec();
        let g = table_off(&b, DT_GNU_HASH.into());
        b[g..g + 16].fill(0xff);
        assert_eq!(symbols(&b).unwrap().map(|s| s.offset), want.map(|s| s.offset));
    }

    #[test]
    fn truncated_images_fail_cleanly() {
        let img = host_image();
        let full = symbols(img).unwrap();
        for len in 0..img.len() {
            match symbols(&img[..len]) {
                Err(_) => {}
                // A cut past every table the lookup reads changes nothing.
                Ok(t) => assert_eq!(t.map(|s| s.offset), full.map(|s| s.offset), "len {len}"),
            }
        }
        assert!(symbols(&img[..EHDR_SIZE as usize - 1]).is_err());
        assert!(symbols(&img[..EHDR_SIZE as usize]).is_err());
        assert!(symbols(&[]).is_err());
    }

    #[test]
    fn bad_magic_is_refused() {
        let img = host_image();
        for (at, v) in [(0, 0x7e), (1, b'e'), (4, 1), (5, 2), (6, 0), (7, 1), (7, 9)] {
            let mut b = img.to_vec();
            b[at] = v;
            assert!(symbols(&b).is_err(), "byte {at} = {v:#x}");
        }
    }

    /// CRIU 4.2's rule: OSABI Linux (3) as well as none, the ABI version and the padding
    /// not looked at.
    #[test]
    fn osabi_linux_and_any_padding_are_accepted() {
        let img = host_image();
        let want = found(&symbols(img).unwrap());
        for (at, v) in [(7, 3), (8, 1), (9, 0xff), (15, 0x42)] {
            let mut b = img.to_vec();
            b[at] = v;
            let t = symbols(&b).unwrap_or_else(|_| panic!("byte {at} = {v:#x} refused"));
            assert_eq!(found(&t), want, "byte {at} = {v:#x}");
        }
    }

    #[test]
    fn ident_errors_name_the_field() {
        let mut id = [0u8; 16];
        id[..4].copy_from_slice(&ELFMAG[..4]);
        id[4] = ELFCLASS64 as u8;
        id[5] = NATIVE_DATA as u8;
        id[6] = EV_CURRENT as u8;
        assert_eq!(check_ident(&id), Ok(()));
        let with = |i: usize, v: u8| {
            let mut b = id;
            b[i] = v;
            check_ident(&b)
        };
        assert_eq!(with(2, b'X'), Err(BadIdent::Magic));
        assert_eq!(with(4, 1), Err(BadIdent::Class(1)));
        // The other byte order than the one this code runs in.
        assert_eq!(
            with(5, 3 - NATIVE_DATA as u8),
            Err(BadIdent::Data(3 - NATIVE_DATA as u8))
        );
        assert_eq!(with(6, 2), Err(BadIdent::Version(2)));
        assert_eq!(with(7, 6), Err(BadIdent::OsAbi(6)));
        assert_eq!(with(7, 3), Ok(()));
    }

    #[test]
    fn bad_offsets_are_refused() {
        let img = host_image();
        let huge = [u64::MAX, u64::MAX - 7, 1 << 63, img.len() as u64];
        // Where each checked offset or address field is.
        let fields: [fn(&[u8]) -> usize; 5] = [
            |_| 32,                                 // e_phoff
            |b| phdr(b, PT_DYNAMIC) + 8,            // p_offset
            |b| phdr(b, PT_LOAD) + 16,              // p_vaddr
            |b| dyn_entry(b, DT_STRTAB.into()) + 8, // strtab
            |b| dyn_entry(b, DT_HASH.into()) + 8,   // hash
        ];
        for (i, field) in fields.iter().enumerate() {
            for &v in &huge {
                // A p_vaddr of -8 only shifts every table by 8 bytes: still inside.
                if i == 2 && v == u64::MAX - 7 {
                    continue;
                }
                let mut b = img.to_vec();
                let at = field(&b);
                wr(&mut b, at, v);
                assert!(symbols(&b).is_err(), "edit {i} value {v:#x}");
            }
        }
        // e_phnum far past the image.
        let mut b = img.to_vec();
        b[56..58].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(symbols(&b).is_err());
        // p_filesz past the image with no DT_NULL inside.
        let mut b = img.to_vec();
        let d = phdr(&b, PT_DYNAMIC);
        let e = dyn_entry(&b, DT_NULL.into());
        wr(&mut b, d + 32, u64::MAX);
        let n = b.len();
        b[e..n].fill(0x55);
        assert!(symbols(&b).is_err());
        // No bucket at all.
        let mut b = img.to_vec();
        let h = table_off(&b, DT_HASH.into());
        b[h..h + 4].fill(0);
        assert!(symbols(&b).is_err());
        // A duplicated PT_LOAD.
        let mut b = img.to_vec();
        let (l, d) = (phdr(&b, PT_LOAD), phdr(&b, PT_DYNAMIC));
        b[d..d + 4].copy_from_slice(&PT_LOAD.to_le_bytes());
        assert!(l != d && symbols(&b).is_err());
    }

    #[test]
    fn looping_hash_chain_ends() {
        // Every bucket and chain link points at symbol 1 and no name matches: a walk
        // that trusts the chain never ends.
        let img = host_image();
        let mut b = img.to_vec();
        let h = table_off(&b, DT_HASH.into());
        let nbucket = u32::from_le_bytes(b[h..h + 4].try_into().unwrap()) as usize;
        let nchain = u32::from_le_bytes(b[h + 4..h + 8].try_into().unwrap()) as usize;
        for i in 0..nbucket + nchain {
            let at = h + 8 + i * 4;
            b[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
        }
        let s = table_off(&b, DT_STRTAB.into());
        let n = b.len().min(s + 64);
        b[s..n].fill(b'x');
        assert!(symbols(&b).is_err());
    }

    #[test]
    fn random_corruption_never_panics() {
        let img = host_image();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut ok, mut err) = (0, 0);
        for _ in 0..4000 {
            let mut b = img.to_vec();
            // Headers and tables live in the first KiBs.
            let hot = b.len().min(0x1000);
            for _ in 0..1 + next() % 8 {
                let at = (next() as usize) % hot;
                b[at] = next() as u8;
            }
            match symbols(&b) {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
        assert!(ok > 0 && err > 0, "ok {ok} err {err}");
    }
}
