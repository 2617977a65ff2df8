//! notify: signalfd, fanotify, userfaultfd (each with its documented refusals).

use core::ptr::null_mut;

use super::*;
use crate::creds::{getresuid, CAP_SYS_ADMIN};
use crate::fd::OwnedFd;
use crate::fs::{close, ioctl, read, OFlags, CWD};
use crate::mm::{mmap, munmap, MapFlags, ProtFlags, PAGE_SIZE};
use crate::notify::*;
use crate::process::{getpid, gettid};
use crate::signal::*;

/// Real-time signal used by the signalfd test (see the signal tests for the others).
const SIG_FD: i32 = 43;

#[test]
fn signalfd_reads_queued_signals() {
    let old_act = crate::tests::ignore(SIG_FD);
    let mut old = SigSet::default();
    rt_sigprocmask(SigprocmaskHow::BLOCK, Some(&SigSet::of(SIG_FD)), Some(&mut old)).unwrap();

    let raw = signalfd4(-1, &SigSet::of(SIG_FD), SFD_CLOEXEC | SFD_NONBLOCK).unwrap();
    // SAFETY: a new fd, ours alone.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut si = SignalfdSiginfo::zeroed();
    // SAFETY: SignalfdSiginfo is plain bytes, 128 of them.
    let bytes = |si: &mut SignalfdSiginfo| unsafe { core::slice::from_raw_parts_mut(si as *mut _ as *mut u8, 128) };
    assert_eq!(read(&fd, bytes(&mut si)), Err(Errno::EAGAIN), "nothing pending");
    let (me, tid, uid) = (getpid(), gettid(), getresuid().unwrap().0);
    rt_tgsigqueueinfo(me, tid, SIG_FD, &SigInfo::queue(SIG_FD, me, uid, 0x0bad_cafe)).unwrap();
    assert_eq!(read(&fd, bytes(&mut si)), Ok(128));
    assert_eq!(si.ssi_signo, SIG_FD as u32);
    assert_eq!(si.ssi_code, SI_QUEUE);
    assert_eq!((si.ssi_pid, si.ssi_uid), (me as u32, uid));
    assert_eq!(si.ssi_int, 0x0bad_cafe);
    assert_eq!(si.ssi_ptr, 0x0bad_cafe);
    crate::process::tgkill(me, tid, SIG_FD).unwrap();
    assert_eq!(read(&fd, bytes(&mut si)), Ok(128));
    assert_eq!((si.ssi_signo, si.ssi_code), (SIG_FD as u32, SI_TKILL));

    // Updating the mask of an existing signalfd returns the same fd.
    assert_eq!(signalfd4(raw, &SigSet::of(SIG_FD).with(SIGUSR2), 0), Ok(raw));
    assert_eq!(signalfd4(0x7fff, &SigSet::of(SIG_FD), 0), Err(Errno::EBADF));
    let [r, w] = crate::fs::pipe2(OFlags::CLOEXEC).unwrap();
    assert_eq!(
        signalfd4(r.as_raw_fd(), &SigSet::of(SIG_FD), 0),
        Err(Errno::EINVAL),
        "not a signalfd"
    );
    assert_eq!(signalfd4(-1, &SigSet::of(SIG_FD), 0x1), Err(Errno::EINVAL), "bad flags");
    for f in [fd, r, w] {
        close_fd(f).unwrap();
    }
    rt_sigprocmask(SigprocmaskHow::SETMASK, Some(&old), None).unwrap();
    // SAFETY: restoring the previous action.
    unsafe { rt_sigaction(SIG_FD, Some(&old_act), None) }.unwrap();
}

#[test]
fn fanotify_reports_a_modification_or_is_refused() {
    let fd = match fanotify_init(
        FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK,
        (OFlags::RDONLY | OFlags::CLOEXEC).bits(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            // Documented refusals: no privilege, or no fanotify in the kernel.
            assert!(e == Errno::EPERM || e == Errno::ENOSYS, "{e:?}");
            assert!(e == Errno::ENOSYS || !have_cap(CAP_SYS_ADMIN));
            return;
        }
    };
    let d = TempDir::new("fanotify");
    let p = d.file("f", b"");
    fanotify_mark(&fd, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, CWD, Some(&cpath(&p))).unwrap();
    assert_eq!(
        fanotify_mark(&fd, FAN_MARK_ADD, FAN_MODIFY, CWD, Some(&d.cjoin("missing"))),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        fanotify_mark(&fd, 0x8000_0000, FAN_MODIFY, CWD, Some(&cpath(&p))),
        Err(Errno::EINVAL)
    );
    std::fs::write(&p, b"modified").unwrap();

    let mut buf = [0u64; 64];
    // SAFETY: the u64 buffer is plain bytes.
    let bytes = unsafe { core::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut u8, 512) };
    let n = read(&fd, bytes).unwrap();
    let mut seen = 0u64;
    let mut off = 0;
    while off + core::mem::size_of::<FanotifyEventMetadata>() <= n {
        // SAFETY: an event header inside what the kernel wrote (8-aligned: events are).
        let m = unsafe { (bytes.as_ptr().add(off) as *const FanotifyEventMetadata).read() };
        assert_eq!(m.vers, FANOTIFY_METADATA_VERSION);
        assert_eq!(m.metadata_len as usize, core::mem::size_of::<FanotifyEventMetadata>());
        assert_eq!(m.pid, getpid());
        assert!(m.fd >= 0);
        // SAFETY: fanotify opened this fd for the event; nothing else owns it.
        unsafe { close(m.fd) }.unwrap();
        seen |= m.mask;
        off += m.event_len as usize;
    }
    assert_ne!(seen & FAN_MODIFY, 0, "mask {seen:#x}");
    assert_ne!(seen & FAN_CLOSE_WRITE, 0, "mask {seen:#x}");
    close_fd(fd).unwrap();
    assert_eq!(fanotify_init(0x8000_0000, OFlags::RDONLY.bits()), Err(Errno::EINVAL));
}

