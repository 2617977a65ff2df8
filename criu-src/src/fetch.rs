//! Getting the pinned tarball: apt with a private sources list, then size and sha256.
//!
//! The machine's own apt configuration is left alone: the index goes to a lists
//! directory of our own and the source list names only the one `deb-src` suite, on the
//! Debian mirror the machine's own sources use ([`crate::mirror`]); apt's other settings
//! (proxies in `apt.conf.d`) apply as they do to any apt-get.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::error::{Error, Step};
use crate::mirror::{self, Mirror};
use crate::source::Source;

/// Download `src` into `dir` (if a verified copy is not there already); returns its path.
pub fn fetch(src: &Source, dir: &Path, logs: &Path) -> Result<PathBuf, Error> {
    let file = dir.join(src.file);
    if verify(src, &file).is_ok() {
        return Ok(file);
    }
    let apt = dir.join("apt");
    for d in ["lists/partial", "cache/archives/partial"] {
        fs::create_dir_all(apt.join(d))
            .map_err(|e| Error::new(Step::Cache, format!("mkdir {}: {e}", apt.display())))?;
    }
    let list = apt.join("sources.list");
    let entry = source_line(&mirror::system()?, src, &apt)?;
    fs::write(&list, entry).map_err(|e| Error::new(Step::Cache, format!("write {}: {e}", list.display())))?;

    let log = logs.join("apt-update.log");
    let status = apt_get(&apt, &list, dir, &log, &["update"])?;
    if !status.success() {
        return Err(Error::with_log(
            Step::Index,
            format!("apt-get update exited with {status}"),
            &log,
        ));
    }
    // apt-get exits non-zero here even on success: the .dsc and Debian's patch tarball
    // are gone from the mirror. What counts is the tarball and its checksum.
    let log = logs.join("apt-source.log");
    let spec = format!("criu={}", src.package_version);
    apt_get(&apt, &list, dir, &log, &["source", "--download-only", &spec])?;
    match verify(src, &file) {
        Ok(()) => Ok(file),
        Err(Mismatch::Missing) => Err(Error::with_log(
            Step::Download,
            format!("apt-get did not fetch {}", src.file),
            &log,
        )),
        Err(m) => {
            let _ = fs::remove_file(&file);
            Err(Error::new(Step::Verify, format!("{}: {m}", file.display())))
        }
    }
}

/// The one `deb-src` line of the private list.
fn source_line(m: &Mirror, src: &Source, apt: &Path) -> Result<String, Error> {
    let opts = mirror::signed_by_option(m, apt)?.map_or(String::new(), |o| format!("[{o}] "));
    Ok(format!("deb-src {opts}{} {} main\n", m.uri, src.suite))
}

fn apt_get(apt: &Path, list: &Path, cwd: &Path, log: &Path, args: &[&str]) -> Result<std::process::ExitStatus, Error> {
    let out = fs::File::create(log).map_err(|e| Error::new(Step::Cache, format!("create {}: {e}", log.display())))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::new(Step::Cache, format!("dup log: {e}")))?;
    let opt = |k: &str, v: &Path| format!("{k}={}", v.display());
    Command::new("apt-get")
        .current_dir(cwd)
        .args([
            "-q",
            "-o",
            &opt("Dir::Etc::SourceList", list),
            "-o",
            "Dir::Etc::SourceParts=/dev/null",
        ])
        .args([
            "-o",
            &opt("Dir::State::Lists", &apt.join("lists")),
            "-o",
            &opt("Dir::Cache", &apt.join("cache")),
        ])
        .args(["-o", "APT::Sandbox::User=root"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| Error::new(Step::Download, format!("run apt-get: {e} (this needs Debian's apt)")))
}

#[derive(Debug, PartialEq, Eq)]
enum Mismatch {
    Missing,
    Size(u64),
    Digest(String),
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Missing => f.write_str("missing"),
            Mismatch::Size(n) => write!(f, "{n} bytes, not the pinned size"),
            Mismatch::Digest(d) => write!(f, "sha256 {d}, not the pinned one"),
        }
    }
}

