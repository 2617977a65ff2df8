//! `ld -r` with a linker script, as CRIU links its PIE blobs.

use std::env;
use std::path::Path;
use std::process::Command;

use crate::run::run;

/// Link `objects` into the relocatable blob `out` with the linker script `script`
/// (`ld -r -T ...`). The linker is `$CRIU_PIE_LD`, else `ld`.
pub fn link(objects: &[&Path], script: &Path, out: &Path) -> Result<(), String> {
    let ld = env::var_os("CRIU_PIE_LD").unwrap_or_else(|| "ld".into());
    let mut cmd = Command::new(ld);
    cmd.args(["-r", "-z", "noexecstack", "-T"])
        .arg(script)
        .arg("-o")
        .arg(out)
        .args(objects);
    run(&mut cmd, "ld -r")
}
