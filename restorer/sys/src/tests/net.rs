//! net: unix datagram and stream sockets, messages with fds, shutdown, options, inet.

use super::*;
use crate::fd::OwnedFd;
use crate::fs::{open, read, write, IoVec, OFlags};
use crate::net::*;
use crate::process::{getpid, kcmp, KCMP_FILE};

/// A unique abstract unix address (`\0restorer-sys-<pid>-<n>-<tag>`).
fn abstract_addr(tag: &str) -> SockAddr {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let name = format!("\0restorer-sys-{}-{n}-{tag}", getpid());
    SockAddr::unix(name.as_bytes()).unwrap()
}

#[test]
fn sockaddr_encoding() {
    let a = SockAddr::unix(b"/tmp/x.sock").unwrap();
    assert_eq!(a.family(), AF_UNIX);
    assert_eq!(a.len, 2 + 11 + 1);
    assert_eq!(a.unix_path(), b"/tmp/x.sock");
    let b = SockAddr::unix(b"\0abstract").unwrap();
    assert_eq!(b.len, 2 + 9);
    assert_eq!(b.unix_path(), b"\0abstract");
    assert!(SockAddr::unix(&[b'a'; 108]).is_none());
    let i = SockAddr::inet([127, 0, 0, 1], 0x1234);
    assert_eq!((i.family(), i.len), (AF_INET, 16));
    assert_eq!(&i.as_bytes()[2..8], &[0x12, 0x34, 127, 0, 0, 1]);
}

#[test]
fn unix_datagrams_bind_connect_sendto_recvfrom() {
    let (na, nb) = (abstract_addr("a"), abstract_addr("b"));
    let a = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0).unwrap();
    let b = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0).unwrap();
    bind(&a, &na).unwrap();
    bind(&b, &nb).unwrap();
    let c = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0).unwrap();
    assert_eq!(bind(&c, &na), Err(Errno::EADDRINUSE));
    let mut me = SockAddr::buffer();
    getsockname(&a, &mut me).unwrap();
    assert_eq!(me.as_bytes(), na.as_bytes());

    connect(&b, &na).unwrap();
    let mut peer = SockAddr::buffer();
    getpeername(&b, &mut peer).unwrap();
    assert_eq!(peer.as_bytes(), na.as_bytes());
    assert_eq!(sendto(&b, b"ping", MsgFlags::empty(), None), Ok(4));
    let mut buf = [0u8; 16];
    let mut from = SockAddr::buffer();
    assert_eq!(recvfrom(&a, &mut buf, MsgFlags::empty(), Some(&mut from)), Ok(4));
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(from.unix_path(), nb.unix_path());
    assert_eq!(sendto(&a, b"pong!", MsgFlags::empty(), Some(&nb)), Ok(5));
    assert_eq!(recvfrom(&b, &mut buf, MsgFlags::empty(), None), Ok(5));
    assert_eq!(&buf[..5], b"pong!");
    // Truncation with MSG_TRUNC reports the full length; an empty queue is EAGAIN.
    sendto(&b, b"0123456789", MsgFlags::empty(), None).unwrap();
    assert_eq!(recvfrom(&a, &mut buf[..3], MsgFlags::TRUNC, None), Ok(10));
    assert_eq!(recvfrom(&a, &mut buf, MsgFlags::DONTWAIT, None), Err(Errno::EAGAIN));
    assert_eq!(connect(&c, &abstract_addr("nobody")), Err(Errno::ECONNREFUSED));
    assert_eq!(sendto(&c, b"x", MsgFlags::empty(), None), Err(Errno::ENOTCONN));
    for fd in [a, b, c] {
        close_fd(fd).unwrap();
    }
}

