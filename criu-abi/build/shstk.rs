//! Which x86 CET shadow-stack protocol the tree's CRIU follows, read from its sources.
//!
//! The bindings cannot tell: the layout of `rst_shstk_info` is the same in 4.1.1 and 4.2,
//! and what changed is in CRIU's main process and the arch header's inline functions. Two
//! protocols are known, each recognised by markers in the code (comments and literals
//! removed):
//!
//! - `criu_shstk_remap` (CRIU 4.2): the restorer recreates every shadow-stack VMA inside
//!   its VMA remap (`criu/pie/restorer.c` calls `shstk_vma_restore`) and the temporary
//!   shadow stack is a page of the bootstrap area (`criu/cr-restore.c` calls
//!   `shstk_set_restorer_stack`).
//! - `criu_shstk_late` (CRIU 4.0 to 4.1.1): neither of those; the temporary shadow stack
//!   is the spare page CRIU premaps past the copy (`criu/arch/x86/shstk.c` assigns
//!   `tmp_shstk`), and each thread maps its shadow stack late.
//!
//! Anything else (e.g. a tree between the two, with half of 4.2's change) is refused:
//! unmapping one page too many or too few would corrupt the restored task.

use std::fs;
use std::path::Path;

/// The files the markers are in, relative to the tree's root.
pub const RESTORER_C: &str = "criu/pie/restorer.c";
pub const CR_RESTORE_C: &str = "criu/cr-restore.c";
pub const ARCH_SHSTK_C: &str = "criu/arch/x86/shstk.c";

/// Every cfg this module may set.
pub const CFGS: &[&str] = &["criu_shstk_late", "criu_shstk_remap"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// CRIU 4.0 to 4.1.1.
    Late,
    /// CRIU 4.2.
    Remap,
}

impl Protocol {
    pub fn cfg(self) -> &'static str {
        match self {
            Protocol::Late => "criu_shstk_late",
            Protocol::Remap => "criu_shstk_remap",
        }
    }
}

/// The three sources' texts (an absent file reads as empty: its marker is absent).
pub struct Sources {
    pub restorer_c: String,
    pub cr_restore_c: String,
    pub arch_shstk_c: String,
}

impl Sources {
    pub fn read(root: &Path) -> Sources {
        let read = |p: &str| fs::read_to_string(root.join(p)).unwrap_or_default();
        Sources {
            restorer_c: read(RESTORER_C),
            cr_restore_c: read(CR_RESTORE_C),
            arch_shstk_c: read(ARCH_SHSTK_C),
        }
    }
}

/// The protocol the markers name, or why none does.
pub fn classify(s: &Sources) -> Result<Protocol, String> {
    let remap = calls(&code_of(&s.restorer_c), "shstk_vma_restore");
    let bootstrap = calls(&code_of(&s.cr_restore_c), "shstk_set_restorer_stack");
    let spare = assigns(&code_of(&s.arch_shstk_c), "tmp_shstk");
    match (remap, bootstrap, spare) {
        (true, true, false) => Ok(Protocol::Remap),
        (false, false, true) => Ok(Protocol::Late),
        _ => {
            let say = |found: bool, what: &str| format!("{what}: {}", if found { "yes" } else { "no" });
            Err(format!(
                "cannot tell which x86 shadow-stack (CET) restore protocol this tree follows \
                 ({}; {}; {}). Known: CRIU 4.2's (the first two, not the third) and CRIU \
                 4.0-4.1.1's (only the third). The Rust restorer supports only those two; \
                 a tree with part of 4.2's change is not one of them",
                say(remap, &format!("{RESTORER_C} calls shstk_vma_restore()")),
                say(bootstrap, &format!("{CR_RESTORE_C} calls shstk_set_restorer_stack()")),
                say(spare, &format!("{ARCH_SHSTK_C} assigns tmp_shstk")),
            ))
        }
    }
}

/// C source without its comments and with its string and character literals emptied
/// (a marker named in a comment or a log message is no marker).
pub fn code_of(c: &str) -> String {
    let mut out = String::with_capacity(c.len());
    let mut it = c.chars().peekable();
    while let Some(ch) = it.next() {
        match ch {
            '/' if it.peek() == Some(&'*') => {
                it.next();
                let mut prev = '\0';
                for c in it.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                out.push(' ');
            }
            '/' if it.peek() == Some(&'/') => {
                if it.by_ref().any(|c| c == '\n') {
                    out.push('\n');
                }
            }
            '"' | '\'' => {
                out.push(ch);
                while let Some(c) = it.next() {
                    if c == '\\' {
                        it.next();
                    } else if c == ch || c == '\n' {
                        out.push(c);
                        break;
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// What follows each whole-word occurrence of `ident` in `code`, spaces skipped.
fn after_each<'a>(code: &'a str, ident: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    code.match_indices(ident).filter_map(move |(at, _)| {
        let before = code[..at].chars().next_back();
        let rest = &code[at + ident.len()..];
        let whole = !before.is_some_and(is_ident) && !rest.starts_with(is_ident);
        whole.then(|| rest.trim_start())
    })
}

/// `ident(` somewhere: a call (or a definition, which the files read here do not have).
pub fn calls(code: &str, ident: &str) -> bool {
    after_each(code, ident).any(|r| r.starts_with('('))
}

/// `ident =` (not `==`) somewhere: an assignment.
pub fn assigns(code: &str, ident: &str) -> bool {
    after_each(code, ident).any(|r| r.starts_with('=') && !r.starts_with("=="))
}
