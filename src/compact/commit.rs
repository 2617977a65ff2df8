//! Putting the result in place so that the directory restores to the same process at
//! every instant, and cleaning up after a run that was stopped.
//!
//! A task's pagemap names its pages file (`pagemap_head.pages_id`), and CRIU reads the
//! two together: the pair must switch at once. The new pages go to a file of a new id
//! (`pages-<new>.img`, a name no pagemap uses), the new pagemap to
//! `pagemap-<id>.img.compact-tmp`; both are fsynced, and the rename of the pagemap over
//! the old one is the task's single commit point: before it the old pair is complete,
//! after it the new one. Only then is the old pages file removed.
//!
//! A journal written (and fsynced) before the first new file lists each task's pagemap
//! id, old and new pages id. [`recover`] reads it at the start of every run, and after a
//! failure: a pagemap that names the new id was committed (its old pages file goes), one
//! that names the old id was not (the new pages file and the temporary pagemap go).
//! Every rule is decided from the original images, and keeps each task's restored
//! bytes whatever state its parent is in, so a directory with some tasks committed and
//! some not restores to the same process as well.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use criu_image::image::ImageReader;
use criu_image::magic::PAGEMAP_MAGIC;
use criu_image::pagemap::{pagemap_bytes, pagemap_path, pages_path, Pagemap, PagemapHead};

use super::error::{Error, Result};
use super::fault;

/// The journal's name in the dump directory.
pub const JOURNAL: &str = ".criu-pie-compact.journal";
const JOURNAL_TMP: &str = ".criu-pie-compact.journal.tmp";
const JOURNAL_HEAD: &str = "criu-pie compact journal v1";
/// Suffix of a new pagemap before its rename.
pub const TMP_SUFFIX: &str = ".compact-tmp";

/// One task's switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switch {
    pub pagemap_id: u32,
    pub old_pages: u32,
    pub new_pages: u32,
}

fn tmp_pagemap(dir: &Path, id: u32) -> PathBuf {
    let mut p = pagemap_path(dir, id).into_os_string();
    p.push(TMP_SUFFIX);
    PathBuf::from(p)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, "cannot fsync", e))
}

fn remove_if_there(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, "cannot remove", e)),
    }
}

fn parse_journal(text: &str, path: &Path) -> Result<Vec<Switch>> {
    let bad = || {
        Error::new(format!(
            "{}: not a journal this version wrote; not touched",
            path.display()
        ))
    };
    let mut lines = text.lines();
    if lines.next() != Some(JOURNAL_HEAD) {
        return Err(bad());
    }
    lines
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            match w.as_slice() {
                ["pagemap", id, "old", old, "new", new] => Ok(Switch {
                    pagemap_id: id.parse().map_err(|_| bad())?,
                    old_pages: old.parse().map_err(|_| bad())?,
                    new_pages: new.parse().map_err(|_| bad())?,
                }),
                _ => Err(bad()),
            }
        })
        .collect()
}

/// The pages id `dir/pagemap-<id>.img` names.
fn head_of(dir: &Path, id: u32) -> Result<u32> {
    let path = pagemap_path(dir, id);
    let mut r = ImageReader::open(&path, PAGEMAP_MAGIC)?;
    Ok(r.expect_message::<PagemapHead>("pagemap_head")?.pages_id)
}

/// Finish or undo what a stopped run left (see the module docs); a description of what
/// was done, `None` when there was nothing.
pub fn recover(dir: &Path) -> Result<Option<String>> {
    let tmp = dir.join(JOURNAL_TMP);
    let journal = dir.join(JOURNAL);
    // A journal not yet renamed into place: no new file was made after it.
    let had_tmp = remove_if_there(&tmp)?;
    let text = match fs::read_to_string(&journal) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if had_tmp {
                sync_dir(dir)?;
                return Ok(Some("removed an unfinished journal".into()));
            }
            return Ok(None);
        }
        Err(e) => return Err(Error::io(&journal, "cannot read", e)),
    };
    let switches = parse_journal(&text, &journal)?;
    // Decide every task before touching any.
    let mut heads = Vec::new();
    for s in &switches {
        let head = head_of(dir, s.pagemap_id)?;
        if head != s.old_pages && head != s.new_pages {
            return Err(Error::new(format!(
                "{}: pagemap-{}.img names pages-{head}.img, the journal pages-{} or pages-{}: not touched",
                journal.display(),
                s.pagemap_id,
                s.old_pages,
                s.new_pages
            )));
        }
        heads.push(head);
    }
    let (mut done, mut undone) = (0, 0);
    for (s, head) in switches.iter().zip(heads) {
        remove_if_there(&tmp_pagemap(dir, s.pagemap_id))?;
        if head == s.new_pages {
            remove_if_there(&pages_path(dir, s.old_pages))?;
            done += 1;
        } else {
            remove_if_there(&pages_path(dir, s.new_pages))?;
            undone += 1;
        }
    }
    sync_dir(dir)?;
    fs::remove_file(&journal).map_err(|e| Error::io(&journal, "cannot remove", e))?;
    sync_dir(dir)?;
    Ok(Some(format!(
        "an interrupted run's leftovers cleaned: {done} task(s) had been switched, {undone} had not"
    )))
}

