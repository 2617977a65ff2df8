//! Building the restorer object for one tree, and checking it as CRIU will use it.

use std::path::{Path, PathBuf};
use std::process::Command;

use compel_gen::audit::Report;

use super::{abi, build_dir, workspace_root, Error, Restorer, Tree};

/// The header's symbol prefix: CRIU's restorer blob.
const PREFIX: &str = "restorer";

/// The restorer as built for a tree, in [`build_dir`].
#[derive(Debug)]
pub struct Built {
    /// The linked object, `restorer.built-in.o`.
    pub object: PathBuf,
    /// Its audit (clean), also written as `restorer-audit.txt` beside it.
    pub report: Report,
    /// compel-gen's header for it and the tree's `compel hgen`'s.
    pub header: PathBuf,
    pub compel_header: PathBuf,
}

/// Compile `restorer` with the tree's ABI (`CRIU_TREE` for its build scripts), link it
/// with `link_also`, audit it, and have both compel-gen and the tree's compel generate
/// its header: an object either of them refuses never reaches the tree.
pub fn build(tree: &Tree, restorer: &Restorer, link_also: &[PathBuf]) -> Result<Built, Error> {
    let dir = build_dir(tree);
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let root_env = tree
        .root()
        .to_str()
        .ok_or_else(|| Error::Build(format!("{}: the tree's path is not UTF-8", tree.root().display())))?;
    let compiled = blob_build::compile(
        workspace_root(),
        &dir,
        restorer.package,
        restorer.features,
        "restorer.o",
        &[("CRIU_TREE", root_env)],
    )
    .map_err(|out| match abi::refusal(&out) {
        Some(lines) => Error::UnknownAbi {
            tree: tree.root().to_path_buf(),
            lines,
        },
        None => Error::Build(out),
    })?;

    let object = dir.join("restorer.built-in.o");
    let mut inputs: Vec<&Path> = vec![&compiled];
    inputs.extend(link_also.iter().map(PathBuf::as_path));
    blob_build::link(&inputs, &workspace_root().join(restorer.script), &object).map_err(Error::Build)?;

    let header = dir.join("restorer-blob.h");
    let what = format!("the restorer built from package {}", restorer.package);
    let report = blob_build::audit_and_header(&object, &what, PREFIX, &dir.join("restorer-audit.txt"), &header)
        .map_err(Error::Build)?;

    let compel_header = dir.join("restorer-blob.compel.h");
    compel_hgen(tree, &object, &compel_header)?;
    Ok(Built {
        object,
        report,
        header,
        compel_header,
    })
}

/// `compel hgen` of the tree, as `criu/pie/Makefile` runs it.
fn compel_hgen(tree: &Tree, object: &Path, out: &Path) -> Result<(), Error> {
    let compel = tree.compel();
    let res = Command::new(&compel)
        .arg("hgen")
        .arg("-f")
        .arg(object)
        .arg("-o")
        .arg(out)
        .output()
        .map_err(Error::io(&compel))?;
    if !res.status.success() {
        return Err(Error::CompelRefused(format!(
            "{} hgen -f {} ({}):\n{}{}",
            compel.display(),
            object.display(),
            res.status,
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        )));
    }
    Ok(())
}
