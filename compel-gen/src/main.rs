//! The `compel-gen` command line: `hgen` (a drop-in for `compel hgen`) and `audit`.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use compel_gen::{audit, hgen, stack, ErrorKind};

const USAGE: &str = "\
Usage:
  compel-gen hgen -f FILE -o FILE [-p NAME]   (also: compel-gen -f FILE -o FILE [-p NAME] hgen)
    -f, --file FILE      input (parasite object) file name
    -o, --output FILE    output (header) file name
    -p, --prefix NAME    prefix for var names (default: derived from the file names, as compel does)
    -l, --log-level NUM  accepted for compatibility with compel, ignored
    exit status: 0 written, 1 object refused (as compel would), 2 unreadable or malformed input
  compel-gen audit FILE [--json] [--stack-root NAME=BYTES ...]
    --stack-root NAME=BYTES  one more root of the stack check (beyond CRIU's entry points):
                         a symbol, or a Rust path (a::b::f), that starts a stack of BYTES
    exit status: 0 clean, 1 problems found, 2 unreadable or malformed input
  compel-gen -h|--help
  compel-gen -V|--version
";

/// What the command line asked for.
#[derive(Debug, Default)]
struct Args {
    file: Option<OsString>,
    output: Option<OsString>,
    prefix: Option<OsString>,
    stack_roots: Vec<OsString>,
    json: bool,
    help: bool,
    version: bool,
    positional: Vec<OsString>,
}

fn parse_args(mut it: impl Iterator<Item = OsString>) -> Result<Args, String> {
    let mut args = Args::default();
    let mut only_positional = false;
    while let Some(arg) = it.next() {
        let s = arg.to_string_lossy().into_owned();
        if only_positional || s == "-" || !s.starts_with('-') {
            args.positional.push(arg);
            continue;
        }
        if s == "--" {
            only_positional = true;
            continue;
        }
        // Split `--name=value` and `-xVALUE` into option and inline value.
        let (name, inline): (String, Option<OsString>) = if let Some(long) = s.strip_prefix("--") {
            match long.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.into())),
                None => (long.to_string(), None),
            }
        } else {
            let mut chars = s[1..].chars();
            let short = chars.next().map(String::from).unwrap_or_default();
            let rest = chars.as_str();
            (short, (!rest.is_empty()).then(|| rest.into()))
        };
        let takes_value = matches!(
            name.as_str(),
            "f" | "file" | "o" | "output" | "p" | "prefix" | "l" | "log-level" | "stack-root"
        );
        let value = if takes_value {
            match inline.or_else(|| it.next()) {
                Some(v) => Some(v),
                None => return Err(format!("option '{s}' requires an argument")),
            }
        } else if inline.is_some() && s.starts_with("--") {
            return Err(format!("option '--{name}' doesn't allow an argument"));
        } else {
            None
        };
        match name.as_str() {
            "f" | "file" => args.file = value,
            "o" | "output" => args.output = value,
            "p" | "prefix" => args.prefix = value,
            "l" | "log-level" => {}
            "stack-root" => args.stack_roots.extend(value),
            "json" => args.json = true,
            "h" | "help" => args.help = true,
            "V" | "version" => args.version = true,
            _ => return Err(format!("unknown option '{s}'")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(a) => a,
        Err(e) => return usage_error(&e, 1),
    };
    if args.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("compel-gen {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    match args.positional.first().and_then(|a| a.to_str()) {
        Some("hgen") => run_hgen(&args),
        Some("audit") => run_audit(&args),
        Some(other) => usage_error(&format!("unknown action '{other}'"), 1),
        None => usage_error("action argument required", 1),
    }
}

fn usage_error(msg: &str, code: u8) -> ExitCode {
    eprintln!("compel-gen: error: {msg}");
    eprint!("{USAGE}");
    ExitCode::from(code)
}

