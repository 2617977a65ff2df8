//! Open flags (`<asm-generic/fcntl.h>`, x86_64 values), shared by the families whose
//! `*_CLOEXEC`/`*_NONBLOCK` flags reuse their bits.

bitflags::bitflags! {
    /// `O_*`: how `open` opens a file, and the status flags `fcntl(F_GETFL)` reports.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct OFlags: u32 {
        const RDONLY = linux_raw_sys::general::O_RDONLY;
        const WRONLY = linux_raw_sys::general::O_WRONLY;
        const RDWR = linux_raw_sys::general::O_RDWR;
        const ACCMODE = linux_raw_sys::general::O_ACCMODE;
        const CREAT = linux_raw_sys::general::O_CREAT;
        const EXCL = linux_raw_sys::general::O_EXCL;
        const NOCTTY = linux_raw_sys::general::O_NOCTTY;
        const TRUNC = linux_raw_sys::general::O_TRUNC;
        const APPEND = linux_raw_sys::general::O_APPEND;
        const NONBLOCK = linux_raw_sys::general::O_NONBLOCK;
        const DSYNC = linux_raw_sys::general::O_DSYNC;
        const ASYNC = linux_raw_sys::general::FASYNC;
        const DIRECT = linux_raw_sys::general::O_DIRECT;
        const LARGEFILE = linux_raw_sys::general::O_LARGEFILE;
        const DIRECTORY = linux_raw_sys::general::O_DIRECTORY;
        const NOFOLLOW = linux_raw_sys::general::O_NOFOLLOW;
        const NOATIME = linux_raw_sys::general::O_NOATIME;
        const CLOEXEC = linux_raw_sys::general::O_CLOEXEC;
        const SYNC = linux_raw_sys::general::O_SYNC;
        const PATH = linux_raw_sys::general::O_PATH;
        const TMPFILE = linux_raw_sys::general::O_TMPFILE;
        // The kernel keeps (and reports) bits this list may lack.
        const _ = !0;
    }
}
