//! Shared helpers for the integration tests: scratch directories, building C and Rust
//! objects the way compel's users do, and running compel and our binary.
//!
//! Missing tools are test failures with a message saying what to install, never skips.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `compel cflags` on x86-64 (CRIU 3.17).
pub const COMPEL_CFLAGS: &[&str] = &[
    "-Wstrict-prototypes",
    "-ffreestanding",
    "-fno-stack-protector",
    "-nostdlib",
    "-fomit-frame-pointer",
    "-fpie",
];
pub const COMPEL_LDS: &str = "/usr/lib/compel/scripts/compel-pack.lds.S";
pub const COMPEL_STD_LIB: &str = "/usr/lib/compel/std.lib.a";

/// What compel's std.lib.a (pulled in for `__export_parasite_head_start`) needs from
/// every parasite.
pub const PARASITE_GLUE: &str = r#"
int parasite_daemon_cmd(int cmd, void *args) { return cmd + (args != 0); }
int parasite_trap_cmd(int cmd, void *args) { return cmd - (args != 0); }
void parasite_cleanup(void) { }
"#;

pub const OUR_BIN: &str = env!("CARGO_BIN_EXE_compel-gen");

/// A fresh, empty scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("compel-gen-tests")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn run(cmd: &mut Command, what: &str) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {what} ({cmd:?}): {e}"))
}

