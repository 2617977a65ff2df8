//! The restorer's log: lines to CRIU's log fd (`args->logfd`) in the format of compel's
//! std log, so a restore log reads as it does with CRIU's C restorer:
//! `(SS.UUUUUU) pie: TID: message`, the time relative to CRIU's log start, lines above
//! the log level dropped, `Error (file:line): ` and `Warn  (file:line): ` prefixes.
//!
//! No `core::fmt`: a line is a list of pieces, each an [`Arg`] (strings, decimal
//! integers, [`Hex`] for compel's `%lx`, which prints a `0x`), written with the macros
//! [`pr_err!`](crate::pr_err), [`pr_warn!`](crate::pr_warn), [`pr_info!`](crate::pr_info),
//! [`pr_debug!`](crate::pr_debug) and [`pr_msg!`](crate::pr_msg). The macros end the line.

use core::ffi::{c_char, CStr};
use core::sync::atomic::{AtomicI32, AtomicI64, AtomicU32, Ordering};

use pie_sys::errno::Errno;
use pie_sys::fd::BorrowedFd;
use pie_sys::{fs, process, time};

/// Levels, as CRIU numbers them (`criu/include/log.h`).
pub use criu_abi::raw::{LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_MSG, LOG_WARN};

/// compel's `STD_LOG_SIMPLE_CHUNK`: a longer line is cut, the cut marked with `>`.
const CHUNK: usize = 256;

static FD: AtomicI32 = AtomicI32::new(-1);
// compel's default level until CRIU's is known.
static LEVEL: AtomicU32 = AtomicU32::new(LOG_WARN);
static START_SEC: AtomicI64 = AtomicI64::new(0);
static START_USEC: AtomicI64 = AtomicI64::new(0);

/// Log to `fd` at `level`, times relative to `start` (CRIU's `log_get_logstart`).
pub fn init(fd: i32, level: u32, start_sec: i64, start_usec: i64) {
    set_fd(fd);
    LEVEL.store(level, Ordering::Relaxed);
    START_USEC.store(start_usec, Ordering::Relaxed);
    START_SEC.store(start_sec, Ordering::Relaxed);
}

/// Close the log fd, as CRIU's restorer does before the task goes back to its own code.
/// Write `line` to the log as it is: no prefix, no formatting, nothing that can panic
/// (the panic handler's one line).
pub fn write_raw(line: &[u8]) {
    let fd = FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: the log fd stays open until `close`, which the restorer calls only once
        // no more lines are logged.
        let _ = fs::write(unsafe { BorrowedFd::borrow_raw(fd) }, line);
    }
}

pub fn close() {
    set_fd(-1);
}

fn set_fd(fd: i32) {
    let old = FD.swap(fd, Ordering::Relaxed);
    if old >= 0 && old != fd {
        // SAFETY: the log fd was handed to the restorer to own (CRIU's std log closes it
        // the same way); nothing else in the restorer uses it.
        let _ = unsafe { fs::close(old) };
    }
}

/// Whether a line at `level` would be written.
#[inline]
pub fn enabled(level: u32) -> bool {
    level <= LEVEL.load(Ordering::Relaxed) && FD.load(Ordering::Relaxed) >= 0
}

/// One log line being assembled.
pub struct Line {
    buf: [u8; CHUNK + 2],
    len: usize,
    prefix: usize,
}

impl Line {
    /// A line with its `(time) pie: tid: ` prefix.
    pub fn start() -> Line {
        let mut l = Line {
            buf: [0; CHUNK + 2],
            len: 0,
            prefix: 0,
        };
        let start = START_SEC.load(Ordering::Relaxed);
        if start != 0 {
            if let Ok(now) = time::gettimeofday() {
                let (mut sec, mut usec) = (now.tv_sec - start, now.tv_usec - START_USEC.load(Ordering::Relaxed));
                if usec < 0 {
                    sec -= 1;
                    usec += 1_000_000;
                }
                l.raw(b"(");
                l.padded(sec as u32 as u64, 2);
                l.raw(b".");
                l.padded(usec as u32 as u64, 6);
                l.raw(b") ");
            }
        }
        l.raw(b"pie: ");
        l.dec(process::gettid() as i64);
        l.raw(b": ");
        l.prefix = l.len;
        l
    }

