//! Malformed input: valid objects corrupted in targeted ways (and by a deterministic
//! fuzzer). `generate` and `audit` must return errors (or, where the file is sound
//! but compel would refuse it, findings), never panic; the CLI exits 2 with one line.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use compel_gen::audit::{audit, Kind};
use compel_gen::hgen::generate;
use compel_gen::ErrorKind;

const SOURCE: &str = r#"
int counter = 7;
long zeroes[4];
static int f0(int x) { return x + counter; }
int (*ops[2])(int) = { f0, 0 };
int __export_entry(int x) { zeroes[x & 3] = x; return ops[0](x) + 1; }
"#;

/// A small relocatable object with .text, .data, .bss, relocations and a symbol table.
fn sample(dir: &Path) -> Vec<u8> {
    let obj = cc(dir, "sample", SOURCE, &["-O2"]);
    let data = fs::read(obj).unwrap();
    generate(&data, "sample.o", "sample").expect("the uncorrupted sample is valid");
    data
}

/// `generate` and `audit` both fail with a `Malformed`/`Unsupported` error whose message
/// contains `needle`; the CLI exits 2 with a one-line message for both actions.
fn assert_rejected(dir: &Path, d: &[u8], needle: &str) {
    let e = generate(d, "bad.o", "bad").expect_err("generate must fail");
    assert!(
        matches!(e.kind(), ErrorKind::Malformed | ErrorKind::Unsupported),
        "{e:?}"
    );
    assert!(e.to_string().contains(needle), "generate: {e}");
    let e = audit(d).expect_err("audit must fail");
    assert!(e.to_string().contains(needle), "audit: {e}");
    assert!(!e.to_string().contains('\n'));

    fs::write(dir.join("bad.o"), d).unwrap();
    for args in [&["audit", "bad.o"][..], &["hgen", "-f", "bad.o", "-o", "bad.h"][..]] {
        let o = ours(dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert!(!dir.join("bad.h").exists());
}

#[test]
fn every_truncation_is_an_error() {
    let dir = scratch("malformed-truncate");
    let d = sample(&dir);
    // The section header table sits at the end of the file, so every prefix loses part
    // of it (or more) and must be refused.
    assert_eq!(get(&d, E_SHOFF, 8) + 64 * get(&d, E_SHNUM, 2), d.len() as u64);
    for len in 0..d.len() {
        assert!(generate(&d[..len], "t.o", "t").is_err(), "truncated to {len}");
        assert!(audit(&d[..len]).is_err(), "truncated to {len}");
    }
    assert_rejected(&dir, &d[..d.len() / 2], "past the end of the file");
    assert_rejected(&dir, &d[..40], "truncated");
}

#[test]
fn header_corruptions() {
    let dir = scratch("malformed-header");
    let d = sample(&dir);
    let patched = |off: usize, n: usize, v: u64| {
        let mut c = d.clone();
        put(&mut c, off, n, v);
        c
    };
    assert_rejected(&dir, &patched(E_SHOFF, 8, d.len() as u64), "section header table");
    assert_rejected(&dir, &patched(E_SHOFF, 8, u64::MAX - 8), "section header table");
    assert_rejected(&dir, &patched(E_SHNUM, 2, 0xffff), "section header table");
    assert_rejected(&dir, &patched(E_SHNUM, 2, 0), "e_shnum is 0");
    assert_rejected(&dir, &patched(E_SHENTSIZE, 2, 0), "e_shentsize");
    assert_rejected(&dir, &patched(E_SHSTRNDX, 2, 0xfff0), "e_shstrndx");
    assert_rejected(&dir, &patched(E_MACHINE, 2, 3), "e_machine 3");
    assert_rejected(&dir, &patched(E_TYPE, 2, 2), "ET_REL");
    assert_rejected(&dir, &patched(E_TYPE, 2, 3), "ET_REL");
    assert_rejected(&dir, &patched(4, 1, 1), "ELFCLASS32");
    assert_rejected(&dir, &patched(5, 1, 2), "big-endian");
    assert_rejected(&dir, &patched(0, 1, 0), "not an ELF file");
    // A GNU OS ABI byte: compel refuses it; the audit reports it as a finding.
    let gnu = patched(7, 1, 3);
    assert!(generate(&gnu, "g.o", "g").unwrap_err().to_string().contains("OS ABI 3"));
    let r = audit(&gnu).unwrap();
    assert!(r.findings.iter().any(|f| f.kind == Kind::Header), "{r}");
}

#[test]
fn section_corruptions() {
    let dir = scratch("malformed-sections");
    let d = sample(&dir);
    let patched = |sec: &str, field: usize, n: usize, v: u64| {
        let mut c = d.clone();
        put(&mut c, shdr(&d, sec) + field, n, v);
        c
    };
    let len = d.len() as u64;
    assert_rejected(
        &dir,
        &patched(".text", SH_OFFSET, 8, u64::MAX - 3),
        "past the end of the file",
    );
    assert_rejected(
        &dir,
        &patched(".text", SH_OFFSET, 8, len - 1),
        "past the end of the file",
    );
    assert_rejected(&dir, &patched(".text", SH_SIZE, 8, len * 2), "past the end of the file");
    assert_rejected(&dir, &patched(".symtab", SH_SIZE, 8, len), "past the end of the file");
    assert_rejected(&dir, &patched(".text", SH_NAME, 4, 0xffff_fff0), "name offset");
    assert_rejected(&dir, &patched(".symtab", SH_ENTSIZE, 8, 0), "sh_entsize 0");
    assert_rejected(&dir, &patched(".rela.text", SH_ENTSIZE, 8, 0), "sh_entsize 0");
    assert_rejected(&dir, &patched(".symtab", SH_LINK, 4, 0xffff), "sh_link");
    assert_rejected(&dir, &patched(".symtab", SH_LINK, 4, 0), "sh_link");
    // Two sections claiming the same bytes, over and over, would multiply the work.
    let text = shdr(&d, ".text");
    let mut overlap = d.clone();
    let big = len / 2;
    for sec in [".data", ".comment"] {
        put(&mut overlap, shdr(&d, sec) + SH_OFFSET, 8, 0);
        put(&mut overlap, shdr(&d, sec) + SH_SIZE, 8, big);
    }
    put(&mut overlap, text + SH_OFFSET, 8, 0);
    put(&mut overlap, text + SH_SIZE, 8, big);
    assert_rejected(&dir, &overlap, "overlaps");
}

#[test]
fn symbol_and_relocation_corruptions() {
    let dir = scratch("malformed-symbols");
    let d = sample(&dir);
    let rela = shdr(&d, ".rela.text");
    let rela_off = get(&d, rela + SH_OFFSET, 8) as usize;
    let symtab = shdr(&d, ".symtab");
    let sym_off = get(&d, symtab + SH_OFFSET, 8) as usize;

    // Relocation symbol index out of range.
    let mut c = d.clone();
    let info = get(&c, rela_off + 8, 8);
    put(&mut c, rela_off + 8, 8, (info & 0xffff_ffff) | (0x00ff_ffff << 32));
    assert_rejected(&dir, &c, "symbol index 16777215 out of range");

    // Symbol name past the end of the string table.
    let mut c = d.clone();
    put(&mut c, sym_off + 24, 4, 0x7fff_ffff);
    assert_rejected(&dir, &c, "name offset");

    // Relocation section applying to a section that does not exist: compel would index
    // past its table; we refuse, and the audit reports it.
    let mut c = d.clone();
    put(&mut c, rela + SH_INFO, 4, 0xfff);
    let e = generate(&c, "x.o", "x").unwrap_err();
    assert!(e.to_string().contains("target section index 4095"), "{e}");
    let r = audit(&c).unwrap();
    assert!(r.findings.iter().any(|f| f.kind == Kind::BadSectionIndex), "{r}");

    // Relocated field outside its section.
    let mut c = d.clone();
    put(&mut c, rela_off, 8, 0xffff_ff00);
    assert!(generate(&c, "x.o", "x")
        .unwrap_err()
        .to_string()
        .contains("outside its section"));
    let r = audit(&c).unwrap();
    assert!(r.findings.iter().any(|f| f.kind == Kind::BadRelocationOffset), "{r}");

    // A relocation against a symbol whose section index is out of range.
    let sym = (get(&d, rela_off + 8, 8) >> 32) as usize;
    let mut c = d.clone();
    put(&mut c, sym_off + sym * 24 + 6, 2, 0x7000);
    let e = generate(&c, "x.o", "x").unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let r = audit(&c).unwrap();
    assert!(r.findings.iter().any(|f| f.kind == Kind::BadSectionIndex), "{r}");
}

#[test]
fn hostile_sizes_and_alignments() {
    let dir = scratch("malformed-sizes");
    let d = sample(&dir);
    // A huge NOBITS .bss: compel would copy bytes from past the end of the file.
    let mut c = d.clone();
    put(&mut c, shdr(&d, ".bss") + SH_SIZE, 8, 1 << 40);
    let e = generate(&c, "x.o", "x").unwrap_err();
    assert!(e.to_string().contains(".bss"), "{e}");
    let r = audit(&c).unwrap();
    assert!(!r.is_clean(), "{r}");
    // An alignment that would make the blob gigantic.
    let mut c = d.clone();
    put(&mut c, shdr(&d, ".data") + SH_ADDRALIGN, 8, 1 << 40);
    let e = generate(&c, "x.o", "x").unwrap_err();
    assert!(e.to_string().contains("blob would be"), "{e}");
    assert!(audit(&c).unwrap().findings.iter().any(|f| f.kind == Kind::Layout));
    // An alignment that overflows the address space.
    let mut c = d.clone();
    put(&mut c, shdr(&d, ".data") + SH_ADDRALIGN, 8, u64::MAX);
    assert!(generate(&c, "x.o", "x").is_err());
    assert!(audit(&c).unwrap().findings.iter().any(|f| f.kind == Kind::Layout));
}

/// Deterministic byte-flipping over headers and the whole file: whatever comes out,
/// nothing may panic.
#[test]
fn fuzzed_corruptions_never_panic() {
    let dir = scratch("malformed-fuzz");
    let d = sample(&dir);
    let shoff = get(&d, E_SHOFF, 8) as usize;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    // COMPEL_GEN_FUZZ_ROUNDS allows a longer run by hand.
    let rounds = std::env::var("COMPEL_GEN_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    for round in 0..rounds {
        let mut c = d.clone();
        for _ in 0..1 + next() % 4 {
            let region = next() % 3;
            let at = match region {
                0 => (next() % 64) as usize,
                1 => shoff + (next() as usize % (d.len() - shoff)),
                _ => next() as usize % d.len(),
            };
            c[at] = match next() % 4 {
                0 => 0,
                1 => 0xff,
                _ => next() as u8,
            };
        }
        let _ = generate(&c, "f.o", "f");
        let _ = audit(&c);
        if round % 500 == 0 {
            let cut = next() as usize % d.len();
            let _ = generate(&c[..cut], "f.o", "f");
            let _ = audit(&c[..cut]);
        }
    }
}
