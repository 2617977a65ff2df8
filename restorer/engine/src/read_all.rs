//! The one `preadv` loop: read until every byte of a batch of iovecs is in, advancing
//! over short reads and retrying EINTR.

use pie_sys::fs::IoVec;
use pie_sys::{Errno, Result};

/// Why [`read_all`] stopped before the last byte.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stop {
    /// End of file.
    Eof,
    /// The read failed (and `retry` said not to try it again).
    Failed(Errno),
}

/// Where [`read_all`] stopped: why, at which file offset, after how many bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Short {
    pub why: Stop,
    pub off: i64,
    pub done: u64,
}

/// Read at `off` into every byte of `iov` with `read(iovecs, offset)` (a `preadv`),
/// advancing `iov` over what each read returned. EINTR is retried; another error is
/// retried while `retry(errno)` says so. Returns the bytes read (all of `iov`).
pub fn read_all(
    iov: &mut [IoVec],
    mut off: i64,
    mut read: impl FnMut(&[IoVec], i64) -> Result<usize>,
    mut retry: impl FnMut(Errno) -> bool,
) -> core::result::Result<u64, Short> {
    let mut first = 0;
    let mut done = 0u64;
    loop {
        while first < iov.len() && iov[first].len == 0 {
            first += 1;
        }
        if first == iov.len() {
            return Ok(done);
        }
        match read(&iov[first..], off) {
            Ok(0) => {
                return Err(Short {
                    why: Stop::Eof,
                    off,
                    done,
                })
            }
            Ok(mut n) => {
                done += n as u64;
                off += n as i64;
                while n > 0 {
                    let v = &mut iov[first];
                    if n >= v.len {
                        n -= v.len;
                        first += 1;
                    } else {
                        // SAFETY: n < v.len, still inside the iovec.
                        v.base = unsafe { v.base.add(n) };
                        v.len -= n;
                        n = 0;
                    }
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) if retry(e) => {}
            Err(e) => {
                return Err(Short {
                    why: Stop::Failed(e),
                    off,
                    done,
                })
            }
        }
    }
}
