//! The Debian mirror this machine's apt already uses, read from its sources: the fixture
//! then downloads from the user's configured mirror (or proxy, or local cache) rather
//! than from an address written in the code.
//!
//! Both formats apt reads are understood: one-line `sources.list` entries
//! (`deb [signed-by=K] URI SUITE COMPONENT...`) and deb822 `.sources` stanzas. The
//! mirror is the first entry, in apt's file order, that carries Debian's `main` in a
//! Debian suite and is not the security archive (which has no `unstable`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Step};

/// Where apt keeps its sources on Debian.
const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_PARTS: &str = "/etc/apt/sources.list.d";

/// Debian's codenames and aliases (a suite's part before any `-updates`, `-backports`):
/// what tells a Debian archive from another distribution's (Ubuntu's `jammy`) or a
/// vendor's (`nodistro`, `cloud-sdk-bookworm`).
const DEBIAN_SUITES: &[&str] = &[
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "oldoldstable",
    "oldstable",
    "stable",
    "testing",
    "unstable",
    "experimental",
];

/// A Debian archive and the keyring apt checks it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// The archive's URI, as apt's sources write it (`http://deb.debian.org/debian`).
    pub uri: String,
    pub signed_by: Option<SignedBy>,
}

/// A source's `signed-by`: keyring files, or (deb822 only) a key written inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedBy {
    /// One or more paths (apt accepts a comma-separated list).
    Files(String),
    /// An ASCII-armoured key block, as in the stanza.
    Inline(String),
}

/// One `deb`/`deb-src` source: an archive with suites and components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uri: String,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    pub signed_by: Option<SignedBy>,
}

impl Entry {
    /// Debian's own archive with `main`: a Debian suite, not security.
    fn is_debian_main(&self) -> bool {
        let debian_suite = |s: &str| {
            let base = s.split('-').next().unwrap_or(s);
            DEBIAN_SUITES.contains(&base) && !s.ends_with("-security")
        };
        self.components.iter().any(|c| c == "main")
            && !self.uri.trim_end_matches('/').ends_with("debian-security")
            && !self.uri.starts_with("cdrom:")
            && self.suites.iter().any(|s| debian_suite(s))
    }
}

/// The machine's Debian mirror, from apt's sources.
pub fn system() -> Result<Mirror, Error> {
    find(&source_files(Path::new(SOURCES_LIST), Path::new(SOURCES_PARTS)))
}

/// The files apt reads, in its order: the main list, then the parts directory's `*.list`
/// and `*.sources` by name (other names, `.disabled` and the like, apt ignores).
pub fn source_files(list: &Path, parts: &Path) -> Vec<PathBuf> {
    let mut files = vec![list.to_path_buf()];
    if let Ok(rd) = fs::read_dir(parts) {
        let mut p: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("list" | "sources")))
            .collect();
        p.sort();
        files.extend(p);
    }
    files
}

/// The first Debian `main` entry of `files` (those missing are skipped).
pub fn find(files: &[PathBuf]) -> Result<Mirror, Error> {
    let mut read = Vec::new();
    for f in files {
        let Ok(text) = fs::read_to_string(f) else { continue };
        read.push(f.display().to_string());
        let entries = if f.extension().is_some_and(|e| e == "sources") {
            parse_deb822(&text)
        } else {
            parse_one_line(&text)
        };
        if let Some(e) = entries.into_iter().find(Entry::is_debian_main) {
            return Ok(Mirror {
                uri: e.uri,
                signed_by: e.signed_by,
            });
        }
    }
    let read = if read.is_empty() {
        "none could be read".to_string()
    } else {
        read.join(", ")
    };
    Err(Error::new(
        Step::Mirror,
        format!(
            "no Debian archive with `main` (other than the security archive) in apt's sources \
             (looked for {} and {}/*.list, *.sources; read: {read}); add one, e.g. \
             `deb http://deb.debian.org/debian bookworm main`",
            SOURCES_LIST, SOURCES_PARTS
        ),
    ))
}

