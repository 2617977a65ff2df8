//! Credentials: user and group ids, supplementary groups, filesystem ids, capabilities.

use super::ret::{ret_unit, ret_usize};
use super::{nr, raw, Result};
use syscalls::Sysno;

/// An id argument meaning "leave unchanged" (`(uid_t)-1`).
pub const ID_UNCHANGED: u32 = u32::MAX;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets as two [`CapUserData`] words.
pub const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// `_LINUX_CAPABILITY_VERSION_1`: 32-bit sets, one [`CapUserData`].
pub const LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;

// Capability numbers.
pub const CAP_CHOWN: u32 = linux_raw_sys::general::CAP_CHOWN;
pub const CAP_DAC_OVERRIDE: u32 = linux_raw_sys::general::CAP_DAC_OVERRIDE;
pub const CAP_DAC_READ_SEARCH: u32 = linux_raw_sys::general::CAP_DAC_READ_SEARCH;
pub const CAP_FOWNER: u32 = linux_raw_sys::general::CAP_FOWNER;
pub const CAP_FSETID: u32 = linux_raw_sys::general::CAP_FSETID;
pub const CAP_KILL: u32 = linux_raw_sys::general::CAP_KILL;
pub const CAP_SETGID: u32 = linux_raw_sys::general::CAP_SETGID;
pub const CAP_SETUID: u32 = linux_raw_sys::general::CAP_SETUID;
pub const CAP_SETPCAP: u32 = linux_raw_sys::general::CAP_SETPCAP;
pub const CAP_NET_BIND_SERVICE: u32 = linux_raw_sys::general::CAP_NET_BIND_SERVICE;
pub const CAP_NET_ADMIN: u32 = linux_raw_sys::general::CAP_NET_ADMIN;
pub const CAP_NET_RAW: u32 = linux_raw_sys::general::CAP_NET_RAW;
pub const CAP_IPC_LOCK: u32 = linux_raw_sys::general::CAP_IPC_LOCK;
pub const CAP_IPC_OWNER: u32 = linux_raw_sys::general::CAP_IPC_OWNER;
pub const CAP_SYS_MODULE: u32 = linux_raw_sys::general::CAP_SYS_MODULE;
pub const CAP_SYS_RAWIO: u32 = linux_raw_sys::general::CAP_SYS_RAWIO;
pub const CAP_SYS_CHROOT: u32 = linux_raw_sys::general::CAP_SYS_CHROOT;
pub const CAP_SYS_PTRACE: u32 = linux_raw_sys::general::CAP_SYS_PTRACE;
pub const CAP_SYS_ADMIN: u32 = linux_raw_sys::general::CAP_SYS_ADMIN;
pub const CAP_SYS_BOOT: u32 = linux_raw_sys::general::CAP_SYS_BOOT;
pub const CAP_SYS_NICE: u32 = linux_raw_sys::general::CAP_SYS_NICE;
pub const CAP_SYS_RESOURCE: u32 = linux_raw_sys::general::CAP_SYS_RESOURCE;
pub const CAP_SYS_TIME: u32 = linux_raw_sys::general::CAP_SYS_TIME;
pub const CAP_MKNOD: u32 = linux_raw_sys::general::CAP_MKNOD;
pub const CAP_AUDIT_CONTROL: u32 = linux_raw_sys::general::CAP_AUDIT_CONTROL;
pub const CAP_SETFCAP: u32 = linux_raw_sys::general::CAP_SETFCAP;
pub const CAP_SYSLOG: u32 = linux_raw_sys::general::CAP_SYSLOG;
pub const CAP_BPF: u32 = linux_raw_sys::general::CAP_BPF;
pub const CAP_CHECKPOINT_RESTORE: u32 = linux_raw_sys::general::CAP_CHECKPOINT_RESTORE;
pub const CAP_LAST_CAP: u32 = linux_raw_sys::general::CAP_LAST_CAP;

/// `SECURE_NO_SETUID_FIXUP` (`<linux/securebits.h>`): the securebit (a bit number, for
/// `PR_SET_SECUREBITS`) under which uid changes leave the capability sets alone.
pub const SECURE_NO_SETUID_FIXUP: u32 = 2;

/// The kernel's `struct __user_cap_header_struct`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapUserHeader {
    /// `LINUX_CAPABILITY_VERSION_*`; the kernel writes its preferred one back on a bad
    /// version.
    pub version: u32,
    /// The task (0: the caller).
    pub pid: i32,
}
assert_layout!(CapUserHeader, size = 8);

