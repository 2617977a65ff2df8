//! Host-side preparation: tools, Debian's kernel package, kernel modules, ELF libraries.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// Runs a command, failing with its stderr when it exits non-zero.
pub(crate) fn run(cmd: &mut Command) -> Result<String, Error> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| Error::Setup(format!("cannot run {shown}: {e}")))?;
    if !out.status.success() {
        return Err(Error::Setup(format!(
            "{shown} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Finds an executable in PATH or the usual sbin directories (root's PATH may lack them).
pub(crate) fn which(name: &str, package: &str) -> Result<PathBuf, Error> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    let dirs = std::env::split_paths(&path).chain(extra.iter().map(PathBuf::from));
    for d in dirs {
        let p = d.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::Setup(format!(
        "`{name}` not found: install Debian's `{package}` package (scripts/setup does)"
    )))
}

/// True if the ELF file at `path` has no PT_INTERP program header (statically linked).
pub(crate) fn elf_is_static(path: &Path) -> Result<bool, Error> {
    let b = fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 {
        return Err(Error::Setup(format!("{} is not a 64-bit ELF file", path.display())));
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        if o + 4 > b.len() {
            break;
        }
        if u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) == 3 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Shared libraries of a dynamically linked ELF, as `(path the loader uses, host file)`,
/// the dynamic loader included. Empty for a static binary.
pub(crate) fn ldd(binary: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    if elf_is_static(binary)? {
        return Ok(Vec::new());
    }
    let out = run(Command::new("ldd").arg(binary))?;
    parse_ldd(&out).map_err(|e| Error::Setup(format!("ldd {}: {e}", binary.display())))
}

pub(crate) fn parse_ldd(out: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let mut libs = Vec::new();
    for line in out.lines().map(str::trim) {
        if line.is_empty() || line.contains("statically linked") {
            continue;
        }
        let path = if let Some((name, rest)) = line.split_once("=>") {
            let rest = rest.trim();
            if rest.starts_with("not found") {
                return Err(format!("library {} not found", name.trim()));
            }
            rest.split(" (").next().unwrap_or("").trim()
        } else {
            // `/lib64/ld-linux-x86-64.so.2 (0x...)` or `linux-vdso.so.1 (0x...)`.
            line.split(" (").next().unwrap_or("").trim()
        };
        if !path.starts_with('/') {
            continue; // the vDSO
        }
        let host = fs::canonicalize(path).map_err(|e| format!("{path}: {e}"))?;
        libs.push((path.to_string(), host));
    }
    Ok(libs)
}

/// Debian's packaged cloud kernel, unpacked in the cache.
pub(crate) struct Kernel {
    pub version: String,
    pub vmlinuz: PathBuf,
    /// The unpacked package's root (`boot/`, `lib/modules/<version>/`).
    pub root: PathBuf,
}

/// `linux-image-6.1.0-N-cloud-amd64`, as the metapackage `linux-image-cloud-amd64` depends on it
/// in the local apt lists (`RIG_KERNEL_PKG` overrides).
pub(crate) fn kernel_package() -> Result<String, Error> {
    if let Ok(p) = std::env::var("RIG_KERNEL_PKG") {
        return Ok(p);
    }
    let out = run(Command::new("apt-cache").args(["depends", "linux-image-cloud-amd64"]))?;
    out.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(|p| p.trim().trim_start_matches('<').trim_end_matches('>'))
        .find(|p| p.starts_with("linux-image-") && p.ends_with("-cloud-amd64"))
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Setup(format!(
                "`apt-cache depends linux-image-cloud-amd64` names no linux-image-*-cloud-amd64 \
                 (run apt-get update?):\n{out}"
            ))
        })
}

/// Downloads (`apt-get download`) and unpacks (`dpkg -x`) the kernel package into
/// `<cache>/kernel/<package>/root` unless it is there already, then runs `depmod` on the
/// full module tree (the package ships no modules.dep). Caller holds the cache lock.
pub(crate) fn ensure_kernel(cache: &Path, package: &str) -> Result<Kernel, Error> {
    let dir = cache.join("kernel").join(package);
    let complete = dir.join(".complete");
    if !complete.exists() {
        let partial = cache.join("kernel").join(format!("{package}.partial"));
        let _ = fs::remove_dir_all(&partial);
        fs::create_dir_all(&partial).map_err(|e| Error::io(format!("creating {}", partial.display()), e))?;
        which("apt-get", "apt")?;
        which("dpkg", "dpkg")?;
        let depmod = which("depmod", "kmod")?;
        run(Command::new("apt-get")
            .args(["download", "-q", package])
            .current_dir(&partial))
        .map_err(|e| Error::Setup(format!("downloading Debian's kernel: {e}")))?;
        let deb = fs::read_dir(&partial)
            .map_err(|e| Error::io("listing the download dir", e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| Error::Setup(format!("apt-get download {package} left no .deb")))?;
        let root = partial.join("root");
        run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root))?;
        let version = single_module_dir(&root)?;
        run(Command::new(&depmod).arg("-b").arg(&root).arg(&version))?;
        let _ = fs::remove_file(&deb);
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&partial, &dir).map_err(|e| Error::io("moving the unpacked kernel into place", e))?;
        fs::write(&complete, format!("{package}\n")).map_err(|e| Error::io("marking the kernel cache", e))?;
    }
    let root = dir.join("root");
    let version = single_module_dir(&root)?;
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{version}"));
    if !vmlinuz.is_file() {
        return Err(Error::Setup(format!("{} is missing", vmlinuz.display())));
    }
    Ok(Kernel { version, vmlinuz, root })
}