/// Write `bytes` to `path` as a new file with `like`'s mode and owner, fsynced.
fn write_synced(path: &Path, like: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = create_like(path, like)?;
    write_all(&mut f, bytes).map_err(|e| Error::io(path, "cannot write", e))?;
    f.sync_all().map_err(|e| Error::io(path, "cannot fsync", e))
}

/// Create `path` (it must not exist) with the mode and owner of `like`.
fn create_like(path: &Path, like: &Path) -> Result<File> {
    let f = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, "cannot create", e))?;
    if let Ok(m) = fs::metadata(like) {
        let _ = f.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777));
        // Only root may give a file away; a user's own dump is theirs already.
        let _ = fchown(&f, Some(m.uid()), Some(m.gid()));
    }
    Ok(f)
}

/// `write_all` through the fault points (ENOSPC injection).
fn write_all(f: &mut File, bytes: &[u8]) -> std::io::Result<()> {
    let n = fault::write_allowance(bytes.len());
    f.write_all(&bytes[..n])?;
    if n < bytes.len() {
        return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
    }
    Ok(())
}

/// A new pages file being written.
pub struct PagesFile {
    file: File,
    path: PathBuf,
    written: u64,
}

/// A step every this many bytes, for the kill tests.
const STEP_BYTES: u64 = 64 << 20;

impl PagesFile {
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        write_all(&mut self.file, bytes)?;
        let before = self.written;
        self.written += bytes.len() as u64;
        if before / STEP_BYTES != self.written / STEP_BYTES {
            fault::step("pages written");
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::io(&self.path, "cannot fsync", e))?;
        fault::step("pages file synced");
        Ok(())
    }
}

/// A compaction in progress: its journal is on disk.
pub struct Txn {
    dir: PathBuf,
    switches: Vec<Switch>,
}

impl Txn {
    /// Write the journal (temporary name, fsync, rename, fsync the directory).
    pub fn begin(dir: &Path, switches: Vec<Switch>) -> Result<Txn> {
        let mut text = String::from(JOURNAL_HEAD);
        for s in &switches {
            text.push_str(&format!(
                "\npagemap {} old {} new {}",
                s.pagemap_id, s.old_pages, s.new_pages
            ));
        }
        text.push('\n');
        let tmp = dir.join(JOURNAL_TMP);
        write_synced(&tmp, &dir.join("inventory.img"), text.as_bytes())?;
        fault::step("journal written");
        let journal = dir.join(JOURNAL);
        fs::rename(&tmp, &journal).map_err(|e| Error::io(&journal, "cannot rename into", e))?;
        sync_dir(dir)?;
        fault::step("journal in place");
        Ok(Txn {
            dir: dir.to_path_buf(),
            switches,
        })
    }

    /// Create task `i`'s new pages file.
    pub fn create_pages(&self, i: usize) -> Result<PagesFile> {
        let s = self.switches[i];
        let path = pages_path(&self.dir, s.new_pages);
        let file = create_like(&path, &pages_path(&self.dir, s.old_pages))?;
        fault::step("pages file created");
        Ok(PagesFile { file, path, written: 0 })
    }

    /// Switch the tasks whose new pagemap is given (`None`: the task keeps its images;
    /// its new pages file goes), then remove what is no longer used and the journal.
    pub fn commit(self, pagemaps: Vec<Option<Pagemap>>) -> Result<()> {
        let dir = &self.dir;
        for (s, pm) in self.switches.iter().zip(&pagemaps) {
            match pm {
                Some(pm) => {
                    write_synced(
                        &tmp_pagemap(dir, s.pagemap_id),
                        &pagemap_path(dir, s.pagemap_id),
                        &pagemap_bytes(pm),
                    )?;
                    fault::step("new pagemap written");
                }
                None => {
                    remove_if_there(&pages_path(dir, s.new_pages))?;
                    fault::step("unneeded pages file removed");
                }
            }
        }
        sync_dir(dir)?;
        fault::step("directory synced");
        for (s, _) in self.switches.iter().zip(&pagemaps).filter(|(_, p)| p.is_some()) {
            let to = pagemap_path(dir, s.pagemap_id);
            fs::rename(tmp_pagemap(dir, s.pagemap_id), &to).map_err(|e| Error::io(&to, "cannot rename onto", e))?;
            fault::step("pagemap switched");
        }
        // The renames reach the disk before the old pages files leave it.
        sync_dir(dir)?;
        fault::step("switches synced");
        for (s, _) in self.switches.iter().zip(&pagemaps).filter(|(_, p)| p.is_some()) {
            remove_if_there(&pages_path(dir, s.old_pages))?;
            fault::step("old pages file removed");
        }
        sync_dir(dir)?;
        let journal = dir.join(JOURNAL);
        fs::remove_file(&journal).map_err(|e| Error::io(&journal, "cannot remove", e))?;
        sync_dir(dir)?;
        fault::step("journal removed");
        Ok(())
    }
}