/// One-line entries: `deb [opt=v ...] URI SUITE [COMPONENT...]`, `#` comments.
pub fn parse_one_line(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((kind, rest)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        if kind != "deb" && kind != "deb-src" {
            continue;
        }
        let rest = rest.trim_start();
        // Options sit in brackets and may contain spaces (`[ arch=amd64 ]`).
        let (opts, rest) = match rest.strip_prefix('[') {
            Some(r) => match r.split_once(']') {
                Some((o, r)) => (o, r),
                None => continue,
            },
            None => ("", rest),
        };
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        let signed_by = opts
            .split_whitespace()
            .find_map(|o| o.strip_prefix("signed-by="))
            .map(|v| SignedBy::Files(v.to_string()));
        out.push(Entry {
            uri: uri.to_string(),
            suites: vec![suite.to_string()],
            components: words.map(str::to_string).collect(),
            signed_by,
        });
    }
    out
}

/// deb822 stanzas: `Field: value` lines, continuation lines indented (` .` an empty
/// line), stanzas separated by blank lines, `#` comment lines; `Enabled: no` skips one.
pub fn parse_deb822(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for stanza in stanzas(text) {
        let get = |k: &str| {
            stanza
                .iter()
                .find(|(f, _)| f.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.as_str())
        };
        let words = |k: &str| get(k).map_or(Vec::new(), |v| v.split_whitespace().map(str::to_string).collect());
        if get("Enabled").is_some_and(|v| v.trim().eq_ignore_ascii_case("no"))
            || !words("Types").iter().any(|t| t == "deb" || t == "deb-src")
        {
            continue;
        }
        let signed_by = get("Signed-By").map(|v| {
            if v.contains('\n') || v.contains("BEGIN PGP") {
                SignedBy::Inline(v.trim().to_string())
            } else {
                SignedBy::Files(v.split_whitespace().collect::<Vec<_>>().join(","))
            }
        });
        for uri in words("URIs") {
            out.push(Entry {
                uri,
                suites: words("Suites"),
                components: words("Components"),
                signed_by: signed_by.clone(),
            });
        }
    }
    out
}