#[test]
fn streams_listen_accept_shutdown() {
    let name = abstract_addr("listen");
    let l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0).unwrap();
    bind(&l, &name).unwrap();
    listen(&l, 4).unwrap();
    let c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0).unwrap();
    connect(&c, &name).unwrap();
    let mut peer = SockAddr::buffer();
    let s = accept4(&l, Some(&mut peer), SOCK_CLOEXEC | SOCK_NONBLOCK).unwrap();
    assert_eq!(peer.family(), AF_UNIX);
    assert_eq!(write(&c, b"stream"), Ok(6));
    let mut b = [0u8; 8];
    assert_eq!(read(&s, &mut b), Ok(6));
    assert_eq!(read(&s, &mut b), Err(Errno::EAGAIN), "SOCK_NONBLOCK");
    shutdown(&c, SHUT_WR).unwrap();
    assert_eq!(read(&s, &mut b), Ok(0), "EOF after the peer's SHUT_WR");
    assert_eq!(sendto(&c, b"x", MsgFlags::NOSIGNAL, None), Err(Errno::EPIPE));
    assert_eq!(shutdown(&c, 7), Err(Errno::EINVAL));
    assert_eq!(accept4(&c, None, 0), Err(Errno::EINVAL), "not listening");
    for fd in [l, c, s] {
        close_fd(fd).unwrap();
    }
    let d = TempDir::new("net");
    let f = open(&cpath(&d.file("f", b"")), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    assert_eq!(shutdown(&f, SHUT_RDWR), Err(Errno::ENOTSOCK));
    close_fd(f).unwrap();
}

#[test]
fn sendmsg_recvmsg_with_scm_rights() {
    let [a, b] = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0).unwrap();
    let d = TempDir::new("scm");
    let f = open(&cpath(&d.file("f", b"passed")), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();

    // Two iovecs and one SCM_RIGHTS control message.
    let (h, t) = (b"head-".as_slice(), b"tail".as_slice());
    let mut iov = [IoVec::from_ref(h), IoVec::from_ref(t)];
    let mut control = [0u64; cmsg_space(4).div_ceil(8)];
    let cm = CmsgHdr {
        len: cmsg_len(4),
        level: SOL_SOCKET,
        ty: SCM_RIGHTS,
    };
    // SAFETY: the control buffer is 8-aligned and holds a header plus one int.
    unsafe {
        let p = control.as_mut_ptr() as *mut u8;
        (p as *mut CmsgHdr).write(cm);
        (p.add(cmsg_align(core::mem::size_of::<CmsgHdr>())) as *mut i32).write(f.as_raw_fd());
    }
    let msg = MsgHdr {
        iov: iov.as_mut_ptr(),
        iovlen: 2,
        control: control.as_mut_ptr() as *mut u8,
        controllen: cmsg_space(4),
        ..MsgHdr::zeroed()
    };
    // SAFETY: every pointer in msg covers live local buffers.
    assert_eq!(unsafe { sendmsg(&a, &msg, MsgFlags::empty()) }, Ok(9));

    let mut got = [0u8; 16];
    let mut riov = [IoVec::from_mut(&mut got)];
    let mut rcontrol = [0u64; 8];
    let mut rmsg = MsgHdr {
        iov: riov.as_mut_ptr(),
        iovlen: 1,
        control: rcontrol.as_mut_ptr() as *mut u8,
        controllen: core::mem::size_of_val(&rcontrol),
        ..MsgHdr::zeroed()
    };
    // SAFETY: every pointer in rmsg covers live local buffers.
    assert_eq!(unsafe { recvmsg(&b, &mut rmsg, MsgFlags::CMSG_CLOEXEC) }, Ok(9));
    assert_eq!(&got[..9], b"head-tail");
    assert_eq!(
        MsgFlags::from_bits_retain(rmsg.flags as u32) & (MsgFlags::TRUNC | MsgFlags::CTRUNC),
        MsgFlags::empty()
    );
    assert_eq!(rmsg.controllen, cmsg_space(4));
    // SAFETY: the kernel wrote one control message into the aligned buffer.
    let (rc, passed) = unsafe {
        let p = rcontrol.as_ptr() as *const u8;
        (
            *(p as *const CmsgHdr),
            *(p.add(cmsg_align(core::mem::size_of::<CmsgHdr>())) as *const i32),
        )
    };
    assert_eq!((rc.level, rc.ty, rc.len), (SOL_SOCKET, SCM_RIGHTS, cmsg_len(4)));
    assert_ne!(passed, f.as_raw_fd());
    // SAFETY: the kernel installed this fd for us alone.
    let passed = unsafe { OwnedFd::from_raw_fd(passed) };
    assert_eq!(
        kcmp(
            getpid(),
            getpid(),
            KCMP_FILE,
            f.as_raw_fd() as usize,
            passed.as_raw_fd() as usize
        ),
        Ok(0),
        "the same open file"
    );
    assert_eq!(crate::fs::fcntl_getfd(&passed), Ok(crate::fs::FdFlags::CLOEXEC));
    assert_eq!(
        // SAFETY: an empty message with no buffers.
        unsafe { recvmsg(&b, &mut MsgHdr::zeroed(), MsgFlags::DONTWAIT) },
        Err(Errno::EAGAIN)
    );
    for fd in [a, b, f, passed] {
        close_fd(fd).unwrap();
    }
}

