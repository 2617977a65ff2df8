//! Differential tests: for a corpus of C parasites built as CRIU builds them, our header
//! (library and CLI, both argument orders) must equal `compel hgen`'s byte for byte.
//!
//! These tests fail, rather than skip, when compel, cc or ld is missing.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use compel_gen::hgen::{default_prefix, exports, generate};

const CALLS: &str = r#"
static int __attribute__((noinline)) add(int a, int b) { return a + b; }
int __attribute__((noinline)) twice(int x) { return add(x, x); }
static int __attribute__((noinline)) rec(int n) { return n <= 1 ? 1 : n * rec(n - 1); }
int __export_calls_entry(int x) { return twice(x) + add(x, 1) + rec(x & 7); }
int __export_calls_other(int x) { return __export_calls_entry(x - 1); }
"#;

const DATA: &str = r#"
int counter = 42;
long table_bss[16];
static int zeroed;
const char *greeting = "hello, restorer";
const char banner[] = "compel-gen differential";
__attribute__((aligned(64))) int aligned_data[5] = { 1, 2, 3, 4, 5 };
__attribute__((aligned(256))) const char aligned_ro[3] = "ab";
__attribute__((aligned(128))) char aligned_bss[7];
int __export_data_entry(int i)
{
	zeroed += i;
	table_bss[i & 15] = counter;
	aligned_bss[i % 7] = (char)i;
	return greeting[i & 7] + banner[i % sizeof(banner)] + aligned_data[i % 5] + aligned_ro[i & 1] + zeroed;
}
"#;

const FNPTRS: &str = r#"
static int f0(int x) { return x; }
static int f1(int x) { return x * 3; }
int f2(int x) { return x - 1; }
int (*const ops[])(int) = { f0, f1, f2 };
int (*mutable_ops[3])(int) = { f2, f1, f0 };
static const char *const names[] = { "zero", "one", "two" };
const char *__export_name_of(int i) { return names[i % 3]; }
int __export_dispatch(int i, int x) { return ops[i % 3](x) + mutable_ops[(i + 1) % 3](x); }
"#;

const GOT_USER: &str = r#"
extern int shared_counter;
extern int shared_array[];
extern int shared_fn(int);
int __export_got_entry(int x) { shared_counter += x; return shared_fn(shared_array[x & 3]) + shared_counter; }
"#;

const GOT_PROVIDER: &str = r#"
int shared_counter = 3;
int shared_array[4] = { 10, 20, 30, 40 };
int shared_fn(int x) { return x + shared_counter; }
"#;

const SWITCH: &str = r#"
__asm__(".globl __export_abs_value\n.set __export_abs_value, 0x1234\n");
int __export_classify(int x)
{
	switch (x) {
	case 0: return 11; case 1: return 23; case 2: return 35; case 3: return 47;
	case 4: return 59; case 5: return 61; case 6: return 73; case 7: return 85;
	default: return -1;
	}
}
"#;

const MULTI_A: &str = r#"
extern int b_value(int);
extern const char *c_label;
static int local_a = 5;
int a_value(int x) { return x + local_a; }
int __export_multi_entry(int x) { return b_value(x) + c_label[x & 3]; }
"#;

const MULTI_B: &str = r#"
extern int a_value(int);
long b_store[9];
int b_value(int x) { b_store[x % 9] = x; return a_value(x) * 2; }
"#;

const MULTI_C: &str = r#"
const char *c_label = "multi-object";
__attribute__((aligned(32))) long c_words[3] = { 1, 2, 3 };
long __export_c_sum(void) { return c_words[0] + c_words[1] + c_words[2]; }
"#;

const NO_PIC: &[&str] = &[
    "-Wstrict-prototypes",
    "-ffreestanding",
    "-fno-stack-protector",
    "-nostdlib",
    "-fomit-frame-pointer",
    "-fno-pic",
];

/// How a case's objects become the input of hgen.
#[derive(Clone, Copy)]
enum Link {
    /// compel's linker script plus std.lib.a, as CRIU does.
    Compel,
    /// Plain `ld -r`: `.bss` stays NOBITS, `.eh_frame` and friends stay in.
    Plain,
}

