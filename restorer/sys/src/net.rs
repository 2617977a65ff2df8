//! Sockets: creation, addresses, connections, messages, options.

use super::fd::{AsFd, OwnedFd};
use super::io_slice::IoVec;
use super::oflags::OFlags;
use super::ret::{fd_arg, ret_owned_fd, ret_unit, ret_usize};
use super::{nr, raw, Result};
use syscalls::Sysno;

// Address families.
pub const AF_UNSPEC: i32 = linux_raw_sys::net::AF_UNSPEC as i32;
pub const AF_UNIX: i32 = linux_raw_sys::net::AF_UNIX as i32;
pub const AF_INET: i32 = linux_raw_sys::net::AF_INET as i32;
pub const AF_INET6: i32 = linux_raw_sys::net::AF_INET6 as i32;
pub const AF_NETLINK: i32 = linux_raw_sys::net::AF_NETLINK as i32;
pub const AF_PACKET: i32 = linux_raw_sys::net::AF_PACKET as i32;

// Socket types and type flags.
pub const SOCK_STREAM: i32 = linux_raw_sys::net::SOCK_STREAM as i32;
pub const SOCK_DGRAM: i32 = linux_raw_sys::net::SOCK_DGRAM as i32;
pub const SOCK_RAW: i32 = linux_raw_sys::net::SOCK_RAW as i32;
pub const SOCK_SEQPACKET: i32 = linux_raw_sys::net::SOCK_SEQPACKET as i32;
pub const SOCK_NONBLOCK: i32 = OFlags::NONBLOCK.bits() as i32;
pub const SOCK_CLOEXEC: i32 = OFlags::CLOEXEC.bits() as i32;

// Levels and options.
pub const SOL_SOCKET: i32 = linux_raw_sys::net::SOL_SOCKET as i32;
pub const SO_DEBUG: i32 = linux_raw_sys::net::SO_DEBUG as i32;
pub const SO_REUSEADDR: i32 = linux_raw_sys::net::SO_REUSEADDR as i32;
pub const SO_TYPE: i32 = linux_raw_sys::net::SO_TYPE as i32;
pub const SO_ERROR: i32 = linux_raw_sys::net::SO_ERROR as i32;
pub const SO_DONTROUTE: i32 = linux_raw_sys::net::SO_DONTROUTE as i32;
pub const SO_BROADCAST: i32 = linux_raw_sys::net::SO_BROADCAST as i32;
pub const SO_SNDBUF: i32 = linux_raw_sys::net::SO_SNDBUF as i32;
pub const SO_RCVBUF: i32 = linux_raw_sys::net::SO_RCVBUF as i32;
pub const SO_KEEPALIVE: i32 = linux_raw_sys::net::SO_KEEPALIVE as i32;
pub const SO_OOBINLINE: i32 = linux_raw_sys::net::SO_OOBINLINE as i32;
pub const SO_PRIORITY: i32 = linux_raw_sys::net::SO_PRIORITY as i32;
pub const SO_LINGER: i32 = linux_raw_sys::net::SO_LINGER as i32;
pub const SO_REUSEPORT: i32 = linux_raw_sys::net::SO_REUSEPORT as i32;
pub const SO_PASSCRED: i32 = linux_raw_sys::net::SO_PASSCRED as i32;
pub const SO_PEERCRED: i32 = linux_raw_sys::net::SO_PEERCRED as i32;
pub const SO_RCVLOWAT: i32 = linux_raw_sys::net::SO_RCVLOWAT as i32;
pub const SO_SNDBUFFORCE: i32 = linux_raw_sys::net::SO_SNDBUFFORCE as i32;
pub const SO_RCVBUFFORCE: i32 = linux_raw_sys::net::SO_RCVBUFFORCE as i32;
pub const SO_PEEK_OFF: i32 = linux_raw_sys::net::SO_PEEK_OFF as i32;
pub const SO_DOMAIN: i32 = linux_raw_sys::net::SO_DOMAIN as i32;
pub const SO_PROTOCOL: i32 = linux_raw_sys::net::SO_PROTOCOL as i32;
pub const SOL_TCP: i32 = linux_raw_sys::net::SOL_TCP as i32;
/// `TCP_REPAIR` at `SOL_TCP`: the socket's repair mode (needs `CAP_NET_ADMIN`).
pub const TCP_REPAIR: i32 = linux_raw_sys::net::TCP_REPAIR as i32;

