//! The audit's findings and their text and JSON renderings.

use std::fmt;

use crate::stack::StackUse;

/// How bad a finding is. `Error` findings mean compel would refuse the object or the
/// blob would misbehave; `Warning` findings deserve a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Error,
    Warning,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// compel rejects the ELF identification (OS ABI, ABI version).
    Header,
    /// No `SHT_SYMTAB`.
    MissingSymbolTable,
    /// A relocation references an undefined symbol.
    UndefinedSymbol,
    /// A `SHN_COMMON` symbol: compel allocates no storage for it.
    CommonSymbol,
    /// A relocation type compel does not handle.
    UnsupportedRelocation,
    /// A relocation section targets, or a relocation's symbol lives in, a section index
    /// that does not exist.
    BadSectionIndex,
    /// A relocation's field lies outside its section.
    BadRelocationOffset,
    /// A thread-local storage section.
    TlsSection,
    /// Constructors/destructors (`.init_array`, `.ctors`, ...): nothing runs them.
    InitArraySection,
    /// An allocated `SHT_NOBITS` section: compel copies file bytes for it.
    NobitsSection,
    /// `.data` that does not start on a page boundary in the blob.
    UnalignedData,
    /// The sections cannot be laid out (address overflow, blob too large).
    Layout,
    /// No `__export_parasite_head_start`, which the generated header refers to.
    MissingHeadStart,
    /// A root's deepest path needs more stack than its budget.
    StackOverflow,
    /// Recursion a root reaches: no bound on its depth.
    StackRecursion,
    /// A frame or a callee the stack check cannot bound.
    StackUnmeasured,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Header => "header",
            Kind::MissingSymbolTable => "missing-symbol-table",
            Kind::UndefinedSymbol => "undefined-symbol",
            Kind::CommonSymbol => "common-symbol",
            Kind::UnsupportedRelocation => "unsupported-relocation",
            Kind::BadSectionIndex => "bad-section-index",
            Kind::BadRelocationOffset => "bad-relocation-offset",
            Kind::TlsSection => "tls-section",
            Kind::InitArraySection => "init-array-section",
            Kind::NobitsSection => "nobits-section",
            Kind::UnalignedData => "unaligned-data",
            Kind::Layout => "layout",
            Kind::MissingHeadStart => "missing-head-start",
            Kind::StackOverflow => "stack-overflow",
            Kind::StackRecursion => "stack-recursion",
            Kind::StackUnmeasured => "stack-unmeasured",
        }
    }
}

/// One problem. `section`/`offset` locate it when it has a place in the object;
/// `function` is the function (or nearest symbol) containing that place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub kind: Kind,
    pub section: Option<String>,
    pub offset: Option<u64>,
    pub function: Option<String>,
    pub symbol: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// Everything the audit found, in the order it was found, and the stack check's deepest
/// path from each root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub stacks: Vec<StackUse>,
}

impl Report {
    /// No `Error`-level findings (warnings allowed).
    pub fn is_clean(&self) -> bool {
        self.errors() == 0
    }

    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Error).count()
    }

    pub fn warnings(&self) -> usize {
        self.findings.iter().filter(|f| f.level == Level::Warning).count()
    }

    /// The report as a JSON document (an object with `clean`, `errors`, `warnings` and
    /// `findings`), newline-terminated.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        out.push_str("{\n");
        out.push_str(&format!("  \"clean\": {},\n", self.is_clean()));
        out.push_str(&format!("  \"errors\": {},\n", self.errors()));
        out.push_str(&format!("  \"warnings\": {},\n", self.warnings()));
        out.push_str("  \"findings\": [");
        for (i, f) in self.findings.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            let fields = [
                ("level", json_str(f.level.as_str())),
                ("kind", json_str(f.kind.as_str())),
                ("section", json_opt(f.section.as_deref())),
                ("offset", f.offset.map_or_else(|| "null".into(), |o| o.to_string())),
                ("function", json_opt(f.function.as_deref())),
                ("symbol", json_opt(f.symbol.as_deref())),
                ("message", json_str(&f.message)),
                ("hint", json_opt(f.hint.as_deref())),
            ];
            out.push('{');
            for (j, (k, v)) in fields.iter().enumerate() {
                if j > 0 {
                    out.push_str(", ");
                }
                out.push_str(&format!("\"{k}\": {v}"));
            }
            out.push('}');
        }
        if !self.findings.is_empty() {
            out.push_str("\n  ");
        }
        out.push_str("],\n  \"stacks\": [");
        for (i, u) in self.stacks.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            let path: Vec<String> = u
                .path
                .iter()
                .map(|h| {
                    format!(
                        "{{\"function\": {}, \"at\": {}, \"frame\": {}}}",
                        json_str(&h.function),
                        h.at,
                        h.frame
                    )
                })
                .collect();
            out.push_str(&format!(
                "{{\"root\": {}, \"handler\": {}, \"depth\": {}, \"usable\": {}, \"margin\": {}, \"budget\": {}, \"fits\": {}, \"stack\": {}, \"path\": [{}]}}",
                json_str(&u.root),
                u.handler,
                u.depth,
                u.stack.usable,
                u.margin,
                u.budget(),
                u.fits(),
                json_str(&u.stack.what),
                path.join(", ")
            ));
        }
        if !self.stacks.is_empty() {
            out.push_str("\n  ");
        }
        out.push_str("]\n}\n");
        out
    }
}

