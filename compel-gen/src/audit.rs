//! The audit: every reason compel would refuse an object, or the blob would misbehave,
//! collected in one pass instead of stopping at the first.
//!
//! Only a malformed or non-x86-64 file is an `Err`; everything else is a finding.

use std::collections::HashMap;

use object::elf::{SHF_TLS, SHF_WRITE, SHT_FINI_ARRAY, SHT_INIT_ARRAY, SHT_NOBITS, SHT_PREINIT_ARRAY};

use crate::elf::{byte_range, Elf, Reloc, Section};
use crate::error::{printable, Error};
use crate::hgen::{check_compel_ident, MAX_ALIGNMENT_GAPS, MAX_BLOB_SIZE};
use crate::hints;
use crate::layout::{layout, Layout};
use crate::locate::Locator;
use crate::relocs;
use crate::rules::{self, Violation};
use crate::stack;

pub use crate::report::{Finding, Kind, Level, Report};

/// The symbol the generated header's setup function points the parasite at.
const HEAD_START: &[u8] = b"__export_parasite_head_start";
const PAGE: u64 = 0x1000;

/// What the audit is told beyond the object.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Roots of the stack check beyond CRIU's entry points: thread entries reached
    /// through function pointers, each with the stack it runs on.
    pub stack_roots: Vec<stack::Root>,
}

/// Audit the object `data`, its stacks with CRIU's entry points as roots.
pub fn audit(data: &[u8]) -> Result<Report, Error> {
    audit_with(data, &Options::default())
}

/// Audit the object `data` with `opts`.
pub fn audit_with(data: &[u8], opts: &Options) -> Result<Report, Error> {
    let elf = Elf::parse(data)?;
    let mut a = Auditor {
        elf: &elf,
        findings: Vec::new(),
        grouped: HashMap::new(),
        common_refs: HashMap::new(),
    };

    if let Err(e) = check_compel_ident(&elf.ident) {
        a.push(Level::Error, Kind::Header, None, e.to_string(), None);
    }
    let layout = match layout(&elf.sections) {
        Ok(l) => Some(l),
        Err(e) => {
            a.push(Level::Error, Kind::Layout, None, e.to_string(), None);
            None
        }
    };
    for s in &elf.sections {
        a.check_section(s, layout.as_ref());
    }
    if let Some(l) = &layout {
        a.check_blob_size(l);
    }
    a.check_relocations();
    a.check_symbols();
    let stacks = stack::analyze(&elf, &opts.stack_roots);
    a.findings.extend(stacks.findings);
    Ok(Report {
        findings: a.findings,
        stacks: stacks.uses,
    })
}

/// A site several relocations can share: one finding per (problem, symbol or type,
/// section, function), counting the references.
#[derive(Hash, PartialEq, Eq)]
struct GroupKey {
    kind: Kind,
    what: String,
    section: usize,
    function: Option<String>,
}

struct Auditor<'e, 'a> {
    elf: &'e Elf<'a>,
    findings: Vec<Finding>,
    /// Grouped findings: index into `findings`, number of references, and the message
    /// before the reference count was added.
    grouped: HashMap<GroupKey, (usize, usize, String)>,
    /// First reference to each COMMON symbol: (section index, offset, function).
    common_refs: HashMap<usize, (usize, u64, Option<String>)>,
}

impl Auditor<'_, '_> {
    fn push(&mut self, level: Level, kind: Kind, section: Option<&Section<'_>>, message: String, hint: Option<String>) {
        self.findings.push(Finding {
            level,
            kind,
            section: section.map(Section::display_name),
            offset: None,
            function: None,
            symbol: None,
            message,
            hint,
        });
    }