// Message flags.
bitflags::bitflags! {
    /// `MSG_*`: per-call flags of the send and receive calls.
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct MsgFlags: u32 {
        const OOB = linux_raw_sys::net::MSG_OOB;
        const PEEK = linux_raw_sys::net::MSG_PEEK;
        const DONTROUTE = linux_raw_sys::net::MSG_DONTROUTE;
        const CTRUNC = linux_raw_sys::net::MSG_CTRUNC;
        const TRUNC = linux_raw_sys::net::MSG_TRUNC;
        const DONTWAIT = linux_raw_sys::net::MSG_DONTWAIT;
        const EOR = linux_raw_sys::net::MSG_EOR;
        const WAITALL = linux_raw_sys::net::MSG_WAITALL;
        const NOSIGNAL = linux_raw_sys::net::MSG_NOSIGNAL;
        const MORE = linux_raw_sys::net::MSG_MORE;
        const CMSG_CLOEXEC = linux_raw_sys::net::MSG_CMSG_CLOEXEC;
        // The kernel validates the bits; callers may pass any.
        const _ = !0;
    }
}

// Control message types at `SOL_SOCKET`.
pub const SCM_RIGHTS: i32 = linux_raw_sys::net::SCM_RIGHTS as i32;
pub const SCM_CREDENTIALS: i32 = linux_raw_sys::net::SCM_CREDENTIALS as i32;

// `shutdown` directions.
pub const SHUT_RD: i32 = linux_raw_sys::net::SHUT_RD as i32;
pub const SHUT_WR: i32 = linux_raw_sys::net::SHUT_WR as i32;
pub const SHUT_RDWR: i32 = linux_raw_sys::net::SHUT_RDWR as i32;

/// Size of `struct sockaddr_storage`, the largest address.
pub const SOCKADDR_STORAGE_SIZE: usize = core::mem::size_of::<linux_raw_sys::net::__kernel_sockaddr_storage>();
/// Bytes of a `sockaddr_un` path (`UNIX_PATH_MAX`).
pub const UNIX_PATH_MAX: usize = linux_raw_sys::net::UNIX_PATH_MAX as usize;

/// A socket address of any family, with its length: the bytes the kernel reads or writes
/// as `struct sockaddr` (family first, host byte order) and its `socklen_t`.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockAddr {
    pub bytes: [u8; SOCKADDR_STORAGE_SIZE],
    /// Bytes of `bytes` in use.
    pub len: u32,
}
zeroed_default!(SockAddr);

impl SockAddr {
    /// An empty buffer for the kernel to fill (length = the whole storage).
    #[inline]
    pub const fn buffer() -> SockAddr {
        let mut a = SockAddr::zeroed();
        a.len = SOCKADDR_STORAGE_SIZE as u32;
        a
    }

    /// An `AF_UNIX` address. `path` starting with a 0 byte is an abstract name (taken
    /// as is); otherwise a filesystem path, NUL-terminated here. `None` when too long.
    pub fn unix(path: &[u8]) -> Option<SockAddr> {
        let abstract_name = path.first() == Some(&0);
        let n = path.len() + usize::from(!abstract_name && !path.is_empty());
        if n > UNIX_PATH_MAX {
            return None;
        }
        let mut a = SockAddr::zeroed();
        a.bytes[..2].copy_from_slice(&(AF_UNIX as u16).to_ne_bytes());
        a.bytes[2..2 + path.len()].copy_from_slice(path);
        a.len = (2 + n) as u32;
        Some(a)
    }

    /// An `AF_INET` address: IPv4 `addr` (network order, as written) and `port`.
    pub fn inet(addr: [u8; 4], port: u16) -> SockAddr {
        let mut a = SockAddr::zeroed();
        a.bytes[..2].copy_from_slice(&(AF_INET as u16).to_ne_bytes());
        a.bytes[2..4].copy_from_slice(&port.to_be_bytes());
        a.bytes[4..8].copy_from_slice(&addr);
        a.len = 16;
        a
    }

