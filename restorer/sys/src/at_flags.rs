//! `AT_*`: how the `*at` calls treat their path (follow links, empty path, remove a
//! directory, statx sync, handle kinds); shared by the fs, path and mount families.

bitflags::bitflags! {
    /// `AT_*` flags. Some values mean different things to different calls
    /// (`REMOVEDIR` and `HANDLE_FID` share a bit): each call documents which it takes.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct AtFlags: u32 {
        const SYMLINK_NOFOLLOW = linux_raw_sys::general::AT_SYMLINK_NOFOLLOW;
        const REMOVEDIR = linux_raw_sys::general::AT_REMOVEDIR;
        const SYMLINK_FOLLOW = linux_raw_sys::general::AT_SYMLINK_FOLLOW;
        const NO_AUTOMOUNT = linux_raw_sys::general::AT_NO_AUTOMOUNT;
        const EMPTY_PATH = linux_raw_sys::general::AT_EMPTY_PATH;
        const RECURSIVE = linux_raw_sys::general::AT_RECURSIVE;
        const STATX_SYNC_AS_STAT = linux_raw_sys::general::AT_STATX_SYNC_AS_STAT;
        const STATX_FORCE_SYNC = linux_raw_sys::general::AT_STATX_FORCE_SYNC;
        const STATX_DONT_SYNC = linux_raw_sys::general::AT_STATX_DONT_SYNC;
        const HANDLE_MNT_ID_UNIQUE = linux_raw_sys::general::AT_HANDLE_MNT_ID_UNIQUE;
        const HANDLE_FID = linux_raw_sys::general::AT_HANDLE_FID;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}
