//! The list of what the Rust restorer knows (`src/abi_known.rs`) cannot rot: every module
//! it names exists and mentions the field or constant it is said to handle, and nothing
//! is listed twice. And the ABI guard the build runs on it (`build/abi_guard.rs`) names
//! what a tree adds and refuses an inventory it cannot read.

#[allow(dead_code)]
#[path = "../build/abi_guard.rs"]
mod abi_guard;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use criu_restorer::abi_known::{Known, CONSTS, CONST_PREFIXES, FIELDS};

/// The `.rs` files of a module a list entry names: `crate::a::b` is `src/a/b.rs` and
/// the files under `src/a/b/`, a bare name the workspace crate of that name.
fn files(module: &str) -> Result<Vec<PathBuf>, String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (file, dir) = match module.strip_prefix("crate::") {
        Some(path) => {
            let rel = path.replace("::", "/");
            (Some(here.join(format!("src/{rel}.rs"))), here.join("src").join(rel))
        }
        None => (None, here.join("..").join(module.replace('_', "-")).join("src")),
    };
    let mut out: Vec<PathBuf> = file.into_iter().filter(|f| f.is_file()).collect();
    let mut dirs: Vec<PathBuf> = vec![dir].into_iter().filter(|d| d.is_dir()).collect();
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    if out.is_empty() {
        return Err(format!("{module}: no such module"));
    }
    Ok(out)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `text` names `name` as a whole identifier; for a field (`strict`), where it
/// reads as one: after `.` (an access), before a single `:` (a pattern or literal), or
/// in backquotes (a doc naming it).
fn mentions(text: &str, name: &str, strict: bool) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = &text[i + name.len()..];
        if before.is_some_and(is_ident) || after.chars().next().is_some_and(is_ident) {
            return false;
        }
        if !strict {
            return true;
        }
        let rest = after.trim_start();
        before == Some('.')
            || (rest.starts_with(':') && !rest.starts_with("::"))
            || (before == Some('`') && after.starts_with('`'))
    })
}

fn handled_where(named: &str, name: &str, strict: bool) -> Result<(), String> {
    if files(named)
        .map_err(|e| format!("{name}: {e}"))?
        .iter()
        .any(|f| mentions(&fs::read_to_string(f).unwrap(), name, strict))
    {
        Ok(())
    } else {
        Err(format!(
            "{name}: said to be handled in {named}, which does not mention it"
        ))
    }
}

#[test]
fn every_named_module_exists_and_mentions_what_it_handles() {
    let mut wrong = Vec::new();
    for (s, f, known) in FIELDS {
        if let Known::In(named) = known {
            if let Err(e) = handled_where(named, f, true) {
                wrong.push(format!("{s}.{e}"));
            }
        }
    }
    for (c, known) in CONSTS {
        if let Known::In(named) = known {
            wrong.extend(handled_where(named, c, false).err());
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_entry_is_listed_once_with_a_reason_where_ignored() {
    let mut seen = BTreeSet::new();
    for (s, f, known) in FIELDS {
        assert!(seen.insert(format!("{s}.{f}")), "{s}.{f} listed twice");
        if let Known::Ignored(why) = known {
            assert!(why.len() > 10, "{s}.{f}: say why it is ignored");
        }
    }
    for (c, known) in CONSTS {
        assert!(seen.insert(c.to_string()), "{c} listed twice");
        assert!(
            CONST_PREFIXES.iter().any(|p| c.starts_with(p)),
            "{c}: not a guarded prefix"
        );
        if let Known::Ignored(why) = known {
            assert!(why.len() > 10, "{c}: say why it is ignored");
        }
    }
}

#[test]
fn mentions_reads_accesses_patterns_and_doc_names() {
    assert!(mentions("let x = args.t;", "t", true));
    assert!(mentions("Foo { uffd: 1 }", "uffd", true));
    assert!(mentions("/// `posix_timer_cr_ids` (4.2)", "posix_timer_cr_ids", true));
    assert!(!mentions("let t = 1; tt.x", "t", true));
    assert!(!mentions("args.uffd_x", "uffd", true));
    assert!(!mentions("use a::t::b;", "t", true));
    assert!(mentions("if v.is(VMA_AREA_GUARD) {", "VMA_AREA_GUARD", false));
    assert!(!mentions("VMA_AREA_GUARDS", "VMA_AREA_GUARD", false));
}

/// An inventory with every field and constant the list knows, as criu-abi writes it.
fn known_inventory() -> String {
    let mut text: String = FIELDS.iter().map(|(s, f, _)| format!("field {s} {f}\n")).collect();
    text.extend(CONSTS.iter().map(|(c, _)| format!("const {c}\n")));
    text
}

#[test]
fn the_guard_passes_what_the_list_knows_and_what_it_does_not_guard() {
    let inv = known_inventory() + "field rt_sigframe uc\nconst LOG_DEBUG\nconst CR_STATE_COMPLETE\n";
    assert_eq!(abi_guard::unknown(&inv).unwrap(), Vec::<String>::new());
    assert!(abi_guard::check("/criu", &inv).is_empty());
}

#[test]
fn the_guard_names_a_new_field_and_a_new_vma_constant() {
    let inv = known_inventory() + "field task_restore_args compress_pages\nconst VMA_AREA_LZ4\n";
    assert_eq!(
        abi_guard::unknown(&inv).unwrap(),
        ["task_restore_args.compress_pages", "VMA_AREA_LZ4"]
    );
    let lines = abi_guard::check("/src/criu", &inv);
    assert!(lines.iter().all(|l| l.starts_with(abi_guard::MARKER)), "{lines:?}");
    let text = lines.join("\n");
    for part in [
        "CRIU tree /src/criu passes its restorer",
        "task_restore_args.compress_pages",
        "VMA_AREA_LZ4",
        "which the Rust restorer does not handle",
        "install --criu /src/criu --restore-original",
        "criu-restorer/src/abi_known.rs",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

#[test]
fn the_guard_refuses_an_inventory_it_cannot_read() {
    // A guarded struct with no field at all: the inventory is not what the guard knows.
    let inv: String = known_inventory()
        .lines()
        .filter(|l| !l.starts_with("field VmaEntry "))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = abi_guard::unknown(&inv).unwrap_err();
    assert!(e.contains("no fields for VmaEntry"), "{e}");
    let e = abi_guard::unknown("fields task_restore_args t\n").unwrap_err();
    assert!(e.contains("unreadable inventory line"), "{e}");
    assert!(abi_guard::check("/criu", "").iter().any(|l| l.contains("cannot check")));
}