    /// The address family (`sa_family`).
    #[inline]
    pub fn family(&self) -> i32 {
        u16::from_ne_bytes([self.bytes[0], self.bytes[1]]) as i32
    }

    /// The bytes in use.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..(self.len as usize).min(SOCKADDR_STORAGE_SIZE)]
    }

    /// The path (or abstract name, with its leading 0) of an `AF_UNIX` address, without a
    /// trailing NUL.
    pub fn unix_path(&self) -> &[u8] {
        let b = self.as_bytes();
        let p = b.get(2..).unwrap_or(&[]);
        match p.first() {
            Some(0) | None => p,
            Some(_) => p.split(|&c| c == 0).next().unwrap_or(p),
        }
    }

    #[inline]
    fn ptr_len(&self) -> (usize, usize) {
        (
            self.bytes.as_ptr() as usize,
            (self.len as usize).min(SOCKADDR_STORAGE_SIZE),
        )
    }
}

/// The kernel's `struct msghdr`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct MsgHdr {
    /// Address buffer (`msg_name`), or null.
    pub name: *mut u8,
    pub namelen: u32,
    pub iov: *mut IoVec,
    pub iovlen: usize,
    /// Control message buffer, or null.
    pub control: *mut u8,
    pub controllen: usize,
    /// Flags of a received message (`MSG_TRUNC`, `MSG_CTRUNC`, ...).
    pub flags: i32,
}
assert_layout!(
    MsgHdr,
    size = 56,
    namelen = 8,
    iov = 16,
    iovlen = 24,
    control = 32,
    controllen = 40,
    flags = 48
);
zeroed_default!(MsgHdr);

/// The kernel's `struct cmsghdr`; its data follows at [`cmsg_align`]`(size_of)`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CmsgHdr {
    /// Header plus data length (`CMSG_LEN`).
    pub len: usize,
    pub level: i32,
    pub ty: i32,
}
assert_layout!(CmsgHdr, size = 16);

/// `CMSG_ALIGN`: round up to the control message alignment.
#[inline]
pub const fn cmsg_align(len: usize) -> usize {
    (len + core::mem::size_of::<usize>() - 1) & !(core::mem::size_of::<usize>() - 1)
}
/// `CMSG_SPACE`: buffer bytes for a control message with `len` data bytes.
#[inline]
pub const fn cmsg_space(len: usize) -> usize {
    cmsg_align(core::mem::size_of::<CmsgHdr>()) + cmsg_align(len)
}
/// `CMSG_LEN`: the `len` field of a control message with `len` data bytes.
#[inline]
pub const fn cmsg_len(len: usize) -> usize {
    cmsg_align(core::mem::size_of::<CmsgHdr>()) + len
}

/// The kernel's `struct ucred` (`SO_PEERCRED`, `SCM_CREDENTIALS`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ucred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}
assert_layout!(Ucred, size = 12);

/// `socket(2)`: a socket of `domain` (`AF_*`), `ty` (`SOCK_*` with `SOCK_CLOEXEC`,
/// `SOCK_NONBLOCK`) and protocol.
#[inline]
pub fn socket(domain: i32, ty: i32, protocol: i32) -> Result<OwnedFd> {
    // SAFETY: socket touches no user memory.
    ret_owned_fd(unsafe { raw::syscall3(nr(Sysno::socket), domain as usize, ty as usize, protocol as usize) })
}