fn single_module_dir(root: &Path) -> Result<String, Error> {
    let mods = root.join("lib/modules");
    let names: Vec<String> = fs::read_dir(&mods)
        .map_err(|e| Error::io(format!("listing {}", mods.display()), e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::Setup(format!(
            "expected one kernel in {}, found {names:?}",
            mods.display()
        ))),
    }
}

fn module_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let base = base.split(".ko").next().unwrap_or(base);
    base.replace('-', "_")
}

/// The modules `wanted` and everything they depend on, as paths relative to
/// `lib/modules/<version>/`, from the full tree's modules.dep. Built-in modules are skipped.
pub(crate) fn module_closure(kernel: &Kernel, wanted: &[&str]) -> Result<Vec<String>, Error> {
    let base = kernel.root.join("lib/modules").join(&kernel.version);
    let dep = fs::read_to_string(base.join("modules.dep")).map_err(|e| Error::io("reading modules.dep", e))?;
    let builtin = fs::read_to_string(base.join("modules.builtin")).unwrap_or_default();
    let builtin: BTreeSet<String> = builtin.lines().map(module_name).collect();
    let mut by_name: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for line in dep.lines() {
        let Some((m, deps)) = line.split_once(':') else {
            continue;
        };
        let deps = deps.split_whitespace().map(str::to_string).collect();
        by_name.insert(module_name(m), (m.to_string(), deps));
    }
    let mut out = BTreeSet::new();
    for w in wanted {
        let w = w.replace('-', "_");
        match by_name.get(&w) {
            Some((path, deps)) => {
                out.insert(path.clone());
                out.extend(deps.iter().cloned());
            }
            None if builtin.contains(&w) => {}
            None => {
                return Err(Error::Setup(format!(
                    "kernel {} has no module `{w}` (neither a .ko nor built in)",
                    kernel.version
                )))
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Copies the modules into `<stage>/lib/modules/<version>/` and runs `depmod -b <stage>` so the
/// guest's busybox `modprobe` finds them. Returns the staged root. Caller holds the cache lock.
pub(crate) fn stage_modules(kernel: &Kernel, stage: &Path, modules: &[String]) -> Result<(), Error> {
    let _ = fs::remove_dir_all(stage);
    let src = kernel.root.join("lib/modules").join(&kernel.version);
    let dst = stage.join("lib/modules").join(&kernel.version);
    let copy = |rel: &str| -> Result<(), Error> {
        let to = dst.join(rel);
        fs::create_dir_all(to.parent().unwrap()).map_err(|e| Error::io(format!("creating {}", to.display()), e))?;
        fs::copy(src.join(rel), &to).map_err(|e| Error::io(format!("copying module file {rel}"), e))?;
        Ok(())
    };
    for m in modules {
        copy(m)?;
    }
    for f in ["modules.builtin", "modules.builtin.modinfo", "modules.order"] {
        if src.join(f).exists() {
            copy(f)?;
        }
    }
    let depmod = which("depmod", "kmod")?;
    run(Command::new(depmod).arg("-b").arg(stage).arg(&kernel.version))?;
    Ok(())
}

/// Every regular file under `dir` as (path relative to `dir`, host path), sorted.
pub(crate) fn walk(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    fn go(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), Error> {
        let rd = fs::read_dir(dir).map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        for e in rd {
            let e = e.map_err(|e| Error::io("listing", e))?;
            let p = e.path();
            let ft = e.file_type().map_err(|e| Error::io("stat", e))?;
            if ft.is_dir() {
                go(base, &p, out)?;
            } else if ft.is_file() {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.push((rel, p));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out)?;
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_lines() {
        let out = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f15)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f15)\n";
        let libs = parse_ldd(out).unwrap();
        let names: Vec<&str> = libs.iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(
            names,
            ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
        );
        assert!(parse_ldd("\tlibfoo.so.1 => not found\n").is_err());
        assert!(parse_ldd("\tstatically linked\n").unwrap().is_empty());
    }

    #[test]
    fn module_names() {
        assert_eq!(module_name("kernel/net/packet/af_packet_diag.ko"), "af_packet_diag");
        assert_eq!(module_name("kernel/drivers/x/foo-bar.ko.xz"), "foo_bar");
    }
}