    fn check_section(&mut self, s: &Section<'_>, layout: Option<&Layout>) {
        let name = s.name;
        let has_prefix = |p: &[u8]| name == p || (name.starts_with(p) && name.get(p.len()) == Some(&b'.'));

        let is_tls = s.flags & u64::from(SHF_TLS) != 0 || has_prefix(b".tdata") || has_prefix(b".tbss");
        if is_tls {
            self.push(
                Level::Error,
                Kind::TlsSection,
                Some(s),
                "thread-local storage section: a blob has no TLS block".into(),
                Some(hints::THREAD_LOCALS.into()),
            );
        }

        let ctor_types = [SHT_INIT_ARRAY, SHT_FINI_ARRAY, SHT_PREINIT_ARRAY];
        let ctor_names: [&[u8]; 5] = [b".init_array", b".fini_array", b".preinit_array", b".ctors", b".dtors"];
        if ctor_types.contains(&s.sh_type) || ctor_names.iter().any(|p| has_prefix(p)) {
            self.push(
                Level::Error,
                Kind::InitArraySection,
                Some(s),
                "constructor/destructor table: nothing runs it in a blob".into(),
                Some("remove __attribute__((constructor))/static initialisers; call the setup explicitly from the blob's entry".into()),
            );
        }

        if s.is_alloc() && s.sh_type == SHT_NOBITS && s.size != 0 && !is_tls {
            let in_file = byte_range(self.elf.data, s.offset, s.size).is_some();
            let (level, what) = if in_file {
                (
                    Level::Warning,
                    "compel copies the file bytes at its offset instead of zeros",
                )
            } else {
                (
                    Level::Error,
                    "compel copies its bytes from the file, and they are past the end of it",
                )
            };
            self.push(
                level,
                Kind::NobitsSection,
                Some(s),
                format!("allocated SHT_NOBITS section of {:#x} bytes: {what}", s.size),
                Some("place .bss inside a PROGBITS output section in the linker script (e.g. *(.bss*) in .data, ending with QUAD(0))".into()),
            );
        }

        let writable = s.flags & u64::from(SHF_WRITE) != 0;
        if let (Some(l), true) = (layout, s.name == b".data" && s.is_alloc() && writable && s.size != 0) {
            let addr = l.addr(s.index);
            let hint = Some("align .data to a page in the linker script (.data : ALIGN(0x1000) { ... })".to_string());
            if addr % PAGE != 0 {
                self.push(
                    Level::Error,
                    Kind::UnalignedData,
                    Some(s),
                    format!(
                        "writable .data starts at {addr:#x} in the blob, not on a page boundary (sh_addralign {:#x})",
                        s.addralign
                    ),
                    hint,
                );
            } else if s.addralign < PAGE {
                self.push(
                    Level::Warning,
                    Kind::UnalignedData,
                    Some(s),
                    format!(
                        "writable .data is page-aligned only by accident (sh_addralign {:#x} < 0x1000)",
                        s.addralign
                    ),
                    hint,
                );
            }
        }
    }

    fn check_blob_size(&mut self, l: &Layout) {
        if l.end > MAX_BLOB_SIZE {
            self.push(
                Level::Error,
                Kind::Layout,
                None,
                format!(
                    "the blob would be {:#x} bytes, more than the {MAX_BLOB_SIZE:#x} hgen emits",
                    l.end
                ),
                Some("check sh_addralign and section sizes; a blob should be small".into()),
            );
        } else if l.end > self.elf.data.len() as u64 + MAX_ALIGNMENT_GAPS {
            self.push(
                Level::Error,
                Kind::Layout,
                None,
                format!(
                    "the blob would be {:#x} bytes from a {:#x}-byte object: its alignment gaps exceed {MAX_ALIGNMENT_GAPS:#x} bytes",
                    l.end,
                    self.elf.data.len()
                ),
                Some("check sh_addralign: gaps between sections are zero-filled in the blob".into()),
            );
        }
    }

    fn check_symbols(&mut self) {
        let elf = self.elf;
        if elf.symtab.is_none() {
            self.push(
                Level::Error,
                Kind::MissingSymbolTable,
                None,
                "no symbol table: compel needs one (No symbol table present)".into(),
                Some("do not strip the object".into()),
            );
        }
        for sym in elf.symbols.iter().filter(|s| s.is_common()) {
            let (section, offset, function) = match self.common_refs.get(&sym.index) {
                Some((sec, off, func)) => (Some(elf.sections[*sec].display_name()), Some(*off), func.clone()),
                None => (None, None, None),
            };
            self.findings.push(Finding {
                level: Level::Error,
                kind: Kind::CommonSymbol,
                section,
                offset,
                function,
                symbol: Some(sym.display_name()),
                message: format!(
                    "COMMON symbol `{}' ({} bytes): compel allocates no storage for it",
                    sym.display_name(),
                    sym.size
                ),
                hint: Some("initialise the variable or build with -fno-common".into()),
            });
        }
        let head = elf.symbols.iter().find(|s| s.name == HEAD_START && !s.is_undefined());
        if head.is_none() {
            self.findings.push(Finding {
                level: Level::Warning,
                kind: Kind::MissingHeadStart,
                section: None,
                offset: None,
                function: None,
                symbol: Some(printable(HEAD_START)),
                message: "no __export_parasite_head_start: the generated header's setup function refers to it".into(),
                hint: Some(
                    "define the parasite head (restorer feature `standalone`, or link compel's std.lib.a)".into(),
                ),
            });
        }
    }