/// Build `sources` with `-O<opt>` and link them into `dir/<out_name>`.
fn build(
    dir: &Path,
    sources: &[(&str, &str)],
    base: &[&str],
    opt: &str,
    extra: &[&str],
    link: Link,
    out_name: &str,
) -> PathBuf {
    let mut flags = vec![opt];
    flags.extend_from_slice(extra);
    let mut objs: Vec<PathBuf> = sources
        .iter()
        .map(|(name, src)| cc_with(dir, &format!("{name}{opt}"), src, base, &flags))
        .collect();
    let out = dir.join(out_name);
    match link {
        Link::Compel => {
            objs.push(cc_with(dir, &format!("glue{opt}"), PARASITE_GLUE, base, &flags));
            link_compel(&objs, &out);
        }
        Link::Plain => link_plain(&objs, &out),
    }
    out
}

/// Our header must equal compel's: through the library, and through the CLI with both
/// argument orders. Returns compel's header.
fn assert_same(dir: &Path, input: &str, prefix: Option<&str>) -> Vec<u8> {
    let expected = compel_hgen(dir, input, "compel.h", prefix)
        .unwrap_or_else(|e| panic!("compel hgen failed on valid input {input}: {e}"));

    let data = fs::read(dir.join(input)).unwrap();
    let p = prefix
        .map(str::to_string)
        .or_else(|| default_prefix(input))
        .expect("test inputs have a default prefix");
    let lib = generate(&data, input, &p).unwrap_or_else(|e| panic!("generate({input}): {e}"));
    assert_header_eq(&lib, &expected, &format!("library, {input}"));
    // `exports` lists exactly the symbols compel's header defines, in its order.
    let define = format!("#define {p}_sym");
    let defined: Vec<String> = text(&expected)
        .lines()
        .filter_map(|l| l.strip_prefix(define.as_str()))
        .map(|rest| rest.split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(exports(&data).unwrap(), defined, "exports({input})");

    let mut a = vec!["hgen", "-f", input, "-o", "ours1.h"];
    let mut b = vec!["--file", input, "--output", "ours2.h"];
    if let Some(p) = prefix {
        a.extend(["-p", p]);
        b.extend(["--prefix", p]);
    }
    b.push("hgen");
    for (args, out) in [(a, "ours1.h"), (b, "ours2.h")] {
        let o = ours(dir, &args);
        assert!(o.status.success(), "compel-gen {args:?} failed: {}", stderr(&o));
        let got = fs::read(dir.join(out)).unwrap();
        assert_header_eq(&got, &expected, &format!("CLI {args:?}"));
    }
    expected
}

fn assert_header_eq(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let (g, w) = (String::from_utf8_lossy(got), String::from_utf8_lossy(want));
    let line = g.lines().zip(w.lines()).position(|(a, b)| a != b);
    match line {
        Some(n) => panic!(
            "{what}: header differs from compel's at line {}:\n ours:   {:?}\n compel: {:?}",
            n + 1,
            g.lines().nth(n).unwrap_or(""),
            w.lines().nth(n).unwrap_or("")
        ),
        None => panic!(
            "{what}: header differs from compel's in length: {} vs {} bytes",
            got.len(),
            want.len()
        ),
    }
}

fn text(h: &[u8]) -> String {
    String::from_utf8(h.to_vec()).expect("header is UTF-8")
}

/// Build and compare one case at -O0 and -O2; returns the -O2 header for extra checks.
fn check_case(test: &str, sources: &[(&str, &str)], base: &[&str], extra: &[&str], link: Link) -> String {
    let dir = scratch(test);
    let mut last = Vec::new();
    for opt in ["-O0", "-O2"] {
        let input = format!("{test}{}.built-in.o", opt.trim_start_matches('-'));
        build(&dir, sources, base, opt, extra, link, &input);
        last = assert_same(&dir, &input, None);
        assert_same(&dir, &input, Some("custom_prefix"));
    }
    text(&last)
}

#[test]
fn functions_calling_each_other_and_exports() {
    let h = check_case("calls", &[("calls", CALLS)], COMPEL_CFLAGS, &[], Link::Compel);
    assert!(h.contains("#define callsO2_sym__export_calls_entry 0x"), "{h}");
    assert!(h.contains("#define callsO2_sym__export_parasite_head_start 0x"), "{h}");
}

#[test]
fn global_data_bss_rodata_and_alignment_gaps() {
    let h = check_case("data", &[("data", DATA)], COMPEL_CFLAGS, &[], Link::Compel);
    // greeting is a pointer in .data: an absolute 64-bit relocation.
    assert!(h.contains("/* R_X86_64_64 */"), "{h}");
    assert!(h.contains("pbd->hdr.data_off\t= 0x"), "{h}");
}

#[test]
fn function_pointer_tables() {
    let h = check_case("fnptrs", &[("fnptrs", FNPTRS)], COMPEL_CFLAGS, &[], Link::Compel);
    assert!(h.matches("/* R_X86_64_64 */").count() >= 6, "{h}");
}

#[test]
fn extern_globals_through_the_got() {
    let h = check_case(
        "got",
        &[("user", GOT_USER), ("provider", GOT_PROVIDER)],
        COMPEL_CFLAGS,
        &["-fPIC"],
        Link::Compel,
    );
    assert!(h.contains("COMPEL_TYPE_LONG | COMPEL_TYPE_GOTPCREL"), "{h}");
    assert!(
        !h.contains("pbd->hdr.got_off + 0*sizeof(long)"),
        "GOT slots must be counted: {h}"
    );
}

#[test]
fn absolute_export_and_jump_tables() {
    let h = check_case("switch", &[("switch", SWITCH)], COMPEL_CFLAGS, &[], Link::Compel);
    assert!(h.contains("#define switchO2_sym__export_abs_value 0x1234\n"), "{h}");
}

#[test]
fn multiple_objects() {
    let h = check_case(
        "multi",
        &[("a", MULTI_A), ("b", MULTI_B), ("c", MULTI_C)],
        COMPEL_CFLAGS,
        &[],
        Link::Compel,
    );
    assert!(h.contains("#define multiO2_sym__export_c_sum 0x"), "{h}");
}

#[test]
fn non_pic_code_uses_32_bit_absolute_relocations() {
    let h = check_case(
        "nopic",
        &[("data", DATA), ("fnptrs", FNPTRS)],
        NO_PIC,
        &[],
        Link::Compel,
    );
    assert!(h.contains("COMPEL_TYPE_INT,  .addend"), "{h}");
}

#[test]
fn plain_ld_r_without_compel_script() {
    // NOBITS .bss (compel copies its file bytes), .eh_frame with PC32 relocations,
    // .comment and .note sections, sections in compiler order.
    let h = check_case(
        "plain",
        &[("data", DATA), ("fnptrs", FNPTRS), ("calls", CALLS)],
        COMPEL_CFLAGS,
        &[],
        Link::Plain,
    );
    assert!(h.contains("pbd->hdr.data_off\t= 0x"), "{h}");
}

#[test]
fn debug_info_relocations_are_emitted_like_compel() {
    // Without compel's script the .debug_* sections survive; compel emits table entries
    // for their absolute relocations too (at their unallocated addresses).
    let h = check_case(
        "debug",
        &[("data", DATA), ("calls", CALLS)],
        COMPEL_CFLAGS,
        &["-g"],
        Link::Plain,
    );
    assert!(h.matches("COMPEL_TYPE_INT").count() > 10, "{h}");
}

#[test]
fn single_unlinked_object() {
    let dir = scratch("unlinked");
    for (case, src) in [("fnptrs", FNPTRS), ("textonly", CALLS)] {
        for opt in ["-O0", "-O2"] {
            let name = format!("{case}{}", opt.trim_start_matches('-'));
            cc(&dir, &name, src, &[opt]);
            assert_same(&dir, &format!("{name}.o"), None);
            let h = text(&assert_same(&dir, &format!("{name}.o"), Some("p")));
            // Pointers live in .data.rel.*, so .data is empty: compel prints a bare 0.
            assert!(h.contains("data_off\t= 0;\n"), "{h}");
        }
    }
}

#[test]
fn default_prefix_from_file_names_and_paths() {
    let dir = scratch("prefixes");
    let obj = build(
        &dir,
        &[("calls", CALLS)],
        COMPEL_CFLAGS,
        "-O2",
        &[],
        Link::Compel,
        "x.o",
    );
    fs::create_dir_all(dir.join("sub.dir")).unwrap();
    for name in [
        "my-blob.built-in.o",
        "restorer.built-in.o",
        "x86_64.o",
        "sub.dir/parasite-v2.o",
    ] {
        fs::copy(&obj, dir.join(name)).unwrap();
        let h = text(&assert_same(&dir, name, None));
        let p = default_prefix(name).unwrap();
        assert!(
            h.contains(&format!("static __maybe_unused const char {p}_blob[]")),
            "{name}: {h}"
        );
    }
    // The comment names the -f argument as given, absolute or relative.
    let abs = dir.join("restorer.built-in.o");
    let h = text(&assert_same(&dir, abs.to_str().unwrap(), None));
    assert!(h.starts_with(&format!("/* Autogenerated from {} */\n", abs.display())));
    assert_same(&dir, "./restorer.built-in.o", None);

    fs::copy(&obj, dir.join("1blob.o")).unwrap();
    // Neither name gives a prefix: both refuse, with exit status 2.
    let o = ours(&dir, &["hgen", "-f", "1blob.o", "-o", "2.h"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("prefix"));
}

#[test]
fn fallback_prefix_matches_compel_exactly() {
    let dir = scratch("fallback");
    let obj = build(
        &dir,
        &[("calls", CALLS)],
        COMPEL_CFLAGS,
        "-O0",
        &[],
        Link::Compel,
        "9lives.o",
    );
    assert!(obj.exists());
    let want = compel_hgen(&dir, "9lives.o", "out-name.h", None).unwrap();
    let o = ours(&dir, &["-f", "9lives.o", "-o", "out-name.h", "hgen"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_header_eq(&fs::read(dir.join("out-name.h")).unwrap(), &want, "fallback prefix");
}

/// Objects compel refuses: we refuse them too, and remove the output file as it does.
#[test]
fn compel_failures_are_our_failures() {
    let dir = scratch("failures");
    let cases: [(&str, &str, &[&str], &str); 3] = [
        (
            "syscall",
            "long syscall(long n, ...);\nint __export_bad(void) { return (int)syscall(39); }\n",
            &[],
            "syscall",
        ),
        (
            "common",
            "int shared;\nint __export_bad(void) { return shared++; }\n",
            &["-fcommon"],
            "COMMON",
        ),
        (
            "tls",
            "__thread int t;\nint __export_bad(void) { return t++; }\n",
            &[],
            "relocation",
        ),
    ];
    for (name, src, extra, needle) in cases {
        for opt in ["-O0", "-O2"] {
            let input = format!("{name}{}.o", opt.trim_start_matches('-'));
            build(&dir, &[(name, src)], COMPEL_CFLAGS, opt, extra, Link::Compel, &input);
            let err = compel_hgen(&dir, &input, "compel.h", None).expect_err("compel must refuse this object");
            assert!(!err.is_empty());

            let data = fs::read(dir.join(&input)).unwrap();
            let e = generate(&data, &input, "p").expect_err("generate must refuse what compel refuses");
            assert!(e.to_string().contains(needle), "{input}: {e}");

            fs::write(dir.join("ours.h"), "stale").unwrap();
            let o = ours(&dir, &["hgen", "-f", &input, "-o", "ours.h"]);
            assert_eq!(o.status.code(), Some(1), "{input}: {}", stderr(&o));
            assert!(stderr(&o).contains(needle), "{}", stderr(&o));
            assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
            assert!(!dir.join("ours.h").exists(), "output must be removed on failure");
        }
    }
    let e = generate(&fs::read(dir.join("syscallO2.o")).unwrap(), "x", "p").unwrap_err();
    assert!(
        e.to_string()
            .contains("Unexpected undefined symbol: `syscall'. External symbol in PIE?"),
        "{e}"
    );
}

/// Rewrite every `SHT_RELA` section of a (valid, unlinked) object as `SHT_REL`, moving
/// each addend into the relocated bytes, as a REL-producing toolchain would.
fn rela_to_rel(d: &[u8]) -> Vec<u8> {
    let mut c = d.to_vec();
    let sections = section_headers(d);
    for (name, h) in &sections {
        if get(d, h + SH_TYPE, 4) != 4 {
            continue;
        }
        let off = get(d, h + SH_OFFSET, 8) as usize;
        let n = get(d, h + SH_SIZE, 8) as usize / 24;
        let target = sections[get(d, h + SH_INFO, 4) as usize].1;
        let target_off = get(d, target + SH_OFFSET, 8) as usize;
        for k in 0..n {
            let e = off + k * 24;
            let (r_offset, r_info, addend) = (get(d, e, 8), get(d, e + 8, 8), get(d, e + 16, 8));
            let width = if r_info & 0xffff_ffff == 1 { 8 } else { 4 };
            put(&mut c, target_off + r_offset as usize, width, addend);
            put(&mut c, off + k * 16, 8, r_offset);
            put(&mut c, off + k * 16 + 8, 8, r_info);
        }
        put(&mut c, h + SH_TYPE, 4, 9);
        put(&mut c, h + SH_ENTSIZE, 8, 16);
        put(&mut c, h + SH_SIZE, 8, (n * 16) as u64);
        assert!(name.starts_with(".rela"), "{name}");
    }
    c
}

#[test]
fn rel_sections_take_addends_from_the_relocated_bytes() {
    let dir = scratch("rel");
    for (case, src) in [("fnptrs", FNPTRS), ("data", DATA)] {
        for opt in ["-O0", "-O2"] {
            let name = format!("{case}{}", opt.trim_start_matches('-'));
            let obj = cc(&dir, &name, src, &[opt]);
            let rel = rela_to_rel(&fs::read(&obj).unwrap());
            let input = format!("{name}-rel.o");
            fs::write(dir.join(&input), &rel).unwrap();
            let h = text(&assert_same(&dir, &input, None));
            assert!(h.contains("/* R_X86_64_64 */"), "{h}");
        }
    }
}

const RUST_PARASITE: &str = r#"#![no_std]
use core::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(3);
static mut SCRATCH: [u8; 64] = [0; 64];
static GREETING: &str = "hello from a rust parasite";
static TABLE: [fn(u32) -> u32; 3] = [double, triple, |x| x ^ 0x55];

#[inline(never)]
fn double(x: u32) -> u32 { x.wrapping_mul(2) }
#[inline(never)]
fn triple(x: u32) -> u32 { x.wrapping_mul(3) }

#[no_mangle]
pub extern "C" fn __export_rust_entry(x: u32) -> u32 {
    let f = TABLE.get((x % 3) as usize).copied().unwrap_or(double);
    let byte = GREETING.as_bytes().get((x % 16) as usize).copied().unwrap_or(0);
    // SAFETY: the parasite runs on one thread, so nothing else touches SCRATCH, and
    // `x % 64` indexes inside its 64 bytes.
    unsafe {
        let p = core::ptr::addr_of_mut!(SCRATCH) as *mut u8;
        p.add((x % 64) as usize).write_volatile(byte);
    }
    f(x).wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed)).wrapping_add(u32::from(byte))
}
"#;

#[test]
fn rust_object_through_compel_script() {
    let dir = scratch("rust");
    let rs = dir.join("parasite.rs");
    fs::write(&rs, RUST_PARASITE).unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    // No -O0: unoptimised core generics keep calls into core's panic machinery.
    for opt in ["1", "2", "3", "s", "z"] {
        let obj = dir.join(format!("rust{opt}.o"));
        let out = std::process::Command::new(&rustc)
            .args(["--emit=obj", "--crate-type=lib", "--edition=2021", "-C", "panic=abort"])
            .args([
                "-C",
                &format!("opt-level={opt}"),
                "-C",
                "relocation-model=pie",
                "-C",
                "debuginfo=0",
            ])
            .arg(&rs)
            .arg("-o")
            .arg(&obj)
            .output()
            .expect("run rustc");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let glue = cc(&dir, &format!("glue{opt}"), PARASITE_GLUE, &["-O2"]);
        let input = format!("rust{opt}.built-in.o");
        link_compel(&[obj, glue], &dir.join(&input));
        let h = text(&assert_same(&dir, &input, None));
        assert!(h.contains("_sym__export_rust_entry 0x"), "{h}");
    }
}
