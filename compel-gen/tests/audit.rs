//! Audit tests: real C and Rust objects with the problems the audit must report, all
//! in one run, with the CLI's text, JSON and exit statuses.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use compel_gen::audit::{audit, Finding, Kind, Level, Report};

const SYSCALL: &str = r#"
long syscall(long n, ...);
int __attribute__((noinline)) restore_task(int pid) { return (int)syscall(62, pid, 9); }
int __export_restore(int pid) { return restore_task(pid) + 1; }
"#;

const COMMON: &str = r#"
int shared_state;
int __export_bump(void) { return ++shared_state; }
"#;

const TLS: &str = r#"
__thread int per_thread;
int __export_tls(void) { return ++per_thread; }
"#;

const CTOR: &str = r#"
int ready;
static void __attribute__((constructor)) setup(void) { ready = 1; }
int __export_ready(void) { return ready; }
"#;

const CLEAN: &str = r#"
int counter = 1;
static const char msg[] = "clean";
int __export_clean(int x) { return counter + msg[x & 3]; }
"#;

/// A C object linked the way CRIU links parasites.
fn parasite(dir: &Path, name: &str, sources: &[&str], extra: &[&str]) -> PathBuf {
    let mut flags = vec!["-O2"];
    flags.extend_from_slice(extra);
    let mut objs: Vec<PathBuf> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| cc(dir, &format!("{name}-{i}"), s, &flags))
        .collect();
    objs.push(cc(dir, &format!("{name}-glue"), PARASITE_GLUE, &flags));
    let out = dir.join(format!("{name}.built-in.o"));
    link_compel(&objs, &out);
    out
}

fn audit_file(path: &Path) -> Report {
    audit(&fs::read(path).unwrap()).unwrap_or_else(|e| panic!("audit {}: {e}", path.display()))
}

fn of_kind(r: &Report, kind: Kind) -> Vec<&Finding> {
    r.findings.iter().filter(|f| f.kind == kind).collect()
}