    fn check_relocations(&mut self) {
        let elf = self.elf;
        let locator = Locator::new(&elf.symbols);
        for rs in elf.sections.iter().filter(|s| s.is_reloc()) {
            let Some(target) = elf.sections.get(rs.info as usize) else {
                self.push(
                    Level::Error,
                    Kind::BadSectionIndex,
                    Some(rs),
                    format!(
                        "relocation section applies to section index {} which does not exist (e_shnum {})",
                        rs.info,
                        elf.shnum()
                    ),
                    None,
                );
                continue;
            };
            for r in elf.relocs(rs) {
                let function = locator.function_at(target.index, r.offset);
                self.check_relocation(target, &r, function);
            }
        }
    }

    fn check_relocation(&mut self, target: &Section<'_>, r: &Reloc, function: Option<String>) {
        let check = rules::check(self.elf, target, r);
        // The report lists a relocation's symbol problem before its type or place problem.
        let symbol_first = check
            .violations()
            .filter(|v| v.is_about_symbol())
            .chain(check.violations().filter(|v| !v.is_about_symbol()));
        for v in symbol_first {
            self.report_violation(v, target, r, &function);
        }
    }

    fn report_violation(&mut self, v: Violation, target: &Section<'_>, r: &Reloc, function: &Option<String>) {
        let elf = self.elf;
        let sym = &elf.symbols[r.sym];
        let key = |kind, what| GroupKey {
            kind,
            what,
            section: target.index,
            function: function.clone(),
        };
        match v {
            // One finding per COMMON symbol (check_symbols), placed at its first reference.
            Violation::CommonSymbol => {
                self.common_refs
                    .entry(r.sym)
                    .or_insert_with(|| (target.index, r.offset, function.clone()));
            }
            Violation::UndefinedSymbol => {
                let name = sym.display_name();
                let shown = if name.is_empty() {
                    "<null symbol>".to_string()
                } else {
                    name.clone()
                };
                self.group(
                    key(Kind::UndefinedSymbol, name.clone()),
                    target,
                    r,
                    Some(name.clone()),
                    format!("undefined symbol `{shown}' (compel: External symbol in PIE?)"),
                    hints::undefined_symbol(&name),
                );
            }
            Violation::SymbolSectionOutOfRange => {
                let name = sym.display_name();
                self.group(
                    key(Kind::BadSectionIndex, name.clone()),
                    target,
                    r,
                    Some(name.clone()),
                    format!(
                        "relocation against `{name}' whose section index {:#x} is out of range (e_shnum {})",
                        sym.shndx,
                        elf.shnum()
                    ),
                    "the object is corrupt or uses extended section indexes, which compel does not support".into(),
                );
            }
            Violation::UnsupportedType => {
                let ty = relocs::describe(r.r_type);
                self.group(
                    key(Kind::UnsupportedRelocation, ty.clone()),
                    target,
                    r,
                    Some(sym.display_name()).filter(|n| !n.is_empty()),
                    format!("unsupported relocation {ty}"),
                    hints::relocation(r.r_type),
                );
            }
            Violation::FieldOutsideSection => {
                self.group(
                    key(Kind::BadRelocationOffset, format!("{:#x}", r.offset)),
                    target,
                    r,
                    Some(sym.display_name()).filter(|n| !n.is_empty()),
                    format!(
                        "{} at offset {:#x} is outside the section (size {:#x})",
                        relocs::describe(r.r_type),
                        r.offset,
                        target.size
                    ),
                    "the object is corrupt".into(),
                );
            }
        }
    }

    /// Record a relocation finding, or count one more reference to an existing one.
    fn group(
        &mut self,
        key: GroupKey,
        target: &Section<'_>,
        r: &Reloc,
        symbol: Option<String>,
        message: String,
        hint: String,
    ) {
        if let Some((index, count, base)) = self.grouped.get_mut(&key) {
            *count += 1;
            self.findings[*index].message = format!("{base} [{count} references]");
            return;
        }
        let (kind, function) = (key.kind, key.function.clone());
        self.grouped.insert(key, (self.findings.len(), 1, message.clone()));
        self.findings.push(Finding {
            level: Level::Error,
            kind,
            section: Some(target.display_name()),
            offset: Some(r.offset),
            function,
            symbol,
            message,
            hint: Some(hint),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_input_is_an_error_not_a_report() {
        assert!(audit(b"not an elf").is_err());
        assert!(audit(&[]).is_err());
    }
}