fn check(out: Output, cmd: &str) -> Output {
    assert!(
        out.status.success(),
        "{cmd} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Compile C `source` (written to `dir/name.c`) into `dir/name.o` with compel's cflags
/// plus `extra`.
pub fn cc(dir: &Path, name: &str, source: &str, extra: &[&str]) -> PathBuf {
    cc_with(dir, name, source, COMPEL_CFLAGS, extra)
}

/// Compile with an explicit base flag set (e.g. compel's `--compat`-style `-fno-pic`).
pub fn cc_with(dir: &Path, name: &str, source: &str, base: &[&str], extra: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let obj = dir.join(format!("{name}.o"));
    fs::write(&src, source).unwrap();
    let out = run(
        Command::new("cc")
            .args(base)
            .args(extra)
            .arg("-c")
            .arg(&src)
            .arg("-o")
            .arg(&obj),
        "cc (install gcc)",
    );
    check(out, &format!("cc {}", src.display()));
    obj
}

/// `ld -r -z noexecstack -T compel-pack.lds.S OBJS std.lib.a -o OUT`, as CRIU links
/// parasites.
pub fn link_compel(objs: &[PathBuf], out: &Path) {
    assert!(
        Path::new(COMPEL_LDS).exists() && Path::new(COMPEL_STD_LIB).exists(),
        "{COMPEL_LDS} / {COMPEL_STD_LIB} missing: install Debian's criu package"
    );
    let o = run(
        Command::new("ld")
            .args(["-r", "-z", "noexecstack", "-T", COMPEL_LDS])
            .args(objs)
            .arg(COMPEL_STD_LIB)
            .arg("-o")
            .arg(out),
        "ld (install binutils)",
    );
    check(o, "ld -r (compel script)");
}

/// Plain `ld -r` without compel's script: every input section survives, `.bss` stays
/// `SHT_NOBITS`, `.eh_frame` keeps its relocations.
pub fn link_plain(objs: &[PathBuf], out: &Path) {
    let o = run(
        Command::new("ld").arg("-r").args(objs).arg("-o").arg(out),
        "ld (install binutils)",
    );
    check(o, "ld -r");
}

/// Run `compel -f INPUT -o OUTPUT [-p PREFIX] hgen` in `dir`. Returns the header on
/// success, compel's stderr on failure. Panics (fails the test) if compel is missing.
pub fn compel_hgen(dir: &Path, input: &str, output: &str, prefix: Option<&str>) -> Result<Vec<u8>, String> {
    let mut cmd = Command::new("compel");
    cmd.current_dir(dir).args(["-f", input, "-o", output]);
    if let Some(p) = prefix {
        cmd.args(["-p", p]);
    }
    cmd.arg("hgen");
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run compel ({e}): the differential tests need /usr/bin/compel from Debian's criu package")
    });
    let path = dir.join(output);
    if out.status.success() {
        Ok(fs::read(&path).unwrap_or_else(|e| panic!("compel succeeded but {}: {e}", path.display())))
    } else {
        assert!(!path.exists(), "compel failed but left {}", path.display());
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Run our binary with `args` in `dir`.
pub fn ours(dir: &Path, args: &[&str]) -> Output {
    run(Command::new(OUR_BIN).current_dir(dir).args(args), "compel-gen")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Build a Rust object with `rustc --emit=obj --crate-type=lib -C panic=abort
/// -C opt-level=2`.
pub fn rustc_obj(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.rs"));
    let obj = dir.join(format!("{name}.o"));
    fs::write(&src, source).unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = run(
        Command::new(rustc)
            .args(["--emit=obj", "--crate-type=lib", "--edition=2021"])
            .args(["-C", "panic=abort", "-C", "opt-level=2", "-C", "debuginfo=0"])
            .arg(&src)
            .arg("-o")
            .arg(&obj),
        "rustc",
    );
    check(out, "rustc");
    obj
}

/// Little-endian field `n` bytes wide at `off`.
pub fn get(d: &[u8], off: usize, n: usize) -> u64 {
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&d[off..off + n]);
    u64::from_le_bytes(b)
}

pub fn put(d: &mut [u8], off: usize, n: usize, v: u64) {
    d[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
}

// ELF64 header and section header field offsets.
pub const E_TYPE: usize = 0x10;
pub const E_MACHINE: usize = 0x12;
pub const E_SHOFF: usize = 0x28;
pub const E_SHENTSIZE: usize = 0x3a;
pub const E_SHNUM: usize = 0x3c;
pub const E_SHSTRNDX: usize = 0x3e;
pub const SH_NAME: usize = 0x00;
pub const SH_TYPE: usize = 0x04;
pub const SH_OFFSET: usize = 0x18;
pub const SH_SIZE: usize = 0x20;
pub const SH_LINK: usize = 0x28;
pub const SH_INFO: usize = 0x2c;
pub const SH_ADDRALIGN: usize = 0x30;
pub const SH_ENTSIZE: usize = 0x38;

/// (name, file offset of the section header) for every section of a valid object.
pub fn section_headers(d: &[u8]) -> Vec<(String, usize)> {
    let shoff = get(d, E_SHOFF, 8) as usize;
    let shnum = get(d, E_SHNUM, 2) as usize;
    let strndx = get(d, E_SHSTRNDX, 2) as usize;
    let strtab = get(d, shoff + strndx * 64 + SH_OFFSET, 8) as usize;
    (0..shnum)
        .map(|i| {
            let h = shoff + i * 64;
            let n = strtab + get(d, h + SH_NAME, 4) as usize;
            let name = d[n..].split(|&b| b == 0).next().unwrap();
            (String::from_utf8_lossy(name).into_owned(), h)
        })
        .collect()
}

/// File offset of the header of the section called `name`.
pub fn shdr(d: &[u8], name: &str) -> usize {
    section_headers(d)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no section {name}"))
        .1
}

/// A tiny JSON syntax checker, so the `--json` tests fail on malformed documents.
pub fn assert_valid_json(s: &str) {
    let b = s.as_bytes();
    let mut i = 0;
    value(b, &mut i).unwrap_or_else(|e| panic!("invalid JSON at byte {i}: {e}\n{s}"));
    ws(b, &mut i);
    assert_eq!(i, b.len(), "trailing bytes after JSON value:\n{s}");
}

fn ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && b" \t\r\n".contains(&b[*i]) {
        *i += 1;
    }
}

fn value(b: &[u8], i: &mut usize) -> Result<(), String> {
    ws(b, i);
    match b.get(*i) {
        Some(b'{') => {
            *i += 1;
            ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Ok(());
            }
            loop {
                ws(b, i);
                string(b, i)?;
                ws(b, i);
                expect(b, i, b':')?;
                value(b, i)?;
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Ok(());
                    }
                    _ => return Err("expected , or }".into()),
                }
            }
        }
        Some(b'[') => {
            *i += 1;
            ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Ok(());
            }
            loop {
                value(b, i)?;
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Ok(());
                    }
                    _ => return Err("expected , or ]".into()),
                }
            }
        }
        Some(b'"') => string(b, i),
        Some(b't') => literal(b, i, b"true"),
        Some(b'f') => literal(b, i, b"false"),
        Some(b'n') => literal(b, i, b"null"),
        Some(c) if c.is_ascii_digit() || *c == b'-' => {
            *i += 1;
            while *i < b.len() && (b[*i].is_ascii_digit() || b".eE+-".contains(&b[*i])) {
                *i += 1;
            }
            Ok(())
        }
        _ => Err("expected a value".into()),
    }
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Result<(), String> {
    if b.get(*i) == Some(&c) {
        *i += 1;
        Ok(())
    } else {
        Err(format!("expected '{}'", c as char))
    }
}

fn literal(b: &[u8], i: &mut usize, lit: &[u8]) -> Result<(), String> {
    if b[*i..].starts_with(lit) {
        *i += lit.len();
        Ok(())
    } else {
        Err("bad literal".into())
    }
}

fn string(b: &[u8], i: &mut usize) -> Result<(), String> {
    expect(b, i, b'"')?;
    while let Some(&c) = b.get(*i) {
        *i += 1;
        match c {
            b'"' => return Ok(()),
            b'\\' => {
                let e = *b.get(*i).ok_or("unterminated escape")?;
                *i += 1;
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let hex = b.get(*i..*i + 4).ok_or("short \\u escape")?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err("bad \\u escape".into());
                        }
                        *i += 4;
                    }
                    _ => return Err("bad escape".into()),
                }
            }
            c if c < 0x20 => return Err("control character in string".into()),
            _ => {}
        }
    }
    Err("unterminated string".into())
}