/// The kernel's `struct __user_cap_data_struct`: one 32-bit word of each set.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CapUserData {
    pub effective: u32,
    pub permitted: u32,
    pub inheritable: u32,
}
assert_layout!(CapUserData, size = 12);

/// Whether capability `cap` is set in a version-3 set (`which` picks the field).
#[inline]
pub fn cap_is_set(data: &[CapUserData; 2], cap: u32, which: fn(&CapUserData) -> u32) -> bool {
    which(&data[(cap / 32) as usize & 1]) & (1 << (cap % 32)) != 0
}

/// `getgroups(2)`: the supplementary groups into `list`; returns how many. With an empty
/// `list`, only the count.
#[inline]
pub fn getgroups(list: &mut [u32]) -> Result<usize> {
    // SAFETY: the kernel writes at most list.len() gids into `list`.
    ret_usize(unsafe { raw::syscall2(nr(Sysno::getgroups), list.len(), list.as_mut_ptr() as usize) })
}

/// `setgroups(2)`: replace the supplementary groups (needs `CAP_SETGID`).
#[inline]
pub fn setgroups(list: &[u32]) -> Result<()> {
    // SAFETY: the kernel only reads `list`.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::setgroups), list.len(), list.as_ptr() as usize) })
}

/// `setresuid(2)`: set the real, effective and saved uid ([`ID_UNCHANGED`] keeps one).
#[inline]
pub fn setresuid(ruid: u32, euid: u32, suid: u32) -> Result<()> {
    // SAFETY: setresuid touches no user memory.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::setresuid), ruid as usize, euid as usize, suid as usize) })
}

/// `getresuid(2)`: the real, effective and saved uid.
#[inline]
pub fn getresuid() -> Result<(u32, u32, u32)> {
    get_three_ids(Sysno::getresuid)
}

/// `setresgid(2)`: set the real, effective and saved gid ([`ID_UNCHANGED`] keeps one).
#[inline]
pub fn setresgid(rgid: u32, egid: u32, sgid: u32) -> Result<()> {
    // SAFETY: setresgid touches no user memory.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::setresgid), rgid as usize, egid as usize, sgid as usize) })
}

/// `getresgid(2)`: the real, effective and saved gid.
#[inline]
pub fn getresgid() -> Result<(u32, u32, u32)> {
    get_three_ids(Sysno::getresgid)
}

/// `getresuid`/`getresgid`: the kernel writes three ids through three pointers.
#[inline]
fn get_three_ids(call: Sysno) -> Result<(u32, u32, u32)> {
    let (mut r, mut e, mut s) = (0u32, 0u32, 0u32);
    // SAFETY: both calls write one id into each of the three locals and nothing else.
    ret_unit(unsafe {
        raw::syscall3(
            nr(call),
            &mut r as *mut u32 as usize,
            &mut e as *mut u32 as usize,
            &mut s as *mut u32 as usize,
        )
    })?;
    Ok((r, e, s))
}

/// `setfsuid(2)`: set the filesystem uid; returns the previous one whether or not the
/// change was allowed (an invalid id, such as [`ID_UNCHANGED`], only queries).
#[inline]
pub fn setfsuid(fsuid: u32) -> u32 {
    // SAFETY: setfsuid touches no user memory.
    unsafe { raw::syscall1(nr(Sysno::setfsuid), fsuid as usize) as u32 }
}

/// `setfsgid(2)`: set the filesystem gid; returns the previous one (see [`setfsuid`]).
#[inline]
pub fn setfsgid(fsgid: u32) -> u32 {
    // SAFETY: setfsgid touches no user memory.
    unsafe { raw::syscall1(nr(Sysno::setfsgid), fsgid as usize) as u32 }
}

/// `capget(2)`: the capability sets of `hdr.pid`; with `data == None` only checks
/// (and on `EINVAL` rewrites) `hdr.version`.
#[inline]
pub fn capget(hdr: &mut CapUserHeader, data: Option<&mut [CapUserData; 2]>) -> Result<()> {
    let data = data.map_or(0, |d| d.as_mut_ptr() as usize);
    // SAFETY: the kernel may write the header's version and writes at most two data
    // words (version 3), which `data` holds.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::capget), hdr as *mut CapUserHeader as usize, data) })
}

/// `capset(2)`: set the caller's capability sets (`hdr.pid` must be 0 or the caller).
#[inline]
pub fn capset(hdr: &mut CapUserHeader, data: &[CapUserData; 2]) -> Result<()> {
    // SAFETY: the kernel reads the data words and may write the header's version.
    ret_unit(unsafe {
        raw::syscall2(
            nr(Sysno::capset),
            hdr as *mut CapUserHeader as usize,
            data.as_ptr() as usize,
        )
    })
}
