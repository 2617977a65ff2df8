//! The machine's limit for a restore of an image: its pages files, read into the
//! page cache first, copied into fresh anonymous memory by every core at once.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use pie_mapping::Mapping;

/// The `pages-*.img` files of an image directory, sorted, with their sizes.
pub fn pages_files(dir: &Path) -> Result<Vec<(PathBuf, u64)>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut v = vec![];
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("pages-") && name.ends_with(".img") {
            let len = e.metadata().map_err(|err| format!("{name}: {err}"))?.len();
            v.push((e.path(), len));
        }
    }
    v.sort();
    Ok(v)
}

/// All files of a directory, added up.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Read every file once so that it sits in the page cache.
pub fn warm(files: &[(PathBuf, u64)]) -> Result<(), String> {
    let mut buf = vec![0u8; 16 << 20];
    for (p, _) in files {
        let mut f = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
        loop {
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
    }
    Ok(())
}

/// A pages file read-only, its pages mapped in from the page cache up front.
fn map_file(path: &Path, len: usize) -> Result<Mapping, String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Mapping::file(f.as_fd(), len).map_err(|e| format!("mmap {}: {e}", path.display()))
}

/// One run's result.
#[derive(Debug, Clone, Copy)]
pub struct LimitRun {
    pub bytes: u64,
    pub seconds: f64,
    pub threads: usize,
    /// Into memory advised MADV_HUGEPAGE (huge pages), else 4 KiB pages.
    pub huge: bool,
}

impl LimitRun {
    pub fn gbps(&self) -> f64 {
        self.bytes as f64 / self.seconds / 1e9
    }
}

/// Pieces each thread takes one at a time.
const PIECE: usize = 64 << 20;

/// Copy the (cached) files into fresh anonymous memory with `threads` threads and
/// time it; with `huge`, memory advised MADV_HUGEPAGE (what a restore into huge pages
/// cannot beat). The files are mapped and faulted in before the clock starts.
pub fn memcpy_limit(files: &[(PathBuf, u64)], threads: usize, huge: bool) -> Result<LimitRun, String> {
    let files: Vec<_> = files.iter().filter(|(_, l)| *l > 0).cloned().collect();
    let srcs: Vec<Mapping> = files
        .iter()
        .map(|(p, l)| map_file(p, *l as usize))
        .collect::<Result<_, _>>()?;
    let total: usize = files.iter().map(|(_, l)| *l as usize).sum();
    // (source, destination offset, length) for every piece.
    let mut pieces = vec![];
    let mut off = 0;
    for (m, (_, l)) in srcs.iter().zip(&files) {
        let l = *l as usize;
        for s in (0..l).step_by(PIECE) {
            pieces.push((m.as_ptr() as usize + s, off + s, PIECE.min(l - s)));
        }
        off += l;
    }
    // Fresh memory, untouched: the copy faults it in, as a restore into new VMAs does.
    let dst = Mapping::anon(total).map_err(|e| format!("mmap {total} bytes: {e}"))?;
    if huge {
        dst.advise_hugepages().map_err(|e| format!("madvise: {e}"))?;
    }
    let dst_base = dst.as_ptr() as usize;
    let next = AtomicUsize::new(0);
    let threads = threads.max(1);
    let t = Instant::now();
    std::thread::scope(|sc| {
        for _ in 0..threads {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(src, at, len)) = pieces.get(i) else { break };
                // SAFETY: src..src+len lies in a live read-only file mapping; at..at+len
                // in `dst` (alive until after the scope), and no two pieces overlap.
                unsafe { std::ptr::copy_nonoverlapping(src as *const u8, (dst_base as *mut u8).add(at), len) };
            });
        }
    });
    let seconds = t.elapsed().as_secs_f64();
    drop(dst);
    Ok(LimitRun {
        bytes: total as u64,
        seconds,
        threads,
        huge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_file_and_times_it() {
        let dir = std::env::temp_dir().join(format!("pie-gpu-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pages-1.img"), vec![7u8; 3 << 20]).unwrap();
        std::fs::write(dir.join("pages-2.img"), vec![9u8; 70 << 20]).unwrap();
        std::fs::write(dir.join("pagemap-1.img"), b"x").unwrap();
        let files = pages_files(&dir).unwrap();
        assert_eq!(files.iter().map(|(_, l)| l).sum::<u64>(), 73 << 20);
        assert_eq!(files.len(), 2);
        assert_eq!(dir_bytes(&dir), (73 << 20) + 1);
        warm(&files).unwrap();
        for huge in [false, true] {
            let r = memcpy_limit(&files, 3, huge).unwrap();
            assert_eq!((r.bytes, r.huge), (73 << 20, huge));
            assert!(r.seconds > 0.0 && r.gbps() > 0.0);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
