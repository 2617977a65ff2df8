//! Building a CRIU tree: `criu` itself, then zdtm's library and static tests.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Step};

/// zdtm's static directory holds a few hundred tests; fewer built than this means the
/// build went wrong even if make's `-k` let it finish.
const MIN_STATIC_TESTS: usize = 200;

pub fn build(root: &Path, logs: &Path) -> Result<(), Error> {
    let jobs = format!("-j{}", std::thread::available_parallelism().map_or(2, |n| n.get()));
    make(root, &[&jobs, "criu"], Step::BuildCriu, &logs.join("make-criu.log"))?;
    if !root.join("criu/criu").is_file() {
        return Err(Error::new(Step::BuildCriu, "make succeeded but criu/criu is missing"));
    }
    make(
        root,
        &[&jobs, "-C", "test/zdtm/lib"],
        Step::BuildZdtm,
        &logs.join("make-zdtm-lib.log"),
    )?;
    // -k: a test that cannot build on this kernel's headers (bpf maps, say) must not
    // keep the others from building; the count below catches a broken build.
    let log = logs.join("make-zdtm-static.log");
    let _ = make(root, &[&jobs, "-k", "-C", "test/zdtm/static"], Step::BuildZdtm, &log);
    let built = count_executables(&root.join("test/zdtm/static"));
    if built < MIN_STATIC_TESTS {
        return Err(Error::with_log(
            Step::BuildZdtm,
            format!("only {built} static tests built (expected at least {MIN_STATIC_TESTS})"),
            &log,
        ));
    }
    Ok(())
}

fn make(root: &Path, args: &[&str], step: Step, log: &Path) -> Result<(), Error> {
    let out = fs::File::create(log).map_err(|e| Error::new(Step::Cache, format!("create {}: {e}", log.display())))?;
    let err = out.try_clone().map_err(|e| Error::new(Step::Cache, e.to_string()))?;
    let status = Command::new("make")
        .current_dir(root)
        .args(args)
        // Our caller's make or cargo jobserver is not CRIU's.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("CARGO_MAKEFLAGS")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| Error::new(step, format!("run make: {e}")))?;
    if !status.success() {
        return Err(Error::with_log(
            step,
            format!(
                "make {} exited with {status} (build dependencies: scripts/setup installs them)",
                args.join(" ")
            ),
            log,
        ));
    }
    Ok(())
}

fn count_executables(dir: &Path) -> usize {
    use std::os::unix::fs::PermissionsExt;
    let Ok(rd) = fs::read_dir(dir) else { return 0 };
    rd.filter_map(|e| e.ok())
        .filter(|e| {
            e.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o100 != 0)
        })
        .count()
}