#[test]
fn undefined_syscall_names_symbol_function_and_hint() {
    let dir = scratch("audit-syscall");
    let obj = parasite(&dir, "syscall", &[SYSCALL], &[]);
    let r = audit_file(&obj);
    assert!(!r.is_clean());
    let u = of_kind(&r, Kind::UndefinedSymbol);
    assert_eq!(u.len(), 1, "{r}");
    let f = u[0];
    assert_eq!(f.level, Level::Error);
    assert_eq!(f.symbol.as_deref(), Some("syscall"));
    assert_eq!(f.function.as_deref(), Some("restore_task"), "{r}");
    assert_eq!(f.section.as_deref(), Some(".text"));
    assert!(f.offset.is_some());
    assert!(f.hint.as_deref().unwrap().contains("pie_sys"), "{r}");

    let o = ours(&dir, &["audit", obj.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.contains("`syscall'"))
        .expect("a line for syscall");
    assert!(
        line.starts_with("error: .text+0x") && line.contains(" in restore_task: "),
        "{line}"
    );
    assert!(line.contains("(hint: use the restorer's typed wrapper"), "{line}");
    assert!(out.lines().last().unwrap().contains("1 error"), "{out}");
}

#[test]
fn common_symbol_is_reported() {
    let dir = scratch("audit-common");
    let obj = parasite(&dir, "common", &[COMMON], &["-fcommon"]);
    let r = audit_file(&obj);
    let c = of_kind(&r, Kind::CommonSymbol);
    assert_eq!(c.len(), 1, "{r}");
    assert_eq!(c[0].symbol.as_deref(), Some("shared_state"));
    assert_eq!(c[0].function.as_deref(), Some("__export_bump"), "{r}");
    assert!(!r.is_clean());
}

#[test]
fn tls_variable_is_reported() {
    let dir = scratch("audit-tls");
    let obj = parasite(&dir, "tls", &[TLS], &[]);
    let r = audit_file(&obj);
    let t = of_kind(&r, Kind::TlsSection);
    assert!(t.iter().any(|f| f.section.as_deref() == Some(".tbss")), "{r}");
    let rel = of_kind(&r, Kind::UnsupportedRelocation);
    assert!(rel.iter().any(|f| f.message.contains("R_X86_64_TPOFF32")), "{r}");
    assert!(
        rel.iter().all(|f| f.hint.as_deref().unwrap().contains("thread-locals")),
        "{r}"
    );
}

#[test]
fn dynamic_tls_needs_tls_get_addr() {
    let dir = scratch("audit-tls-gd");
    let obj = cc(
        &dir,
        "gd",
        "extern __thread int t;\nint __export_g(void) { return t; }\n",
        &["-O2", "-fPIC"],
    );
    let r = audit_file(&obj);
    let u = of_kind(&r, Kind::UndefinedSymbol);
    assert!(
        u.iter()
            .any(|f| f.symbol.as_deref() == Some("__tls_get_addr")
                && f.hint.as_deref().unwrap().contains("thread-locals")),
        "{r}"
    );
    assert!(
        of_kind(&r, Kind::UnsupportedRelocation)
            .iter()
            .any(|f| f.message.contains("R_X86_64_TLSGD")),
        "{r}"
    );
}

#[test]
fn large_code_model_relocations_are_named() {
    let dir = scratch("audit-large");
    let obj = cc(
        &dir,
        "large",
        "extern int ext;\nint __export_f(int x) { return x + ext; }\n",
        &["-O2", "-mcmodel=large"],
    );
    let r = audit_file(&obj);
    let msgs: Vec<&str> = of_kind(&r, Kind::UnsupportedRelocation)
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert!(msgs.iter().any(|m| m.contains("R_X86_64_GOTPC64")), "{r}");
    assert!(msgs.iter().any(|m| m.contains("R_X86_64_GOT64")), "{r}");
    assert!(of_kind(&r, Kind::UnsupportedRelocation)
        .iter()
        .all(|f| f.function.as_deref() == Some("__export_f")));
}

#[test]
fn constructor_is_reported() {
    let dir = scratch("audit-ctor");
    let obj = parasite(&dir, "ctor", &[CTOR], &[]);
    let r = audit_file(&obj);
    let c = of_kind(&r, Kind::InitArraySection);
    assert!(c.iter().any(|f| f.section.as_deref() == Some(".init_array")), "{r}");
    assert!(!r.is_clean());
}

#[test]
fn every_problem_in_one_run() {
    let dir = scratch("audit-all");
    let all = format!("{SYSCALL}{COMMON}{TLS}{CTOR}");
    let obj = parasite(&dir, "all", &[&all], &["-fcommon"]);
    let r = audit_file(&obj);
    for kind in [
        Kind::UndefinedSymbol,
        Kind::CommonSymbol,
        Kind::TlsSection,
        Kind::UnsupportedRelocation,
        Kind::InitArraySection,
    ] {
        assert!(!of_kind(&r, kind).is_empty(), "{kind:?} missing from:\n{r}");
    }
    let o = ours(&dir, &["audit", "all.built-in.o"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    for needle in ["`syscall'", "shared_state", ".tbss", ".init_array", "R_X86_64_TPOFF32"] {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    assert_eq!(
        out.lines().count(),
        r.findings.len() + r.stacks.len() + 1,
        "one line per finding, one per stack root, plus a summary:\n{out}"
    );

    let o = ours(&dir, &["audit", "all.built-in.o", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let json = stdout(&o);
    assert_valid_json(&json);
    assert!(json.contains("\"clean\": false"));
    assert!(json.contains("\"kind\": \"undefined-symbol\""));
    assert!(json.contains("\"symbol\": \"syscall\""));
    assert!(json.contains("\"function\": \"restore_task\""));
    assert_eq!(json.matches("\"level\": ").count(), r.findings.len());
}

#[test]
fn rust_memcpy_without_builtins() {
    let dir = scratch("audit-rust");
    let obj = rustc_obj(
        &dir,
        "copy",
        r#"#![no_std]
/// # Safety
/// `dst` and `src` must be valid for `n` bytes and must not overlap.
#[no_mangle]
pub unsafe extern "C" fn copy_state(dst: *mut [u8; 4096], src: *const [u8; 4096], n: usize) {
    // SAFETY: the caller keeps both pointers valid for `n` bytes, without overlap.
    unsafe { core::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, n) };
}
"#,
    );
    let r = audit_file(&obj);
    let u = of_kind(&r, Kind::UndefinedSymbol);
    let m = u
        .iter()
        .find(|f| f.symbol.as_deref() == Some("memcpy"))
        .unwrap_or_else(|| panic!("no memcpy in:\n{r}"));
    assert_eq!(m.function.as_deref(), Some("copy_state"), "{r}");
    assert!(m.hint.as_deref().unwrap().contains("mem builtins"), "{r}");
    let o = ours(&dir, &["audit", "copy.o"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("provide mem builtins"));
}

#[test]
fn clean_object_exits_zero() {
    let dir = scratch("audit-clean");
    let obj = parasite(&dir, "clean", &[CLEAN], &[]);
    let r = audit_file(&obj);
    assert!(r.is_clean() && r.findings.is_empty(), "{r}");
    let o = ours(&dir, &["audit", obj.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.ends_with("audit: clean: 0 errors, 0 warnings\n"), "{out}");
    // The stack check's deepest path from each entry, under its budget.
    let stacks: Vec<&str> = out.lines().filter(|l| l.starts_with("stack: ")).collect();
    assert_eq!(stacks.len() + 1, out.lines().count(), "{out}");
    assert!(stacks.iter().any(|l| l.starts_with("stack: __export_clean: ")), "{out}");
    let o = ours(&dir, &["audit", "--json", "clean.built-in.o"]);
    assert_eq!(o.status.code(), Some(0));
    assert_valid_json(&stdout(&o));
    assert!(stdout(&o).contains("\"findings\": []"));
}

#[test]
fn warnings_alone_are_clean() {
    let dir = scratch("audit-warn");
    let obj = cc(
        &dir,
        "textonly",
        "int __export_f(int x) { return x * 7; }\n",
        &["-O2", "-fno-asynchronous-unwind-tables"],
    );
    let r = audit_file(&obj);
    assert_eq!(r.findings.len(), 1, "{r}");
    assert_eq!(r.findings[0].kind, Kind::MissingHeadStart);
    assert_eq!(r.findings[0].level, Level::Warning);
    assert!(r.is_clean());
    let o = ours(&dir, &["audit", "textonly.o"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("warning: "));
}

#[test]
fn unaligned_data_and_nobits_sections() {
    let dir = scratch("audit-layout");
    let src = "int d = 5; int b; int __export_f(int x) { b += x; return x * d; }\n";
    // Unlinked: .data right after .text, NOBITS .bss.
    let obj = cc(&dir, "raw", src, &["-O2"]);
    let r = audit_file(&obj);
    let u = of_kind(&r, Kind::UnalignedData);
    assert_eq!(u.len(), 1, "{r}");
    assert_eq!(u[0].level, Level::Error);
    assert_eq!(u[0].section.as_deref(), Some(".data"));
    let n = of_kind(&r, Kind::NobitsSection);
    assert_eq!(n.len(), 1, "{r}");
    assert_eq!(n[0].section.as_deref(), Some(".bss"));
    // compel's script puts .data on a page and .bss inside it.
    let linked = parasite(&dir, "linked", &[src], &[]);
    let r = audit_file(&linked);
    assert!(
        of_kind(&r, Kind::UnalignedData).is_empty() && of_kind(&r, Kind::NobitsSection).is_empty(),
        "{r}"
    );
}

#[test]
fn exit_status_two_for_unreadable_or_malformed_input() {
    let dir = scratch("audit-exit2");
    let o = ours(&dir, &["audit", "does-not-exist.o"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    fs::write(dir.join("junk.o"), b"\x7fELF\x02\x01\x01\0garbage").unwrap();
    let o = ours(&dir, &["audit", "junk.o"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let o = ours(&dir, &["audit"]);
    assert_eq!(o.status.code(), Some(2));
}
