//! `CLONE_*`: what a new task shares with its parent, or which namespaces `unshare` and
//! `setns` act on; shared by the thread and process families.

bitflags::bitflags! {
    /// `CLONE_*` flags (`CLEAR_SIGHAND` and `INTO_CGROUP` are clone3-only).
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct CloneFlags: u64 {
        const NEWTIME = linux_raw_sys::general::CLONE_NEWTIME as u64;
        const VM = linux_raw_sys::general::CLONE_VM as u64;
        const FS = linux_raw_sys::general::CLONE_FS as u64;
        const FILES = linux_raw_sys::general::CLONE_FILES as u64;
        const SIGHAND = linux_raw_sys::general::CLONE_SIGHAND as u64;
        const PIDFD = linux_raw_sys::general::CLONE_PIDFD as u64;
        const PTRACE = linux_raw_sys::general::CLONE_PTRACE as u64;
        const VFORK = linux_raw_sys::general::CLONE_VFORK as u64;
        const PARENT = linux_raw_sys::general::CLONE_PARENT as u64;
        const THREAD = linux_raw_sys::general::CLONE_THREAD as u64;
        const NEWNS = linux_raw_sys::general::CLONE_NEWNS as u64;
        const SYSVSEM = linux_raw_sys::general::CLONE_SYSVSEM as u64;
        const SETTLS = linux_raw_sys::general::CLONE_SETTLS as u64;
        const PARENT_SETTID = linux_raw_sys::general::CLONE_PARENT_SETTID as u64;
        const CHILD_CLEARTID = linux_raw_sys::general::CLONE_CHILD_CLEARTID as u64;
        const DETACHED = linux_raw_sys::general::CLONE_DETACHED as u64;
        const UNTRACED = linux_raw_sys::general::CLONE_UNTRACED as u64;
        const CHILD_SETTID = linux_raw_sys::general::CLONE_CHILD_SETTID as u64;
        const NEWCGROUP = linux_raw_sys::general::CLONE_NEWCGROUP as u64;
        const NEWUTS = linux_raw_sys::general::CLONE_NEWUTS as u64;
        const NEWIPC = linux_raw_sys::general::CLONE_NEWIPC as u64;
        const NEWUSER = linux_raw_sys::general::CLONE_NEWUSER as u64;
        const NEWPID = linux_raw_sys::general::CLONE_NEWPID as u64;
        const NEWNET = linux_raw_sys::general::CLONE_NEWNET as u64;
        const IO = linux_raw_sys::general::CLONE_IO as u64;
        const CLEAR_SIGHAND = linux_raw_sys::general::CLONE_CLEAR_SIGHAND;
        const INTO_CGROUP = linux_raw_sys::general::CLONE_INTO_CGROUP;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}
