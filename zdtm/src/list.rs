//! Finding zdtm's static tests: the executables of the static directory, with their
//! `.desc`, `.checkskip` and `.hook` files.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::desc::Desc;

/// Executables of the directory that are not tests: zdtm's own list of exclusions plus
/// the state tests (`conntracks`, `route_rules`), which have no pid file to dump.
const NOT_TESTS: &[&str] = &["criu-rtc.so", "route_rules", "conntracks"];

#[derive(Debug, Clone)]
pub struct Test {
    pub name: String,
    /// The parsed `.desc`, or why it could not be read.
    pub desc: Result<Desc, String>,
    /// Run before the test; a non-zero exit skips it.
    pub checkskip: Option<PathBuf>,
    /// Run with `--post-start`, `--post-restore` and `--clean`.
    pub hook: Option<PathBuf>,
}

/// Every test in `dir`, sorted by name.
pub fn all(dir: &Path) -> io::Result<Vec<Test>> {
    let mut names = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let m = e.metadata()?;
        if !m.is_file() || m.permissions().mode() & 0o100 == 0 {
            continue;
        }
        if name.ends_with(".checkskip") || name.ends_with(".hook") || NOT_TESTS.contains(&name.as_str()) {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names.into_iter().map(|n| test(dir, &n)).collect())
}

/// The named tests, in the order given; an unknown name is an error.
pub fn named(dir: &Path, names: &[String]) -> io::Result<Vec<Test>> {
    let all = all(dir)?;
    names
        .iter()
        .map(|n| {
            all.iter().find(|t| &t.name == n).cloned().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no zdtm test named {n} in {}", dir.display()),
                )
            })
        })
        .collect()
}

fn test(dir: &Path, name: &str) -> Test {
    let desc = match fs::read_to_string(dir.join(format!("{name}.desc"))) {
        Ok(text) => Desc::parse(&text).map_err(|e| format!("{name}.desc: {e}")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Desc::default()),
        Err(e) => Err(format!("{name}.desc: {e}")),
    };
    let file = |ext: &str| Some(dir.join(format!("{name}.{ext}"))).filter(|p| p.is_file());
    Test {
        name: name.to_owned(),
        desc,
        checkskip: file("checkskip"),
        hook: file("hook"),
    }
}

/// Test names from a list file: one a line, `#` starts a comment, blank lines ignored.
pub fn read_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_files_skip_comments_and_blanks() {
        assert_eq!(read_list("# head\nenv00\n\n maps04  # mm\n"), vec!["env00", "maps04"]);
    }
}