    fn raw(&mut self, s: &[u8]) {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }

    fn padded(&mut self, v: u64, width: usize) {
        let mut d = [b'0'; 20];
        let n = digits(v, &mut d);
        for _ in n..width {
            self.raw(b"0");
        }
        self.raw(&d[20 - n..]);
    }

    fn dec(&mut self, v: i64) {
        if v < 0 {
            self.raw(b"-");
        }
        let mut d = [0; 20];
        let n = digits(v.unsigned_abs(), &mut d);
        self.raw(&d[20 - n..]);
    }

    /// Append message bytes; a line that outgrows the chunk is flushed with a `>` mark.
    pub fn put(&mut self, s: &[u8]) {
        for &c in s {
            if self.len >= CHUNK {
                return;
            }
            self.buf[self.len] = c;
            self.len += 1;
            if self.len >= CHUNK - 2 {
                self.raw(b">\n");
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        if self.len > self.prefix {
            let fd = FD.load(Ordering::Relaxed);
            if fd >= 0 {
                // SAFETY: the log fd stays open until `close`, which the restorer calls
                // only once no more lines are logged.
                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                let _ = fs::write(fd, &self.buf[..self.len]);
            }
        }
        self.len = self.prefix;
    }

    /// End the line and write it.
    pub fn end(mut self) {
        self.put(b"\n");
        self.flush();
    }
}

fn digits(mut v: u64, out: &mut [u8; 20]) -> usize {
    let mut n = 0;
    loop {
        out[19 - n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            return n;
        }
    }
}

/// A piece of a log line.
pub trait Arg {
    fn put(&self, l: &mut Line);
}

impl Arg for &str {
    fn put(&self, l: &mut Line) {
        l.put(self.as_bytes())
    }
}

impl Arg for &CStr {
    fn put(&self, l: &mut Line) {
        l.put(self.to_bytes())
    }
}

macro_rules! decimal {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn put(&self, l: &mut Line) {
                let mut d = [0; 20];
                if (*self as i128) < 0 {
                    l.put(b"-");
                }
                let n = digits((*self as i128).unsigned_abs() as u64, &mut d);
                l.put(&d[20 - n..]);
            }
        }
    )*};
}
decimal!(i32, i64, isize, u32, u64, usize, i16, u16, u8);

/// An integer printed as compel's `%x`/`%lx` prints it: `0x` and lower-case digits.
#[derive(Clone, Copy)]
pub struct Hex(pub u64);