/// `socketpair(2)`: two connected sockets.
#[inline]
pub fn socketpair(domain: i32, ty: i32, protocol: i32) -> Result<[OwnedFd; 2]> {
    let mut fds = [-1i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    ret_unit(unsafe {
        raw::syscall4(
            nr(Sysno::socketpair),
            domain as usize,
            ty as usize,
            protocol as usize,
            fds.as_mut_ptr() as usize,
        )
    })?;
    // SAFETY: on success both are new fds that nothing else owns.
    Ok(fds.map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// `bind(2)`: give socket `fd` the local address `addr`.
#[inline]
pub fn bind(fd: impl AsFd, addr: &SockAddr) -> Result<()> {
    let (p, l) = addr.ptr_len();
    // SAFETY: the kernel reads `l` bytes of the address, all inside `addr`.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::bind), fd_arg(&fd), p, l) })
}

/// `connect(2)`: connect socket `fd` to `addr` (for datagram sockets: set the default
/// destination).
#[inline]
pub fn connect(fd: impl AsFd, addr: &SockAddr) -> Result<()> {
    let (p, l) = addr.ptr_len();
    // SAFETY: the kernel reads `l` bytes of the address, all inside `addr`.
    ret_unit(unsafe { raw::syscall3(nr(Sysno::connect), fd_arg(&fd), p, l) })
}

/// `listen(2)`: accept connections on `fd`, queueing up to `backlog`.
#[inline]
pub fn listen(fd: impl AsFd, backlog: i32) -> Result<()> {
    // SAFETY: listen touches no user memory.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::listen), fd_arg(&fd), backlog as usize) })
}

/// `accept4(2)`: take a connection from listening socket `fd`; the peer's address goes to
/// `addr` (if given). `flags`: `SOCK_CLOEXEC`, `SOCK_NONBLOCK`.
#[inline]
pub fn accept4(fd: impl AsFd, addr: Option<&mut SockAddr>, flags: i32) -> Result<OwnedFd> {
    let (p, lp) = match addr {
        Some(a) => {
            a.len = SOCKADDR_STORAGE_SIZE as u32;
            (a.bytes.as_mut_ptr() as usize, &mut a.len as *mut u32 as usize)
        }
        None => (0, 0),
    };
    // SAFETY: the kernel writes at most `len` (the storage size) address bytes and the
    // length.
    ret_owned_fd(unsafe { raw::syscall4(nr(Sysno::accept4), fd_arg(&fd), p, lp, flags as usize) })
}

/// `getsockname(2)`: the local address of socket `fd`.
#[inline]
pub fn getsockname(fd: impl AsFd, addr: &mut SockAddr) -> Result<()> {
    addr.len = SOCKADDR_STORAGE_SIZE as u32;
    // SAFETY: the kernel writes at most the storage size of address bytes and the length.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::getsockname),
            fd_arg(&fd),
            addr.bytes.as_mut_ptr() as usize,
            &mut addr.len as *mut u32 as usize,
        )
    })
}

/// `getpeername(2)`: the address of the peer of connected socket `fd`.
#[inline]
pub fn getpeername(fd: impl AsFd, addr: &mut SockAddr) -> Result<()> {
    addr.len = SOCKADDR_STORAGE_SIZE as u32;
    // SAFETY: the kernel writes at most the storage size of address bytes and the length.
    ret_unit(unsafe {
        raw::syscall3(
            nr(Sysno::getpeername),
            fd_arg(&fd),
            addr.bytes.as_mut_ptr() as usize,
            &mut addr.len as *mut u32 as usize,
        )
    })
}

/// `sendto(2)`: send `buf` (to `to`, if given, else to the connected peer).
#[inline]
pub fn sendto(fd: impl AsFd, buf: &[u8], flags: MsgFlags, to: Option<&SockAddr>) -> Result<usize> {
    let (p, l) = to.map_or((0, 0), SockAddr::ptr_len);
    // SAFETY: the kernel reads `buf` and `l` bytes of the address.
    ret_usize(unsafe {
        raw::syscall6(
            nr(Sysno::sendto),
            fd_arg(&fd),
            buf.as_ptr() as usize,
            buf.len(),
            flags.bits() as usize,
            p,
            l,
        )
    })
}