/// One line per finding, one per stack root, then a summary line.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        for u in &self.stacks {
            if u.handler {
                writeln!(
                    f,
                    "stack: {}: {} bytes as a possible signal handler (in the margin): {}",
                    u.root,
                    u.depth,
                    u.path_text()
                )?;
            } else {
                writeln!(
                    f,
                    "stack: {}: {} of {} bytes ({} usable less a margin of {}): {}",
                    u.root,
                    u.depth,
                    u.budget(),
                    u.stack.usable,
                    u.margin,
                    u.path_text()
                )?;
            }
        }
        let (e, w) = (self.errors(), self.warnings());
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        writeln!(
            f,
            "audit: {}: {}, {}",
            if self.is_clean() {
                "clean"
            } else {
                "NOT a clean PIE blob"
            },
            plural(e, "error"),
            plural(w, "warning")
        )
    }
}

/// `LEVEL: section+0xOFF in FUNC: message (hint: ...)`, leaving out what is unknown.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.level.as_str())?;
        if let Some(section) = &self.section {
            write!(f, "{section}")?;
            if let Some(offset) = self.offset {
                write!(f, "+{offset:#x}")?;
            }
            if let Some(function) = &self.function {
                write!(f, " in {function}")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

fn json_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "null".into(), json_str)
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(level: Level) -> Finding {
        Finding {
            level,
            kind: Kind::UndefinedSymbol,
            section: Some(".text".into()),
            offset: Some(0x1c),
            function: Some("run".into()),
            symbol: Some("syscall".into()),
            message: "undefined symbol `syscall' \"quoted\"".into(),
            hint: Some("use pie_sys".into()),
        }
    }

    #[test]
    fn text_form() {
        let r = Report {
            findings: vec![finding(Level::Error), finding(Level::Warning)],
            ..Report::default()
        };
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "error: .text+0x1c in run: undefined symbol `syscall' \"quoted\" (hint: use pie_sys)"
        );
        assert!(lines[1].starts_with("warning: "));
        assert_eq!(lines[2], "audit: NOT a clean PIE blob: 1 error, 1 warning");
        assert!(!r.is_clean());
        let w = Report {
            findings: vec![finding(Level::Warning)],
            ..Report::default()
        };
        assert!(w.is_clean());
        assert_eq!(Report::default().to_string(), "audit: clean: 0 errors, 0 warnings\n");
    }

    #[test]
    fn json_form() {
        let r = Report {
            findings: vec![finding(Level::Error)],
            ..Report::default()
        };
        let json = r.to_json();
        assert!(json.contains("\"clean\": false"));
        assert!(json.contains("\"offset\": 28"));
        assert!(json.contains("\"message\": \"undefined symbol `syscall' \\\"quoted\\\"\""));
        assert!(Report::default().to_json().contains("\"findings\": []"));
        assert_eq!(json_str("a\u{1}\\"), "\"a\\u0001\\\\\"");
    }
}