#[test]
fn socket_options() {
    let s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0).unwrap();
    assert_eq!(getsockopt_int(&s, SOL_SOCKET, SO_TYPE), Ok(SOCK_DGRAM));
    assert_eq!(getsockopt_int(&s, SOL_SOCKET, SO_DOMAIN), Ok(AF_UNIX));
    setsockopt_int(&s, SOL_SOCKET, SO_RCVBUF, 65536).unwrap();
    assert_eq!(
        getsockopt_int(&s, SOL_SOCKET, SO_RCVBUF),
        Ok(131072),
        "the kernel doubles it"
    );
    setsockopt_int(&s, SOL_SOCKET, SO_PASSCRED, 1).unwrap();
    assert_eq!(getsockopt_int(&s, SOL_SOCKET, SO_PASSCRED), Ok(1));
    let mut small = [0u8; 2];
    assert_eq!(
        getsockopt(&s, SOL_SOCKET, SO_TYPE, &mut small),
        Ok(2),
        "a short buffer truncates"
    );
    assert_eq!(setsockopt(&s, SOL_SOCKET, SO_RCVBUF, &[1]), Err(Errno::EINVAL));
    assert_eq!(getsockopt_int(&s, SOL_SOCKET, 9999), Err(Errno::ENOPROTOOPT));
    let [a, b] = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0).unwrap();
    let mut cred = [0u8; 12];
    assert_eq!(getsockopt(&a, SOL_SOCKET, SO_PEERCRED, &mut cred), Ok(12));
    // SAFETY: 12 bytes hold a struct ucred.
    let cred: Ucred = unsafe { core::ptr::read_unaligned(cred.as_ptr() as *const Ucred) };
    assert_eq!(cred.pid, getpid());
    let d = TempDir::new("sockopt");
    let f = open(&cpath(&d.file("f", b"")), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    assert_eq!(setsockopt_int(&f, SOL_SOCKET, SO_RCVBUF, 1), Err(Errno::ENOTSOCK));
    assert_eq!(socket(12345, SOCK_DGRAM, 0), Err(Errno::EAFNOSUPPORT));
    assert_eq!(socketpair(AF_INET, SOCK_STREAM, 0), Err(Errno::EOPNOTSUPP));
    for fd in [s, a, b, f] {
        close_fd(fd).unwrap();
    }
}

#[test]
fn inet_loopback_datagram() {
    let s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0).unwrap();
    bind(&s, &SockAddr::inet([127, 0, 0, 1], 0)).unwrap();
    let mut me = SockAddr::buffer();
    getsockname(&s, &mut me).unwrap();
    assert_eq!((me.family(), me.len), (AF_INET, 16));
    let port = u16::from_be_bytes([me.bytes[2], me.bytes[3]]);
    assert_ne!(port, 0);
    assert_eq!(&me.bytes[4..8], &[127, 0, 0, 1]);
    assert_eq!(sendto(&s, b"loop", MsgFlags::empty(), Some(&me)), Ok(4));
    let mut b = [0u8; 8];
    let mut from = SockAddr::buffer();
    assert_eq!(recvfrom(&s, &mut b, MsgFlags::empty(), Some(&mut from)), Ok(4));
    assert_eq!(from.as_bytes(), me.as_bytes());
    close_fd(s).unwrap();
}