/// `recvfrom(2)`: receive into `buf`; the sender's address goes to `from` (if given).
/// Returns the bytes received (the full datagram length with `MSG_TRUNC`).
#[inline]
pub fn recvfrom(fd: impl AsFd, buf: &mut [u8], flags: MsgFlags, from: Option<&mut SockAddr>) -> Result<usize> {
    let (p, lp) = match from {
        Some(a) => {
            a.len = SOCKADDR_STORAGE_SIZE as u32;
            (a.bytes.as_mut_ptr() as usize, &mut a.len as *mut u32 as usize)
        }
        None => (0, 0),
    };
    // SAFETY: the kernel writes at most buf.len() bytes into `buf`, at most the storage
    // size into the address and the length.
    ret_usize(unsafe {
        raw::syscall6(
            nr(Sysno::recvfrom),
            fd_arg(&fd),
            buf.as_mut_ptr() as usize,
            buf.len(),
            flags.bits() as usize,
            p,
            lp,
        )
    })
}

/// `sendmsg(2)`: send the data of `msg.iov` with its address and control messages.
///
/// # Safety
/// Every pointer in `msg` (name, iovecs and their buffers, control) must be valid for
/// the lengths it gives.
#[inline]
pub unsafe fn sendmsg(fd: impl AsFd, msg: &MsgHdr, flags: MsgFlags) -> Result<usize> {
    // SAFETY: the caller vouches for the buffers; the kernel only reads them.
    ret_usize(unsafe {
        raw::syscall3(
            nr(Sysno::sendmsg),
            fd_arg(&fd),
            msg as *const MsgHdr as usize,
            flags.bits() as usize,
        )
    })
}

/// `recvmsg(2)`: receive into the buffers of `msg.iov`, with address and control
/// messages; the kernel updates `namelen`, `controllen` and `flags`.
///
/// # Safety
/// Every pointer in `msg` must be valid for writes of the lengths it gives.
#[inline]
pub unsafe fn recvmsg(fd: impl AsFd, msg: &mut MsgHdr, flags: MsgFlags) -> Result<usize> {
    // SAFETY: the caller vouches for the buffers.
    ret_usize(unsafe {
        raw::syscall3(
            nr(Sysno::recvmsg),
            fd_arg(&fd),
            msg as *mut MsgHdr as usize,
            flags.bits() as usize,
        )
    })
}

/// `shutdown(2)`: shut down reception (`SHUT_RD`), transmission (`SHUT_WR`) or both.
#[inline]
pub fn shutdown(fd: impl AsFd, how: i32) -> Result<()> {
    // SAFETY: shutdown touches no user memory.
    ret_unit(unsafe { raw::syscall2(nr(Sysno::shutdown), fd_arg(&fd), how as usize) })
}

/// `setsockopt(2)`: set option `name` at `level` to the bytes of `val`.
#[inline]
pub fn setsockopt(fd: impl AsFd, level: i32, name: i32, val: &[u8]) -> Result<()> {
    // SAFETY: the kernel reads at most val.len() bytes of `val`.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::setsockopt),
            fd_arg(&fd),
            level as usize,
            name as usize,
            val.as_ptr() as usize,
            val.len(),
        )
    })
}

/// `getsockopt(2)`: option `name` at `level` into `val`; returns its length.
#[inline]
pub fn getsockopt(fd: impl AsFd, level: i32, name: i32, val: &mut [u8]) -> Result<usize> {
    let mut len = val.len() as u32;
    // SAFETY: the kernel writes at most `len` (= val.len()) bytes into `val` and the length.
    ret_unit(unsafe {
        raw::syscall5(
            nr(Sysno::getsockopt),
            fd_arg(&fd),
            level as usize,
            name as usize,
            val.as_mut_ptr() as usize,
            &mut len as *mut u32 as usize,
        )
    })?;
    Ok(len as usize)
}

/// [`setsockopt`] for an `int` option.
#[inline]
pub fn setsockopt_int(fd: impl AsFd, level: i32, name: i32, val: i32) -> Result<()> {
    setsockopt(fd, level, name, &val.to_ne_bytes())
}

/// [`getsockopt`] for an `int` option.
#[inline]
pub fn getsockopt_int(fd: impl AsFd, level: i32, name: i32) -> Result<i32> {
    let mut b = [0u8; 4];
    getsockopt(fd, level, name, &mut b)?;
    Ok(i32::from_ne_bytes(b))
}