fn run_hgen(args: &Args) -> ExitCode {
    if args.positional.len() > 1 {
        return usage_error("hgen takes no operands (use -f and -o)", 1);
    }
    let (Some(input), Some(output)) = (&args.file, &args.output) else {
        let missing = if args.file.is_none() { "--file" } else { "--output" };
        return usage_error(&format!("option {missing} required"), 1);
    };
    let input_name = input.to_string_lossy();
    // As compel: from the input name, else from the output name, else give up.
    let prefix = match &args.prefix {
        Some(p) => p.to_string_lossy().into_owned(),
        None => match hgen::default_prefix(&input_name).or_else(|| hgen::default_prefix(&output.to_string_lossy())) {
            Some(p) => p,
            None => {
                eprintln!("compel-gen: error: can't autogenerate prefix (supply --prefix)");
                return ExitCode::from(2);
            }
        },
    };
    let data = match fs::read(input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("compel-gen: error: can't read {input_name}: {e}");
            return ExitCode::from(2);
        }
    };
    let output = PathBuf::from(output);
    match hgen::generate(&data, &input_name, &prefix) {
        Ok(text) => match fs::write(&output, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("compel-gen: error: can't write {}: {e}", output.display());
                let _ = fs::remove_file(&output);
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("compel-gen: error: {input_name}: {e}");
            // compel truncates the output before it starts and removes it on failure:
            // either way no stale header survives.
            if let Err(e) = fs::remove_file(&output) {
                if e.kind() != io::ErrorKind::NotFound {
                    eprintln!("compel-gen: error: can't remove {}: {e}", output.display());
                }
            }
            // As for audit: 2 for input that is not a usable ELF object at all, 1 for an
            // object compel refuses.
            match e.kind() {
                ErrorKind::Rejected => ExitCode::FAILURE,
                ErrorKind::Malformed | ErrorKind::Unsupported => ExitCode::from(2),
            }
        }
    }
}

fn run_audit(args: &Args) -> ExitCode {
    let input = match (&args.file, &args.positional[1..]) {
        (Some(f), []) => f.clone(),
        (None, [f]) => f.clone(),
        _ => return usage_error("audit takes exactly one input file", 2),
    };
    let name = input.to_string_lossy();
    let data = match fs::read(&input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("compel-gen: error: can't read {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut opts = audit::Options::default();
    for r in &args.stack_roots {
        match parse_stack_root(&r.to_string_lossy()) {
            Some(root) => opts.stack_roots.push(root),
            None => {
                return usage_error(
                    &format!("--stack-root wants NAME=BYTES, not '{}'", r.to_string_lossy()),
                    2,
                )
            }
        }
    }
    let report = match audit::audit_with(&data, &opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("compel-gen: error: {name}: {e}");
            return ExitCode::from(2);
        }
    };
    let text = if args.json {
        report.to_json()
    } else {
        report.to_string()
    };
    // A closed stdout is not worth a panic; the exit status still tells the result.
    let _ = io::stdout().write_all(text.as_bytes());
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `NAME=BYTES`: a Rust path if NAME has `::`, else a symbol.
fn parse_stack_root(s: &str) -> Option<stack::Root> {
    let (name, bytes) = s.rsplit_once('=')?;
    let bytes: u64 = bytes.parse().ok()?;
    if name.is_empty() {
        return None;
    }
    let name = if name.contains("::") {
        stack::RootName::RustPath(name.into())
    } else {
        stack::RootName::Symbol(name.into())
    };
    Some(stack::Root::new(name, bytes, "given with --stack-root"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Args, String> {
        parse_args(v.iter().map(OsString::from))
    }

    #[test]
    fn options_anywhere_and_in_every_spelling() {
        let a = parse(&["-f", "in.o", "-oout.h", "--prefix=p", "hgen"]).unwrap();
        assert_eq!(a.file.as_deref(), Some("in.o".as_ref()));
        assert_eq!(a.output.as_deref(), Some("out.h".as_ref()));
        assert_eq!(a.prefix.as_deref(), Some("p".as_ref()));
        assert_eq!(a.positional, vec![OsString::from("hgen")]);
        let b = parse(&["hgen", "--file", "x", "--output", "y", "-l", "4"]).unwrap();
        assert_eq!(b.file.as_deref(), Some("x".as_ref()));
        assert_eq!(b.output.as_deref(), Some("y".as_ref()));
        let c = parse(&["audit", "in.o", "--json"]).unwrap();
        assert!(c.json);
        assert_eq!(c.positional.len(), 2);
        let d = parse(&["audit", "in.o", "--stack-root", "a::b=4096", "--stack-root=f=8"]).unwrap();
        assert_eq!(d.stack_roots.len(), 2);
        let r = parse_stack_root("a::b=4096").unwrap();
        assert_eq!(r.name, stack::RootName::RustPath("a::b".into()));
        assert_eq!(r.stack.usable, 4096);
        assert_eq!(
            parse_stack_root("f=8").unwrap().name,
            stack::RootName::Symbol("f".into())
        );
        assert!(
            parse_stack_root("f").is_none() && parse_stack_root("=8").is_none() && parse_stack_root("f=x").is_none()
        );
    }

    #[test]
    fn bad_options() {
        assert!(parse(&["-f"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["--json=1"]).is_err());
        assert!(parse(&["-x"]).is_err());
        assert!(parse(&["-\u{e9}"]).is_err());
        assert_eq!(parse(&["--", "-f"]).unwrap().positional, vec![OsString::from("-f")]);
    }
}