/// The stanzas of a deb822 file as (field, value) pairs; a multi-line value keeps its
/// lines, with ` .` turned back into an empty line.
fn stanzas(text: &str) -> Vec<Vec<(String, String)>> {
    let mut all = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            if !cur.is_empty() {
                all.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = cur.last_mut() {
                let l = line.trim();
                v.push('\n');
                v.push_str(if l == "." { "" } else { l });
            }
            continue;
        }
        if let Some((f, v)) = line.split_once(':') {
            cur.push((f.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        all.push(cur);
    }
    all
}

/// The keyring option for a private `sources.list` line: `signed-by=PATH`, an inline
/// key written to `dir` first (apt reads armoured `.asc` keyrings).
pub fn signed_by_option(m: &Mirror, dir: &Path) -> Result<Option<String>, Error> {
    match &m.signed_by {
        None => Ok(None),
        Some(SignedBy::Files(f)) => Ok(Some(format!("signed-by={f}"))),
        Some(SignedBy::Inline(key)) => {
            let path = dir.join("mirror-key.asc");
            fs::write(&path, format!("{key}\n"))
                .map_err(|e| Error::new(Step::Cache, format!("write {}: {e}", path.display())))?;
            Ok(Some(format!("signed-by={}", path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

    /// This project's machines' own file: the security stanza follows the main one.
    const DEB822: &str = "\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

    fn pick(entries: Vec<Entry>) -> Option<Mirror> {
        entries.into_iter().find(Entry::is_debian_main).map(|e| Mirror {
            uri: e.uri,
            signed_by: e.signed_by,
        })
    }

    fn files(k: &str) -> Option<SignedBy> {
        Some(SignedBy::Files(k.to_string()))
    }

    #[test]
    fn deb822_main_archive_with_its_keyring() {
        let e = parse_deb822(DEB822);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(
            pick(e),
            Some(Mirror {
                uri: "http://deb.debian.org/debian".into(),
                signed_by: files(KEYRING)
            })
        );
    }

    #[test]
    fn deb822_skips_security_disabled_and_other_vendors() {
        let text = "\
Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: trixie-security
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: trixie
Components: main
Enabled: no

Types: deb-src deb
URIs: http://proxy.example:3142/debian http://second.example/debian
Suites: trixie
Components: contrib main
";
        assert_eq!(
            pick(parse_deb822(text)),
            Some(Mirror {
                uri: "http://proxy.example:3142/debian".into(),
                signed_by: None
            })
        );
    }

    #[test]
    fn deb822_inline_key_keeps_its_lines() {
        let text = "Types: deb\nURIs: http://m.example/debian\nSuites: sid\nComponents: main\n\
                    Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBF\n -----END PGP PUBLIC KEY BLOCK-----\n";
        let m = pick(parse_deb822(text)).unwrap();
        let key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----";
        assert_eq!(m.signed_by, Some(SignedBy::Inline(key.into())));
        let dir = std::env::temp_dir().join(format!("criu-src-mirror-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let opt = signed_by_option(&m, &dir).unwrap().unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("mirror-key.asc")).unwrap(),
            format!("{key}\n")
        );
        assert_eq!(opt, format!("signed-by={}", dir.join("mirror-key.asc").display()));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_line_entries_with_options_and_comments() {
        let text = "\
# deb http://commented.example/debian bookworm main
deb cdrom:[Debian GNU/Linux 12]/ bookworm main
deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main
deb http://security.debian.org/debian-security bookworm-security main
deb-src [ arch=amd64 signed-by=/etc/k.gpg ] http://mirror.example/debian/ bookworm-updates main contrib # here
deb http://late.example/debian bookworm main
";
        let e = parse_one_line(text);
        assert_eq!(e.len(), 5, "{e:?}");
        assert_eq!(e[3].components, ["main", "contrib"]);
        assert_eq!(
            pick(e),
            Some(Mirror {
                uri: "http://mirror.example/debian/".into(),
                signed_by: files("/etc/k.gpg")
            })
        );
    }

    #[test]
    fn one_line_without_main_or_debian_suite_is_not_the_mirror() {
        let text = "deb http://archive.ubuntu.com/ubuntu jammy main\ndeb http://m.example/debian bookworm contrib\n";
        assert_eq!(pick(parse_one_line(text)), None);
    }

    #[test]
    fn find_reads_in_order_and_names_the_files_when_nothing_fits() {
        let dir = std::env::temp_dir().join(format!("criu-src-find-{}", std::process::id()));
        let parts = dir.join("sources.list.d");
        fs::create_dir_all(&parts).unwrap();
        let list = dir.join("sources.list");
        fs::write(&list, "# only comments\n").unwrap();
        fs::write(parts.join("a.sources"), DEB822).unwrap();
        fs::write(parts.join("b.list"), "deb http://other.example/debian sid main\n").unwrap();
        fs::write(
            parts.join("c.list.disabled"),
            "deb http://never.example/debian sid main\n",
        )
        .unwrap();

        let order = source_files(&list, &parts);
        assert_eq!(order, [list.clone(), parts.join("a.sources"), parts.join("b.list")]);
        assert_eq!(find(&order).unwrap().uri, "http://deb.debian.org/debian");
        assert_eq!(
            find(&order[2..]).unwrap().uri,
            "http://other.example/debian",
            "a one-line .list in the parts directory"
        );

        let e = find(&order[..1]).unwrap_err();
        assert_eq!(e.step, Step::Mirror);
        assert!(e.to_string().contains(&format!("read: {}", list.display())), "{e}");
        let e = find(&[dir.join("gone")]).unwrap_err();
        assert!(e.to_string().contains("none could be read"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