impl Arg for Hex {
    fn put(&self, l: &mut Line) {
        let mut d = [0u8; 18];
        let mut v = self.0;
        let mut n = 0;
        loop {
            d[17 - n] = b"0123456789abcdef"[(v & 0xf) as usize];
            n += 1;
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        l.put(b"0x");
        l.put(&d[18 - n..]);
    }
}

/// An errno printed as the C restorer prints a failed call's return: negative.
impl Arg for Errno {
    fn put(&self, l: &mut Line) {
        (self.neg() as i64).put(l)
    }
}

/// A NUL-terminated string CRIU put in the args (a name, an LSM label).
#[derive(Clone, Copy)]
pub struct CString(pub *const c_char);

impl Arg for CString {
    fn put(&self, l: &mut Line) {
        if self.0.is_null() {
            l.put(b"(null)");
            return;
        }
        // SAFETY: CRIU hands the restorer NUL-terminated strings inside its args area,
        // which stays mapped for the whole restore.
        let s = unsafe { CStr::from_ptr(self.0) };
        s.put(l)
    }
}

/// Write one line at a level: `pr_at!(LOG_INFO, "Restored ", pid)`.
#[macro_export]
macro_rules! pr_at {
    ($level:expr $(, $arg:expr)* $(,)?) => {
        if $crate::log::enabled($level) {
            #[allow(unused_mut)]
            let mut line = $crate::log::Line::start();
            $( $crate::log::Arg::put(&$arg, &mut line); )*
            line.end();
        }
    };
}

/// An error line, with the source position as CRIU's `pr_err` gives it.
#[macro_export]
macro_rules! pr_err {
    ($($arg:expr),* $(,)?) => {
        $crate::pr_at!($crate::log::LOG_ERROR, "Error (", file!(), ":", line!(), "): " $(, $arg)*)
    };
}

/// A warning line, with the source position.
#[macro_export]
macro_rules! pr_warn {
    ($($arg:expr),* $(,)?) => {
        $crate::pr_at!($crate::log::LOG_WARN, "Warn  (", file!(), ":", line!(), "): " $(, $arg)*)
    };
}

/// An info line.
#[macro_export]
macro_rules! pr_info {
    ($($arg:expr),* $(,)?) => { $crate::pr_at!($crate::log::LOG_INFO $(, $arg)*) };
}

/// A debug line.
#[macro_export]
macro_rules! pr_debug {
    ($($arg:expr),* $(,)?) => { $crate::pr_at!($crate::log::LOG_DEBUG $(, $arg)*) };
}

/// A line written at every level.
#[macro_export]
macro_rules! pr_msg {
    ($($arg:expr),* $(,)?) => { $crate::pr_at!($crate::log::LOG_MSG $(, $arg)*) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    /// Log into a pipe and return what was written. The logger is process-global, so
    /// the tests that use it take this lock.
    fn capture(level: u32, start: (i64, i64), f: impl FnOnce()) -> String {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _g = LOCK.lock().unwrap();
        let (mut r, w) = std::io::pipe().unwrap();
        init(w.as_raw_fd(), level, start.0, start.1);
        std::mem::forget(w); // owned by the logger now
        f();
        close();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        s
    }

    #[test]
    fn lines_carry_prefix_and_levels_filter() {
        let tid = process::gettid();
        let out = capture(LOG_INFO, (0, 0), || {
            crate::pr_info!("Switched to the restorer ", 42i32);
            crate::pr_debug!("not shown");
            crate::pr_err!(
                "Can't map ",
                Hex(0x7f00_dead_b000),
                " len ",
                4096usize,
                " errno ",
                Errno::new(22).unwrap()
            );
        });
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0], format!("pie: {tid}: Switched to the restorer 42"));
        assert!(
            lines[1].starts_with(&format!("pie: {tid}: Error (criu-restorer/src/log.rs:")),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with("): Can't map 0x7f00deadb000 len 4096 errno -22"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn time_is_relative_to_the_log_start() {
        let now = time::gettimeofday().unwrap();
        // A start 3.5 s ago: the line reads (03.5xxxxx).
        let (sec, usec) = if now.tv_usec >= 500_000 {
            (now.tv_sec - 3, now.tv_usec - 500_000)
        } else {
            (now.tv_sec - 4, now.tv_usec + 500_000)
        };
        let out = capture(LOG_DEBUG, (sec, usec), || crate::pr_debug!("x"));
        assert!(out.starts_with("(03.5"), "{out}");
        assert_eq!(&out[10..12], ") ", "{out}");
    }

    #[test]
    fn long_lines_are_cut_and_marked() {
        let long = "a".repeat(600);
        let out = capture(LOG_INFO, (0, 0), || crate::pr_info!(long.as_str()));
        let first = out.lines().next().unwrap();
        assert_eq!(first.len(), CHUNK - 1, "{first}");
        assert!(first.ends_with("a>"), "{first}");
    }

    #[test]
    fn negative_and_null_pieces() {
        let out = capture(LOG_INFO, (0, 0), || {
            crate::pr_info!(-5i64, " ", CString(core::ptr::null()))
        });
        assert!(out.ends_with(": -5 (null)\n"), "{out}");
    }
}
