//! One RAII memory mapping for the tests and the benchmarks (host code, with std): fresh
//! anonymous memory as a restored task's VMAs start, the same between guard pages that
//! catch a stray write, or a file read-only from the page cache. Unmapped on drop.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use vma_io::PAGE_SIZE;

/// A mapping owned by this value: `len` usable bytes at `base`, with `guard` bytes of
/// PROT_NONE on each side (0 for none).
pub struct Mapping {
    base: *mut u8,
    len: usize,
    guard: usize,
}

// SAFETY: the mapping is plain memory owned by the value; threads that share it write
// disjoint parts (the benchmarks' copies) or only read it.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `len` bytes of fresh private anonymous memory, read-write, page-aligned and
    /// untouched (the first write faults each page in), with no swap reserved for it.
    pub fn anon(len: usize) -> io::Result<Mapping> {
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        let base = map(
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            None,
        )?;
        Ok(Mapping { base, len, guard: 0 })
    }

    /// As [`anon`](Self::anon), `len` rounded up to pages, between two PROT_NONE guard
    /// pages: a write outside the pages kills the process.
    pub fn guarded(len: usize) -> io::Result<Mapping> {
        let inner = len.next_multiple_of(PAGE_SIZE);
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        let area = map(inner + 2 * PAGE_SIZE, libc::PROT_NONE, flags, None)?;
        let m = Mapping {
            // SAFETY: one page into the mapping just made.
            base: unsafe { area.add(PAGE_SIZE) },
            len: inner,
            guard: PAGE_SIZE,
        };
        // SAFETY: the inner pages of our own mapping.
        if unsafe { libc::mprotect(m.base as *mut libc::c_void, inner, libc::PROT_READ | libc::PROT_WRITE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(m)
    }

    /// The first `len` bytes of `file`, read-only and shared, faulted in up front
    /// (MAP_POPULATE: from the page cache, where the file sits).
    pub fn file(file: BorrowedFd<'_>, len: usize) -> io::Result<Mapping> {
        let base = map(len, libc::PROT_READ, libc::MAP_SHARED | libc::MAP_POPULATE, Some(file))?;
        Ok(Mapping { base, len, guard: 0 })
    }

    /// Advise the usable bytes MADV_HUGEPAGE: transparent huge pages where the kernel
    /// can give them (the destination of a restore with huge pages).
    pub fn advise_hugepages(&self) -> io::Result<()> {
        // SAFETY: advice on our own mapping; it changes no byte of it.
        if unsafe { libc::madvise(self.base as *mut libc::c_void, self.len, libc::MADV_HUGEPAGE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// The first usable byte.
    pub fn as_ptr(&self) -> *mut u8 {
        self.base
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The usable bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes of our own mapping, live as long as `self`.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }
}

/// mmap `len` bytes (at least one: an empty mapping is refused) with `prot` and `flags`.
fn map(len: usize, prot: i32, flags: i32, fd: Option<BorrowedFd<'_>>) -> io::Result<*mut u8> {
    let fd = fd.map_or(-1, |f| f.as_raw_fd());
    // SAFETY: a new mapping, placed by the kernel: nothing of ours is replaced.
    let p = unsafe { libc::mmap(std::ptr::null_mut(), len.max(1), prot, flags, fd, 0) };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p as *mut u8)
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the whole mapping this value made (guards included); borrows of its
        // bytes ended with the borrow of `self`.
        unsafe {
            libc::munmap(
                self.base.sub(self.guard) as *mut libc::c_void,
                self.len.max(1) + 2 * self.guard,
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the page at `p` is free: a mapping placed there without replacing
    /// anything succeeds (and is undone) only then. Asked right after a drop, so that no
    /// other thread's mapping has had time to land there.
    fn free(p: *const u8) -> bool {
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
        let q = unsafe { libc::mmap(p as *mut libc::c_void, PAGE_SIZE, libc::PROT_NONE, flags, -1, 0) };
        if q == libc::MAP_FAILED {
            return false;
        }
        // SAFETY: the probe mapping just made.
        unsafe { libc::munmap(q, PAGE_SIZE) };
        q as *const u8 == p
    }

    #[test]
    fn anon_is_fresh_zeroed_and_unmapped_on_drop() {
        let m = Mapping::anon(3 * PAGE_SIZE + 5).unwrap();
        assert_eq!(m.as_ptr() as usize % PAGE_SIZE, 0);
        assert_eq!(m.len(), 3 * PAGE_SIZE + 5);
        assert!(m.bytes().iter().all(|&b| b == 0));
        // SAFETY: inside the mapping.
        unsafe { m.as_ptr().add(3 * PAGE_SIZE).write(7) };
        assert_eq!(m.bytes()[3 * PAGE_SIZE], 7);
        let p = m.as_ptr();
        assert!(!free(p));
        drop(m);
        assert!(free(p), "still mapped after drop");
    }

    #[test]
    fn guarded_has_guard_pages_and_unmaps_them() {
        let m = Mapping::guarded(2 * PAGE_SIZE - 1).unwrap();
        assert_eq!(m.len(), 2 * PAGE_SIZE);
        let p = m.as_ptr();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let guard = format!("{:x}-{:x} ---p", p as usize - PAGE_SIZE, p as usize);
        assert!(maps.contains(&guard), "no guard page below {p:?}");
        drop(m);
        assert!(free(p.wrapping_sub(PAGE_SIZE)), "guard page still mapped after drop");
    }

    #[test]
    fn file_maps_its_bytes() {
        use std::io::Write;
        use std::os::fd::AsFd;
        let path = std::env::temp_dir().join(format!("pie-mapping-{}", std::process::id()));
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(b"criu pages").unwrap();
        let f = std::fs::File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let m = Mapping::file(f.as_fd(), 10).unwrap();
        assert_eq!(m.bytes(), b"criu pages");
    }
}
