//! `pstree.img`: the dumped process tree, one [`PstreeEntry`] per task.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::image::{ImageReader, ImageWriter};
use crate::magic::PSTREE_MAGIC;
pub use crate::proto::PstreeEntry;

/// `dir/pstree.img`.
pub fn pstree_path(dir: impl AsRef<Path>) -> PathBuf {
    dir.as_ref().join("pstree.img")
}

/// Read every entry of `dir/pstree.img`, in the order CRIU wrote them.
pub fn read_pstree(dir: impl AsRef<Path>) -> Result<Vec<PstreeEntry>> {
    let mut r = ImageReader::open(pstree_path(dir), PSTREE_MAGIC)?;
    let mut out = Vec::new();
    while let Some(e) = r.next_message::<PstreeEntry>()? {
        out.push(e);
    }
    Ok(out)
}

/// Write `entries` as `dir/pstree.img`.
pub fn write_pstree(dir: impl AsRef<Path>, entries: &[PstreeEntry]) -> Result<PathBuf> {
    let path = pstree_path(dir);
    let mut w = ImageWriter::create(&path, PSTREE_MAGIC)?;
    for e in entries {
        w.write_message(e)?;
    }
    w.finish()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("criu-image-pstree-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let es = vec![
            PstreeEntry {
                pid: 10,
                ppid: 0,
                pgid: 10,
                sid: 10,
                threads: vec![10, 11],
            },
            PstreeEntry {
                pid: 12,
                ppid: 10,
                pgid: 10,
                sid: 10,
                threads: vec![12],
            },
        ];
        write_pstree(&dir, &es).unwrap();
        assert_eq!(read_pstree(&dir).unwrap(), es);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
