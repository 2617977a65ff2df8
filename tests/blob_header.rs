//! The built blob against the real compel toolchain: its header is what `compel hgen`
//! writes, it compiles where CRIU includes it, and the audit finds it clean.

mod common;

use std::path::Path;
use std::process::Command;

use compel_gen::elf::Elf;

fn blob() -> Vec<u8> {
    std::fs::read(criu_pie::BLOB_OBJECT).expect("the build script wrote the blob")
}

#[test]
fn header_is_byte_identical_to_compel_hgen() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("compel-{}.h", std::process::id()));
    let st = Command::new("compel")
        .args(["hgen", "-f", criu_pie::BLOB_OBJECT, "-p", "restorer", "-o"])
        .arg(&out)
        .status()
        .expect("run compel (Debian's criu package; scripts/setup installs it)");
    assert!(st.success(), "compel hgen refused our blob");
    let theirs = std::fs::read(&out).unwrap();
    let ours = std::fs::read(criu_pie::BLOB_HEADER).unwrap();
    assert!(ours == theirs, "restorer-blob.h differs from compel hgen's output");
    // The build script's header and the library's agree too.
    let again = compel_gen::hgen::generate(&blob(), criu_pie::BLOB_OBJECT, "restorer").unwrap();
    assert_eq!(again, ours);
}

#[test]
fn header_compiles_with_compel_includes() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("hdr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("use_header.c");
    std::fs::write(
        &src,
        "#include \"restorer-blob.h\"\n\
         unsigned long entry_off(void) { return restorer_sym__export_restore_vma_ios; }\n\
         void setup(struct parasite_blob_desc *d) { restorer_setup_c_header_desc(d, true); }\n",
    )
    .unwrap();
    let o = common::c_compiler()
        .args(["-Wall", "-Werror", "-c", "-I/usr/include/compel", "-I"])
        .arg(Path::new(criu_pie::BLOB_HEADER).parent().unwrap())
        .arg("-o")
        .arg(dir.join("use_header.o"))
        .arg(&src)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn blob_audit_is_clean() {
    let report = compel_gen::audit::audit(&blob()).unwrap();
    assert!(report.is_clean(), "{report}");
    assert!(report.findings.is_empty(), "not even warnings expected: {report}");
}

#[test]
fn mem_builtins_are_weak_and_never_call_themselves() {
    const BUILTINS: [&[u8]; 5] = [b"memcpy", b"memmove", b"memset", b"memcmp", b"bcmp"];
    let data = blob();
    let elf = Elf::parse(&data).unwrap();
    for name in BUILTINS {
        let sym = elf
            .symbols
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{} missing", String::from_utf8_lossy(name)));
        assert_eq!(
            sym.bind,
            object::elf::STB_WEAK,
            "{}: must be weak so compel's std.lib.a wins inside CRIU",
            sym.display_name()
        );
        let text = &elf.sections[sym.shndx as usize];
        let (start, end) = (sym.value, sym.value + sym.size);
        for rs in elf
            .sections
            .iter()
            .filter(|s| s.is_reloc() && s.info as usize == text.index)
        {
            for r in elf.relocs(rs) {
                let target = &elf.symbols[r.sym];
                if r.offset >= start && r.offset < end {
                    assert!(
                        !BUILTINS.contains(&target.name),
                        "{} calls {} at {:#x}",
                        sym.display_name(),
                        target.display_name(),
                        r.offset
                    );
                }
            }
        }
        // Nothing but the builtins' own code: no call instructions at all.
        let code = &data[(text.offset + start) as usize..(text.offset + end) as usize];
        assert!(!code.contains(&0xe8), "{} contains a call", sym.display_name());
    }
}

#[test]
fn main_job_writes_artifacts_and_a_clean_audit() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("job-{}", std::process::id()));
    let o = Command::new(env!("CARGO_BIN_EXE_criu-pie")).arg(&dir).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("audit: clean"), "{out}");
    for f in [
        "restorer.built-in.o",
        "restorer-blob.h",
        "restorer-audit.txt",
        "restorer-audit.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} not written");
        assert!(out.contains(f), "{f} not printed: {out}");
    }
    // The copied header is compel's for the copied object, path included.
    let obj = dir.join("restorer.built-in.o");
    let theirs = dir.join("compel.h");
    let st = Command::new("compel")
        .arg("hgen")
        .arg("-f")
        .arg(&obj)
        .arg("-p")
        .arg("restorer")
        .arg("-o")
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read(theirs).unwrap(),
        std::fs::read(dir.join("restorer-blob.h")).unwrap()
    );
}