fn verify(src: &Source, file: &Path) -> Result<(), Mismatch> {
    let mut f = fs::File::open(file).map_err(|_| Mismatch::Missing)?;
    let len = f.metadata().map_err(|_| Mismatch::Missing)?.len();
    if len != src.size {
        return Err(Mismatch::Size(len));
    }
    let digest = sha256(&mut f).map_err(|_| Mismatch::Missing)?;
    if digest != src.sha256 {
        return Err(Mismatch::Digest(digest));
    }
    Ok(())
}

fn sha256(r: &mut impl Read) -> std::io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Unpack `tarball` so that `dest` becomes its top directory `top`: into a scratch
/// directory beside `dest` first, then renamed, so a half-unpacked tree is never seen.
pub fn unpack(tarball: &Path, top: &str, dest: &Path, logs: &Path) -> Result<(), Error> {
    let parent = dest.parent().expect("dest has a parent");
    let scratch = parent.join(format!(".unpack-{}", std::process::id()));
    let _ = fs::remove_dir_all(&scratch);
    fs::create_dir_all(&scratch).map_err(|e| Error::new(Step::Unpack, format!("mkdir {}: {e}", scratch.display())))?;
    let log = logs.join("unpack.log");
    let out = fs::File::create(&log).map_err(|e| Error::new(Step::Cache, format!("create {}: {e}", log.display())))?;
    let status = Command::new("tar")
        .arg("-xJf")
        .arg(tarball)
        .arg("-C")
        .arg(&scratch)
        .stdout(out.try_clone().map_err(|e| Error::new(Step::Cache, e.to_string()))?)
        .stderr(out)
        .status()
        .map_err(|e| Error::new(Step::Unpack, format!("run tar: {e}")))?;
    if !status.success() {
        return Err(Error::with_log(Step::Unpack, format!("tar exited with {status}"), &log));
    }
    let _ = fs::remove_dir_all(dest);
    fs::rename(scratch.join(top), dest)
        .map_err(|e| Error::new(Step::Unpack, format!("{top} not in the tarball, or rename failed: {e}")))?;
    let _ = fs::remove_dir_all(&scratch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(data: &[u8]) -> (Source, PathBuf) {
        let dir = std::env::temp_dir().join(format!("criu-src-fetch-{}-{}", std::process::id(), data.len()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("t.tar.xz");
        fs::write(&file, data).unwrap();
        let digest = sha256(&mut &data[..]).unwrap();
        let src = Source {
            size: data.len() as u64,
            sha256: Box::leak(digest.into_boxed_str()),
            ..crate::CRIU_4_1_1
        };
        (src, file)
    }

    #[test]
    fn source_line_names_the_mirror_the_suite_and_the_keyring() {
        let dir = std::env::temp_dir();
        let m = Mirror {
            uri: "http://proxy.example:3142/debian".into(),
            signed_by: Some(mirror::SignedBy::Files("/k.gpg".into())),
        };
        assert_eq!(
            source_line(&m, &crate::CRIU_4_2_1, &dir).unwrap(),
            "deb-src [signed-by=/k.gpg] http://proxy.example:3142/debian unstable main\n"
        );
        let m = Mirror { signed_by: None, ..m };
        assert_eq!(
            source_line(&m, &crate::CRIU_4_1_1, &dir).unwrap(),
            "deb-src http://proxy.example:3142/debian trixie main\n"
        );
    }

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256(&mut &b"abc"[..]).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn verify_checks_presence_size_and_digest() {
        let (src, file) = source(b"hello tarball");
        assert_eq!(verify(&src, &file), Ok(()));
        assert_eq!(verify(&Source { size: 3, ..src }, &file), Err(Mismatch::Size(13)));
        let other = Source { sha256: "00", ..src };
        assert!(matches!(verify(&other, &file), Err(Mismatch::Digest(_))));
        assert_eq!(verify(&src, &file.with_extension("gone")), Err(Mismatch::Missing));
        fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }
}
