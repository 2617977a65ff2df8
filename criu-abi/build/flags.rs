//! The preprocessor flags CRIU's own build compiles `criu/pie/restorer.c` with.
//!
//! They are read from `make -n V=1 criu`, run in a shadow of the tree (directories
//! recreated, every file a symlink to the original) in which `restorer.c` is a fresh copy:
//! make then prints the restorer's compile line as the tree would run it, with the feature
//! defines its configuration found, and the user's tree is left untouched (make -n still
//! remakes included makefiles, the `.d` dependency files: the shadow holds copies of
//! those, not links). Only the options that change what a header means are kept (`-D`,
//! `-U`, include paths).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCE: &str = "criu/pie/restorer.c";
const OBJECT: &str = "criu/pie/restorer.o";

/// The restorer's `-D`/`-U`/include flags, include paths made absolute in `root`.
pub fn restorer_cflags(root: &Path, scratch: &Path) -> Result<Vec<String>, String> {
    let shadow = scratch.join("tree");
    let _ = fs::remove_dir_all(&shadow);
    mirror(root, &shadow).map_err(|e| format!("shadowing {} in {}: {e}", root.display(), shadow.display()))?;
    // A newer restorer.c makes make print its compile line (and regenerate restorer.d,
    // a copy in the shadow).
    let src = shadow.join(SOURCE);
    fs::remove_file(&src)
        .and_then(|_| fs::copy(root.join(SOURCE), &src))
        .map_err(|e| format!("{}: {e}", src.display()))?;

    let out = Command::new(std::env::var_os("MAKE").unwrap_or_else(|| "make".into()))
        .args(["-n", "V=1", "criu"])
        .current_dir(&shadow)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        // Cargo's DEBUG (true/false) is not the user's `make DEBUG=1`.
        .env_remove("DEBUG")
        .output()
        .map_err(|e| format!("running make in {}: {e}", shadow.display()))?;
    let _ = fs::remove_dir_all(&shadow);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .map(shell_words)
        .find(|w| is_restorer_compile(w))
        .ok_or_else(|| {
            format!(
                "`make -n V=1 criu` in a shadow of {} printed no compile line for {SOURCE} (status {}):\n{}",
                root.display(),
                out.status,
                criu_src::tail_lines(&String::from_utf8_lossy(&out.stderr), 20)
            )
        })?;
    Ok(preprocessor_flags(&line, &shadow, root))
}

pub(crate) fn is_restorer_compile(words: &[String]) -> bool {
    let has = |s: &str| words.iter().any(|w| w == s);
    has("-c") && has(SOURCE) && words.windows(2).any(|p| p[0] == "-o" && p[1] == OBJECT)
}

/// The options that decide what a header declares, in their order on the line.
pub(crate) fn preprocessor_flags(words: &[String], shadow: &Path, root: &Path) -> Vec<String> {
    let mut flags = Vec::new();
    let mut it = words.iter();
    while let Some(w) = it.next() {
        if let Some(opt) = ["-iquote", "-isystem", "-I", "-include"]
            .into_iter()
            .find(|o| w.starts_with(o))
        {
            let arg = if w.len() > opt.len() {
                Some(w[opt.len()..].to_string())
            } else {
                it.next().cloned()
            };
            if let Some(arg) = arg {
                flags.push(opt.to_string());
                flags.push(absolute(&arg, shadow, root).display().to_string());
            }
        } else if w.starts_with("-D") || w.starts_with("-U") {
            flags.push(w.clone());
        }
    }
    flags
}

/// `p` as a path in the user's tree: relative to its root, or moved out of the shadow.
fn absolute(p: &str, shadow: &Path, root: &Path) -> PathBuf {
    let p = Path::new(p);
    match p.strip_prefix(shadow) {
        Ok(rel) => root.join(rel),
        Err(_) if p.is_relative() => root.join(p),
        Err(_) => p.to_path_buf(),
    }
}

/// `from`'s directories recreated under `to`, each file a symlink to the original but the
/// dependency files, copied.
fn mirror(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            if entry.file_name() != ".git" {
                mirror(&src, &dst)?;
            }
        } else if entry.file_type()?.is_file() && entry.file_name().to_string_lossy().ends_with(".d") {
            fs::copy(&src, &dst)?;
        } else {
            symlink(&src, &dst)?;
        }
    }
    Ok(())
}

/// A command line split as the shell would: quotes and backslashes, no expansion.
pub(crate) fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(cur.take()),
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                w.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => cur.get_or_insert_with(String::new).extend(chars.next()),
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    words
}