#[test]
fn userfaultfd_copy_and_zeropage_or_refusal() {
    let uffd = match userfaultfd((OFlags::CLOEXEC | OFlags::NONBLOCK).bits() as i32 | UFFD_USER_MODE_ONLY) {
        Ok(fd) => fd,
        Err(e) => {
            // Documented refusals: unprivileged use disabled, or no userfaultfd.
            assert!(e == Errno::EPERM || e == Errno::ENOSYS, "{e:?}");
            return;
        }
    };
    let mut api = UffdioApi {
        api: UFFD_API,
        features: 0,
        ioctls: 0,
    };
    // SAFETY: (ioctls here) each argument is the structure the request's number encodes.
    unsafe { ioctl(&uffd, UFFDIO_API, &mut api as *mut UffdioApi as usize) }.unwrap();
    assert_eq!(api.api, UFFD_API);
    assert_ne!(api.ioctls & (1 << 0x3F), 0, "UFFDIO_API");
    assert_ne!(api.ioctls & 1, 0, "UFFDIO_REGISTER");

    const P: usize = PAGE_SIZE;
    // SAFETY: a fresh mapping, never touched by us before the kernel fills it.
    let area = unsafe {
        mmap(
            null_mut(),
            2 * P,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::ANONYMOUS,
            None,
            0,
        )
    }
    .unwrap();
    let range = UffdioRange {
        start: area as u64,
        len: 2 * P as u64,
    };
    let mut reg = UffdioRegister {
        range,
        mode: UFFDIO_REGISTER_MODE_MISSING,
        ioctls: 0,
    };
    // SAFETY: as above: (ioctls here) each argument is the structure the request's number encodes.
    unsafe { ioctl(&uffd, UFFDIO_REGISTER, &mut reg as *mut UffdioRegister as usize) }.unwrap();
    assert_ne!(reg.ioctls & (1 << 3), 0, "UFFDIO_COPY allowed");
    assert_ne!(reg.ioctls & (1 << 4), 0, "UFFDIO_ZEROPAGE allowed");

    let src = vec![0x5au8; P];
    let mut copy = UffdioCopy {
        dst: area as u64,
        src: src.as_ptr() as u64,
        len: P as u64,
        mode: 0,
        copy: 0,
    };
    // SAFETY: as above: (ioctls here) each argument is the structure the request's number encodes.
    unsafe { ioctl(&uffd, UFFDIO_COPY, &mut copy as *mut UffdioCopy as usize) }.unwrap();
    assert_eq!(copy.copy, P as i64);
    let mut zero = UffdioZeropage {
        range: UffdioRange {
            start: area as u64 + P as u64,
            len: P as u64,
        },
        mode: 0,
        zeropage: 0,
    };
    // SAFETY: as above: (ioctls here) each argument is the structure the request's number encodes.
    unsafe { ioctl(&uffd, UFFDIO_ZEROPAGE, &mut zero as *mut UffdioZeropage as usize) }.unwrap();
    assert_eq!(zero.zeropage, P as i64);
    // Both pages are present now: reading them raises no fault.
    // SAFETY: the pages were just filled.
    let got = unsafe { core::slice::from_raw_parts(area, 2 * P) };
    assert!(got[..P].iter().all(|&b| b == 0x5a));
    assert!(got[P..].iter().all(|&b| b == 0));
    // Filling a present page again is EEXIST.
    let mut again = UffdioCopy {
        dst: area as u64,
        src: src.as_ptr() as u64,
        len: P as u64,
        mode: 0,
        copy: 0,
    };
    assert_eq!(
        // SAFETY: as above: (ioctls here) each argument is the structure the request's number encodes.
        unsafe { ioctl(&uffd, UFFDIO_COPY, &mut again as *mut UffdioCopy as usize) },
        Err(Errno::EEXIST)
    );
    let mut msg = [0u8; 32];
    assert_eq!(read(&uffd, &mut msg), Err(Errno::EAGAIN), "no fault pending");
    let mut unreg = range;
    // SAFETY: as above: (ioctls here) each argument is the structure the request's number encodes.
    unsafe { ioctl(&uffd, UFFDIO_UNREGISTER, &mut unreg as *mut UffdioRange as usize) }.unwrap();
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(area, 2 * P) }.unwrap();
    close_fd(uffd).unwrap();
    assert_eq!(userfaultfd(0x4000), Err(Errno::EINVAL), "unknown flag");
}

#[test]
fn inotify_reports_a_created_file() {
    let dir = TempDir::new("inotify");
    let fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC).unwrap();
    let path = std::ffi::CString::new(dir.path.to_str().unwrap()).unwrap();
    let wd = inotify_add_watch(&fd, &path, IN_CREATE).unwrap();
    assert!(wd > 0);
    let mut buf = [0u8; 256];
    assert_eq!(read(&fd, &mut buf), Err(Errno::EAGAIN));
    std::fs::write(dir.path.join("x"), b"").unwrap();
    let n = read(&fd, &mut buf).unwrap();
    // struct inotify_event: wd, mask, cookie, len, then the name.
    assert!(n >= 16 + 2);
    assert_eq!(i32::from_ne_bytes(buf[0..4].try_into().unwrap()), wd);
    assert_ne!(u32::from_ne_bytes(buf[4..8].try_into().unwrap()) & IN_CREATE, 0);
    assert_eq!(&buf[16..18], b"x\0");
}
