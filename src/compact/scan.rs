//! One read of a pages file: reader threads (one a CPU) take 4 MiB chunks in order and
//! mark their zero pages; this thread takes the chunks in file order, asks the caller
//! about each page and hands the pages it keeps, coalesced, to a sink (the new pages
//! file; none for a dry run).

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

use criu_image::magic::PAGE_SIZE;

use super::error::{Error, Result};

const P: usize = PAGE_SIZE as usize;
/// Bytes a reader takes at a time.
pub const CHUNK: usize = 4 << 20;

/// Whether `page` is all zeros: the first cache line alone (where most data pages
/// differ), then the rest in blocks the compiler turns into vector ORs.
pub fn is_zero(page: &[u8]) -> bool {
    let (head, rest) = page.split_at(page.len().min(64));
    head.iter().all(|&b| b == 0) && rest.chunks(512).all(|c| c.iter().fold(0u8, |a, &b| a | b) == 0)
}

/// What a scan found, per pages-file page.
pub struct Scan {
    pub zero: Vec<bool>,
    pub keep: Vec<bool>,
    pub kept_pages: u64,
}

/// Where kept bytes go.
pub type Sink<'a> = &'a mut dyn FnMut(&[u8]) -> std::io::Result<()>;

/// Buffers the readers take before they claim a chunk: a claimed chunk always has its
/// buffer, so the chunk the consumer waits for is always being read (no deadlock).
struct Pool {
    free: Mutex<Vec<Vec<u8>>>,
    ready: Condvar,
    stop: AtomicBool,
}

impl Pool {
    fn take(&self) -> Option<Vec<u8>> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return None;
            }
            if let Some(b) = free.pop() {
                return Some(b);
            }
            free = self.ready.wait(free).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn give(&self, b: Vec<u8>) {
        self.free.lock().unwrap_or_else(|e| e.into_inner()).push(b);
        self.ready.notify_one();
    }

    fn halt(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _guard = self.free.lock().unwrap_or_else(|e| e.into_inner());
        self.ready.notify_all();
    }
}

type Chunk = (u64, Vec<u8>, usize, Vec<bool>);

/// Scan `pages` pages of `path` with `threads` readers. `decide(page, zero)` says whether
/// a page stays; it is called once a page, in file order.
pub fn scan(
    path: &Path,
    pages: u64,
    threads: usize,
    mut decide: impl FnMut(u64, bool) -> bool,
    mut sink: Option<Sink<'_>>,
) -> Result<Scan> {
    let len = pages * PAGE_SIZE;
    let mut out = Scan {
        zero: Vec::with_capacity(pages as usize),
        keep: Vec::with_capacity(pages as usize),
        kept_pages: 0,
    };
    if pages == 0 {
        return Ok(out);
    }
    let file = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let nchunks = len.div_ceil(CHUNK as u64);
    let threads = threads.clamp(1, nchunks.min(64) as usize);
    let pool = Pool {
        free: Mutex::new((0..threads * 2 + 2).map(|_| vec![0u8; CHUNK]).collect()),
        ready: Condvar::new(),
        stop: AtomicBool::new(false),
    };
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::channel::<std::result::Result<Chunk, Error>>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (pool, next, file) = (&pool, &next, &file);
            s.spawn(move || {
                while let Some(mut buf) = pool.take() {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= nchunks {
                        pool.give(buf);
                        return;
                    }
                    let off = k * CHUNK as u64;
                    let n = (len - off).min(CHUNK as u64) as usize;
                    let msg = match file.read_exact_at(&mut buf[..n], off) {
                        Ok(()) => {
                            let zeros = buf[..n].chunks(P).map(is_zero).collect();
                            Ok((k, buf, n, zeros))
                        }
                        Err(e) => Err(Error::io(path, &format!("cannot read {n} bytes at {off} of"), e)),
                    };
                    if tx.send(msg).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let res = consume(&rx, nchunks, &pool, &mut out, &mut decide, &mut sink);
        pool.halt();
        res
    })?;
    Ok(out)
}

/// Take the chunks in file order and decide their pages.
fn consume(
    rx: &mpsc::Receiver<std::result::Result<Chunk, Error>>,
    nchunks: u64,
    pool: &Pool,
    out: &mut Scan,
    decide: &mut impl FnMut(u64, bool) -> bool,
    sink: &mut Option<Sink<'_>>,
) -> Result<()> {
    let mut waiting: BTreeMap<u64, (Vec<u8>, usize, Vec<bool>)> = BTreeMap::new();
    let mut expect = 0u64;
    while expect < nchunks {
        let (k, buf, n, zeros) = rx.recv().map_err(|_| Error::new("a pages reader stopped early"))??;
        waiting.insert(k, (buf, n, zeros));
        while let Some((buf, n, zeros)) = waiting.remove(&expect) {
            let first = expect * (CHUNK / P) as u64;
            let mut run: Option<usize> = None; // start (byte) of the kept run being built
            for (j, &z) in zeros.iter().enumerate() {
                let keep = decide(first + j as u64, z);
                out.zero.push(z);
                out.keep.push(keep);
                if keep {
                    out.kept_pages += 1;
                    run.get_or_insert(j * P);
                } else if let Some(s) = run.take() {
                    write(sink, &buf[s..j * P])?;
                }
            }
            if let Some(s) = run {
                write(sink, &buf[s..n])?;
            }
            pool.give(buf);
            expect += 1;
        }
    }
    Ok(())
}

fn write(sink: &mut Option<Sink<'_>>, bytes: &[u8]) -> Result<()> {
    match sink {
        Some(f) => f(bytes).map_err(|e| Error::new(format!("writing the new pages file: {e}"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_check() {
        let mut p = vec![0u8; P];
        assert!(is_zero(&p));
        for at in [0, 63, 64, 1000, P - 1] {
            p[at] = 1;
            assert!(!is_zero(&p), "{at}");
            p[at] = 0;
        }
    }

    #[test]
    fn scan_keeps_order_and_coalesces() {
        let dir = std::env::temp_dir().join(format!("compact-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pages");
        // 3 chunks and a bit; every 3rd page non-zero, carrying its index.
        let pages = (3 * CHUNK / P + 5) as u64;
        let mut data = vec![0u8; pages as usize * P];
        for i in (0..pages as usize).step_by(3) {
            data[i * P..i * P + 8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        }
        std::fs::write(&path, &data).unwrap();
        for threads in [1, 2, 5] {
            let mut got = Vec::new();
            let mut seen = 0u64;
            let mut sink = |b: &[u8]| {
                got.extend_from_slice(b);
                Ok(())
            };
            let s = scan(
                &path,
                pages,
                threads,
                |i, z| {
                    assert_eq!(i, seen);
                    seen += 1;
                    !z
                },
                Some(&mut sink),
            )
            .unwrap();
            assert_eq!(s.kept_pages, pages.div_ceil(3));
            assert_eq!(got.len() as u64, s.kept_pages * PAGE_SIZE);
            for (j, page) in got.chunks(P).enumerate() {
                assert_eq!(u64::from_le_bytes(page[..8].try_into().unwrap()), 3 * j as u64 + 1);
            }
            assert_eq!(s.zero.iter().filter(|z| !**z).count() as u64, s.kept_pages);
        }
        // A short file is an error, not a hang.
        assert!(scan(&path, pages + 2000, 2, |_, _| true, None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
