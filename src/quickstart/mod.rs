//! `criu-pie install` with no `--criu`: the main job on a fresh machine. Fetches and
//! builds the pinned CRIU 4.2.1 (the criu-src fixture, cached), copies its tree to a
//! place of its own, drops the Rust restorer in ([`crate::install`]), rebuilds `criu`
//! with the tree's own make, and proves the binary with a dump and restore of a
//! patterned process, every byte checked ([`check`]), stock's restore time beside it.

mod check;
mod step;
#[path = "../../tests/harness/workloads.rs"]
mod workloads;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use criu_src::{CriuTree, Source, CRIU_4_2_1};

use crate::install::{self, Options, Restorer};
pub use check::Checked;
use step::step;

/// The CRIU a default install builds.
pub const SOURCE: &Source = &CRIU_4_2_1;

/// What to do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where the tree's copy, the logs and the check go (`target/criu-pie-install`).
    pub work: PathBuf,
    /// Install `criu` as `PREFIX/sbin/criu` too.
    pub prefix: Option<PathBuf>,
    pub restorer: Restorer,
}

impl Plan {
    pub fn new(restorer: Restorer) -> Plan {
        Plan {
            work: crate::testbed::target().join("criu-pie-install"),
            prefix: None,
            restorer,
        }
    }
}

/// What was made.
#[derive(Debug)]
pub struct Done {
    /// The copied tree, with the Rust restorer in and `criu` built.
    pub tree: PathBuf,
    pub criu: PathBuf,
    /// `PREFIX/sbin/criu`, with `--prefix`.
    pub installed: Option<PathBuf>,
    pub ours: Checked,
    pub stock: Checked,
}

/// Every step, each announced on one line as it starts and ends.
pub fn run(plan: &Plan) -> Result<Done, String> {
    let logs = plan.work.join("logs");
    fs::create_dir_all(&logs).map_err(|e| format!("mkdir {}: {e}", logs.display()))?;
    let cache = criu_src::cache_dir();
    let fixture = step(
        "fetch",
        &format!(
            "CRIU {} source: fetch, unpack and build once (cache {})",
            SOURCE.version,
            cache.display()
        ),
        Some(&cache.join("logs")),
        || CriuTree::fixture_of(SOURCE).map_err(|e| e.to_string()),
    )?;
    let tree = plan.work.join(SOURCE.top_dir());
    step("copy", &format!("the tree to {}", tree.display()), None, || {
        copy_tree(fixture.root(), &tree)
    })?;
    step(
        "install",
        "build the Rust restorer against the tree's ABI and put it in",
        None,
        || {
            install::install(&Options {
                tree: &tree,
                restorer: plan.restorer,
                link_also: &[],
            })
            .map_err(|e| e.to_string())
        },
    )?;
    let make_log = logs.join("make-criu.log");
    step(
        "build",
        &format!("make -C {} criu", tree.display()),
        Some(&make_log),
        || make_criu(&tree, &make_log),
    )?;
    let criu = tree.join("criu/criu");
    let installed = match &plan.prefix {
        Some(p) => Some(step("prefix", &format!("{}/sbin/criu", p.display()), None, || {
            install_to(&criu, p)
        })?),
        None => None,
    };
    let checks = plan.work.join("check");
    let ours = step(
        "check",
        "dump and restore a 116 MiB patterned process with the new criu",
        None,
        || check::round_trip(&criu, &checks.join("ours")),
    )?;
    let stock = step("check", "the same with stock CRIU's criu, to compare", None, || {
        check::round_trip(&fixture.criu(), &checks.join("stock"))
    })?;
    Ok(Done {
        tree,
        criu,
        installed,
        ours,
        stock,
    })
}

/// `cp -a` once (a stamp marks a finished copy): the copy keeps the build's mtimes, so
/// make rebuilds only what the install changes.
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let stamp = to.join(".copied");
    if stamp.is_file() {
        return Ok(());
    }
    let _ = fs::remove_dir_all(to);
    let parent = to.parent().ok_or("no parent directory")?;
    fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status();
    if !matches!(&st, Ok(s) if s.success()) {
        return Err(format!("cp -a {} {}: {st:?}", from.display(), to.display()));
    }
    fs::write(&stamp, b"").map_err(|e| format!("{}: {e}", stamp.display()))
}

fn make_criu(tree: &Path, log: &Path) -> Result<(), String> {
    let out = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    let st = Command::new("make")
        .arg("-C")
        .arg(tree)
        .arg(format!("-j{jobs}"))
        .arg("criu")
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("make: {e}"))?;
    if !st.success() {
        return Err(format!("make criu: {st}"));
    }
    Ok(())
}

/// `PREFIX/sbin/criu`, as CRIU's `make install` puts it (mode 0755).
fn install_to(criu: &Path, prefix: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let sbin = prefix.join("sbin");
    fs::create_dir_all(&sbin).map_err(|e| format!("mkdir {}: {e}", sbin.display()))?;
    let dest = sbin.join("criu");
    // Through a temporary name: a running criu at `dest` keeps its old inode.
    let tmp = sbin.join(".criu.new");
    fs::copy(criu, &tmp).map_err(|e| format!("copy {} to {}: {e}", criu.display(), tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o755)).map_err(|e| format!("{}: {e}", tmp.display()))?;
    fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(dest)
}
