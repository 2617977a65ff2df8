//! fs: open/close, reads and writes on files and pipes, vectors, page cache hints, file
//! space, fd control, memfds, ioctl, ppoll, vmsplice, cachestat.

use super::*;
use crate::fd::{AsFd, OwnedFd};
use crate::fs::*;
use crate::io_slice::{IoSlice, IoSliceMut};
use crate::ioctl::{io, ior, iow, iowr};
use crate::path::{fstat, readlinkat, Stat};
use crate::process::{getpid, kcmp, KCMP_FILE};
use crate::signal::SigSet;
use crate::time::Timespec;

/// Open `path` read-write.
fn open_rw(path: &Path) -> OwnedFd {
    open(&cpath(path), OFlags::RDWR | OFlags::CLOEXEC, 0).unwrap()
}

fn size_of_fd(fd: impl AsFd) -> i64 {
    let mut st = Stat::zeroed();
    fstat(fd, &mut st).unwrap();
    st.st_size
}

#[test]
fn read_write_lseek_pread_pwrite_on_a_file() {
    let d = TempDir::new("rw");
    let p = d.cjoin("f");
    let fd = open(&p, OFlags::RDWR | OFlags::CREAT | OFlags::EXCL | OFlags::CLOEXEC, 0o600).unwrap();
    assert_eq!(
        open(&p, OFlags::RDWR | OFlags::CREAT | OFlags::EXCL, 0o600),
        Err(Errno::EEXIST)
    );
    assert_eq!(write(&fd, b"hello world"), Ok(11));
    assert_eq!(lseek(&fd, 0, SEEK_CUR), Ok(11));
    assert_eq!(lseek(&fd, 6, SEEK_SET), Ok(6));
    let mut b = [0u8; 16];
    assert_eq!(read(&fd, &mut b), Ok(5));
    assert_eq!(&b[..5], b"world");
    assert_eq!(read(&fd, &mut b), Ok(0), "end of file");
    assert_eq!(pwrite64(&fd, b"HELLO", 0), Ok(5));
    assert_eq!(pread64(&fd, &mut b[..11], 0), Ok(11));
    assert_eq!(&b[..11], b"HELLO world");
    assert_eq!(lseek(&fd, 0, SEEK_CUR), Ok(11), "pread/pwrite leave the offset");
    assert_eq!(lseek(&fd, -1, SEEK_SET), Err(Errno::EINVAL));
    assert_eq!(lseek(&fd, 0, 99), Err(Errno::EINVAL));
    assert_eq!(lseek(&fd, 0, SEEK_END), Ok(11));
    assert_eq!(lseek(&fd, 0, SEEK_DATA), Ok(0));
    assert_eq!(lseek(&fd, 0, SEEK_HOLE), Ok(11));
    assert_eq!(pread64(&fd, &mut b, -1), Err(Errno::EINVAL));
    let raw = fd.as_raw_fd();
    close_fd(fd).unwrap();
    // SAFETY: the number is closed; closing it again touches nothing.
    assert_eq!(unsafe { close(raw) }, Err(Errno::EBADF));
    assert_eq!(read(bad_fd(raw), &mut b), Err(Errno::EBADF));

    // O_RDONLY forbids writes; O_WRONLY reads.
    let ro = open(&p, OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    assert_eq!(write(&ro, b"x"), Err(Errno::EBADF));
    close_fd(ro).unwrap();
    let wo = openat(CWD, &p, OFlags::WRONLY | OFlags::APPEND | OFlags::CLOEXEC, 0).unwrap();
    assert_eq!(read(&wo, &mut b), Err(Errno::EBADF));
    assert_eq!(write(&wo, b"!"), Ok(1));
    assert_eq!(size_of_fd(&wo), 12, "O_APPEND writes at the end");
    close_fd(wo).unwrap();
}

#[test]
fn open_errors_map_to_errno() {
    assert_eq!(
        open(c"/nonexistent-restorer-sys/x", OFlags::RDONLY, 0),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        openat(CWD, c"/nonexistent-restorer-sys/x", OFlags::RDONLY, 0),
        Err(Errno::ENOENT)
    );
    let d = TempDir::new("openerr");
    let dirfd = open(&d.c(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, 0).unwrap();
    assert_eq!(openat(&dirfd, c"missing", OFlags::RDONLY, 0), Err(Errno::ENOENT));
    assert_eq!(openat(bad_fd(-1), c"relative", OFlags::RDONLY, 0), Err(Errno::EBADF));
    let f = d.file("f", b"x");
    assert_eq!(open(&cpath(&f.join("below")), OFlags::RDONLY, 0), Err(Errno::ENOTDIR));
    assert_eq!(
        open(&cpath(&f), OFlags::RDONLY | OFlags::DIRECTORY, 0),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(open(&d.c(), OFlags::WRONLY, 0), Err(Errno::EISDIR));
    let fd = openat(&dirfd, c"f", OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    close_fd(fd).unwrap();
    close_fd(dirfd).unwrap();
}

#[test]
fn close_of_a_bad_fd_is_ebadf() {
    // SAFETY: neither number is an open fd.
    assert_eq!(unsafe { close(-1) }, Err(Errno::EBADF));
    // SAFETY: as above.
    assert_eq!(unsafe { close(i32::MAX) }, Err(Errno::EBADF));
}

#[test]
fn vectored_reads_and_writes_on_a_file() {
    let d = TempDir::new("vec");
    let p = d.file("f", b"");
    let fd = open_rw(&p);
    let (a, b) = (b"abc".as_slice(), b"defgh".as_slice());
    // SAFETY: (all iovec calls below) the iovecs cover live local buffers.
    assert_eq!(writev(&fd, &[IoSlice::new(a), IoSlice::new(b)]), Ok(8));
    assert_eq!(lseek(&fd, 0, SEEK_SET), Ok(0));
    let (mut x, mut y) = ([0u8; 3], [0u8; 10]);
    assert_eq!(
        readv(&fd, &mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]),
        Ok(8)
    );
    assert_eq!((&x, &y[..5]), (b"abc", b"defgh".as_slice()));

    // Positioned forms leave the offset alone.
    assert_eq!(pwritev(&fd, &[IoSlice::new(b"XY"), IoSlice::new(b"Z")], 100), Ok(3));
    assert_eq!(size_of_fd(&fd), 103);
    let mut z = [0u8; 3];
    assert_eq!(preadv(&fd, &mut [IoSliceMut::new(&mut z)], 100), Ok(3));
    assert_eq!(&z, b"XYZ");
    assert_eq!(lseek(&fd, 0, SEEK_CUR), Ok(8));

    // preadv2: at an offset, and at the file offset with -1 (which moves it).
    let mut w = [0u8; 4];
    assert_eq!(
        preadv2(&fd, &mut [IoSliceMut::new(&mut w)], 1, ReadWriteFlags::empty()),
        Ok(4)
    );
    assert_eq!(&w, b"bcde");
    assert_eq!(lseek(&fd, 2, SEEK_SET), Ok(2));
    assert_eq!(
        preadv2(&fd, &mut [IoSliceMut::new(&mut w)], -1, ReadWriteFlags::empty()),
        Ok(4)
    );
    assert_eq!(&w, b"cdef");
    assert_eq!(lseek(&fd, 0, SEEK_CUR), Ok(6));
    // Just written, so cached: RWF_NOWAIT succeeds.
    assert_eq!(
        preadv2(&fd, &mut [IoSliceMut::new(&mut w)], 0, ReadWriteFlags::NOWAIT),
        Ok(4)
    );
    assert_eq!(
        preadv2(
            &fd,
            &mut [IoSliceMut::new(&mut w)],
            0,
            ReadWriteFlags::from_bits_retain(0x4000_0000)
        ),
        Err(Errno::EOPNOTSUPP)
    );

    // pwritev2: RWF_APPEND writes at the end whatever the offset; sync flags work.
    assert_eq!(pwritev2(&fd, &[IoSlice::new(b"END")], 0, ReadWriteFlags::APPEND), Ok(3));
    assert_eq!(size_of_fd(&fd), 106);
    let mut e = [0u8; 3];
    assert_eq!(pread64(&fd, &mut e, 103), Ok(3));
    assert_eq!(&e, b"END");
    assert_eq!(pread64(&fd, &mut e, 0), Ok(3));
    assert_eq!(&e, b"abc", "RWF_APPEND did not write at offset 0");
    assert_eq!(pwritev2(&fd, &[IoSlice::new(b"s")], 50, ReadWriteFlags::DSYNC), Ok(1));
    assert_eq!(pwritev2(&fd, &[IoSlice::new(b"S")], 51, ReadWriteFlags::SYNC), Ok(1));
    assert_eq!(pread64(&fd, &mut e[..2], 50), Ok(2));
    assert_eq!(&e[..2], b"sS");
    assert_eq!(
        pwritev2(bad_fd(-1), &[IoSlice::new(b"s")], 0, ReadWriteFlags::empty()),
        Err(Errno::EBADF)
    );
    close_fd(fd).unwrap();
}

#[test]
fn pipes_read_write_and_refuse_seeks_and_hints() {
    let [r, w] = pipe2(OFlags::CLOEXEC).unwrap();
    assert_eq!(fcntl_getfd(&r), Ok(FdFlags::CLOEXEC));
    assert_eq!(write(&w, b"through the pipe"), Ok(16));
    let mut n = 0i32;
    // SAFETY: FIONREAD writes one int.
    unsafe { ioctl(&r, FIONREAD, &mut n as *mut i32 as usize) }.unwrap();
    assert_eq!(n, 16);
    let mut b = [0u8; 32];
    assert_eq!(read(&r, &mut b), Ok(16));
    assert_eq!(&b[..16], b"through the pipe");
    // SAFETY: the iovecs cover live local buffers.
    assert_eq!(writev(&w, &[IoSlice::new(b"ab"), IoSlice::new(b"cd")]), Ok(4));
    assert_eq!(readv(&r, &mut [IoSliceMut::new(&mut b[..4])]), Ok(4));
    assert_eq!(&b[..4], b"abcd");

    assert_eq!(lseek(&r, 0, SEEK_SET), Err(Errno::ESPIPE));
    assert_eq!(pread64(&r, &mut b, 0), Err(Errno::ESPIPE));
    assert_eq!(pwrite64(&w, b"x", 0), Err(Errno::ESPIPE));
    // SAFETY: the iovec covers a live local buffer.
    assert_eq!(preadv(&r, &mut [IoSliceMut::new(&mut b)], 0), Err(Errno::ESPIPE));
    assert_eq!(readahead(&r, 0, 4096), Err(Errno::EINVAL));
    assert_eq!(fadvise64(&r, 0, 0, POSIX_FADV_WILLNEED), Err(Errno::ESPIPE));
    assert_eq!(fallocate(&w, FallocateFlags::empty(), 0, 4096), Err(Errno::ESPIPE));
    assert_eq!(read(&w, &mut b), Err(Errno::EBADF));
    assert_eq!(fsync(&r), Err(Errno::EINVAL));

    // Non-blocking through F_SETFL: an empty pipe says EAGAIN.
    let fl = fcntl_getfl(&r).unwrap();
    assert_eq!(fl & OFlags::ACCMODE, OFlags::RDONLY);
    assert_eq!(fl & OFlags::NONBLOCK, OFlags::empty());
    fcntl_setfl(&r, fl | OFlags::NONBLOCK).unwrap();
    assert_ne!(fcntl_getfl(&r).unwrap() & OFlags::NONBLOCK, OFlags::empty());
    assert_eq!(read(&r, &mut b), Err(Errno::EAGAIN));
    assert_eq!(Errno::EAGAIN, Errno::EWOULDBLOCK);

    close_fd(w).unwrap();
    assert_eq!(read(&r, &mut b), Ok(0), "EOF once the writer is gone");
    close_fd(r).unwrap();
    assert_eq!(pipe2(OFlags::from_bits_retain(0x7fff_0000)), Err(Errno::EINVAL));
}

#[test]
fn readahead_and_fadvise_on_a_file() {
    let d = TempDir::new("ra");
    let p = d.file("f", &pattern(256 * 1024));
    let fd = open(&cpath(&p), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    readahead(&fd, 0, 256 * 1024).unwrap();
    readahead(&fd, 1 << 40, 4096).unwrap();
    for advice in [
        POSIX_FADV_NORMAL,
        POSIX_FADV_RANDOM,
        POSIX_FADV_SEQUENTIAL,
        POSIX_FADV_WILLNEED,
        POSIX_FADV_NOREUSE,
        POSIX_FADV_DONTNEED,
    ] {
        fadvise64(&fd, 0, 0, advice).unwrap_or_else(|e| panic!("advice {advice}: {e:?}"));
    }
    assert_eq!(fadvise64(&fd, 0, 0, 99), Err(Errno::EINVAL));
    assert_eq!(fadvise64(&fd, 0, -1, POSIX_FADV_NORMAL), Err(Errno::EINVAL));
    assert_eq!(readahead(bad_fd(-1), 0, 1), Err(Errno::EBADF));
    close_fd(fd).unwrap();
}

#[test]
fn fallocate_punches_a_hole_that_reads_as_zero() {
    const LEN: usize = 64 * 1024;
    let d = TempDir::new("punch");
    let p = d.file("f", &[0xAB; LEN]);
    let fd = open_rw(&p);
    fsync(&fd).unwrap();
    let mut before = Stat::zeroed();
    fstat(&fd, &mut before).unwrap();
    assert!(
        before.st_blocks >= (LEN / 512) as i64,
        "allocated: {}",
        before.st_blocks
    );

    assert_eq!(
        fallocate(&fd, FallocateFlags::PUNCH_HOLE, 16384, 32768),
        Err(Errno::EOPNOTSUPP),
        "punching needs KEEP_SIZE"
    );
    fallocate(
        &fd,
        FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE,
        16384,
        32768,
    )
    .unwrap();
    let mut after = Stat::zeroed();
    fstat(&fd, &mut after).unwrap();
    assert!(
        after.st_blocks < before.st_blocks,
        "blocks {} -> {}",
        before.st_blocks,
        after.st_blocks
    );
    assert_eq!(after.st_size, LEN as i64);
    let mut data = vec![0u8; LEN];
    assert_eq!(pread64(&fd, &mut data, 0), Ok(LEN));
    assert!(data[..16384].iter().all(|&b| b == 0xAB));
    assert!(data[16384..49152].iter().all(|&b| b == 0));
    assert!(data[49152..].iter().all(|&b| b == 0xAB));
    assert_eq!(lseek(&fd, 0, SEEK_HOLE), Ok(16384));

    // Mode 0 allocates and extends; KEEP_SIZE allocates without.
    fallocate(&fd, FallocateFlags::empty(), LEN as i64, 4096).unwrap();
    assert_eq!(size_of_fd(&fd), (LEN + 4096) as i64);
    fallocate(&fd, FallocateFlags::KEEP_SIZE, (LEN + 4096) as i64, 4096).unwrap();
    assert_eq!(size_of_fd(&fd), (LEN + 4096) as i64);
    assert_eq!(fallocate(&fd, FallocateFlags::empty(), 0, 0), Err(Errno::EINVAL));
    ftruncate(&fd, 10).unwrap();
    assert_eq!(size_of_fd(&fd), 10);
    fdatasync(&fd).unwrap();
    close_fd(fd).unwrap();
}

#[test]
fn dup_dup2_dup3_and_fcntl_dupfd() {
    let d = TempDir::new("dup");
    let pa = d.file("a", b"AAAA");
    let pb = d.file("b", b"BBBB");
    let a = open_rw(&pa);
    let b = open_rw(&pb);
    let c = dup(&a).unwrap();
    assert_ne!(c.as_raw_fd(), a.as_raw_fd());
    assert_eq!(fcntl_getfd(&c), Ok(FdFlags::empty()), "dup clears close-on-exec");
    assert_eq!(lseek(&a, 2, SEEK_SET), Ok(2));
    assert_eq!(lseek(&c, 0, SEEK_CUR), Ok(2), "duplicates share the offset");

    // dup2 onto b (ours): b now names file a.
    let (ra, rb, rc) = (a.as_raw_fd(), b.as_raw_fd(), c.as_raw_fd());
    // SAFETY: (dup2/dup3 below) the target numbers are fds this test owns.
    assert_eq!(unsafe { dup2(&a, rb) }, Ok(rb));
    let mut buf = [0u8; 2];
    assert_eq!(read(&b, &mut buf), Ok(2));
    assert_eq!(&buf, b"AA");
    // SAFETY: as above: (dup2/dup3 below) the target numbers are fds this test owns.
    assert_eq!(unsafe { dup2(&a, ra) }, Ok(ra));
    // SAFETY: as above: (dup2/dup3 below) the target numbers are fds this test owns.
    assert_eq!(unsafe { dup3(&a, ra, OFlags::empty()) }, Err(Errno::EINVAL));
    // SAFETY: as above: (dup2/dup3 below) the target numbers are fds this test owns.
    assert_eq!(unsafe { dup3(&a, rc, OFlags::CLOEXEC) }, Ok(rc));
    assert_eq!(fcntl_getfd(&c), Ok(FdFlags::CLOEXEC));
    assert_eq!(
        // SAFETY: as above: (dup2/dup3 below) the target numbers are fds this test owns.
        unsafe { dup3(&a, rc, OFlags::RDWR) },
        Err(Errno::EINVAL),
        "only O_CLOEXEC is allowed"
    );
    let hi = fcntl_dupfd(&a, 500, true).unwrap();
    assert!(hi.as_raw_fd() >= 500);
    assert_eq!(fcntl_getfd(&hi), Ok(FdFlags::CLOEXEC));
    assert_eq!(
        kcmp(getpid(), getpid(), KCMP_FILE, ra as usize, hi.as_raw_fd() as usize),
        Ok(0)
    );
    fcntl_setfd(&hi, FdFlags::empty()).unwrap();
    assert_eq!(fcntl_getfd(&hi), Ok(FdFlags::empty()));
    assert_eq!(dup(bad_fd(-1)), Err(Errno::EBADF));
    // SAFETY: as above: (dup2/dup3 below) the target numbers are fds this test owns.
    assert_eq!(unsafe { dup2(bad_fd(-1), rb) }, Err(Errno::EBADF));
    assert_eq!(fcntl_getfl(bad_fd(-1)), Err(Errno::EBADF));
    // SAFETY: an unknown command takes nothing.
    assert_eq!(unsafe { fcntl(&a, 0x7fff, 0) }, Err(Errno::EINVAL));
    for fd in [a, b, c, hi] {
        close_fd(fd).unwrap();
    }
    let _ = pb;
}

#[test]
fn flock_conflicts_between_open_files() {
    let d = TempDir::new("flock");
    let p = d.file("f", b"lock me");
    let (a, b) = (open_rw(&p), open_rw(&p));
    flock(&a, LOCK_EX | LOCK_NB).unwrap();
    assert_eq!(flock(&b, LOCK_EX | LOCK_NB), Err(Errno::EWOULDBLOCK));
    assert_eq!(flock(&b, LOCK_SH | LOCK_NB), Err(Errno::EWOULDBLOCK));
    flock(&a, LOCK_UN).unwrap();
    flock(&b, LOCK_SH | LOCK_NB).unwrap();
    flock(&a, LOCK_SH | LOCK_NB).unwrap();
    assert_eq!(flock(&a, 0), Err(Errno::EINVAL));
    assert_eq!(flock(bad_fd(-1), LOCK_UN), Err(Errno::EBADF));
    close_fd(a).unwrap();
    close_fd(b).unwrap();
}

#[test]
fn memfd_write_read_and_seal() {
    let fd = memfd_create(c"restorer-sys-test", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    assert_eq!(fcntl_getfd(&fd), Ok(FdFlags::CLOEXEC));
    assert_eq!(write(&fd, b"hello memfd"), Ok(11));
    let mut b = [0u8; 11];
    assert_eq!(pread64(&fd, &mut b, 0), Ok(11));
    assert_eq!(&b, b"hello memfd");
    assert_eq!(size_of_fd(&fd), 11);
    let mut link = [0u8; 64];
    let n = readlinkat(
        CWD,
        &cpath(Path::new(&format!("/proc/self/fd/{}", fd.as_raw_fd()))),
        &mut link,
    )
    .unwrap();
    assert_eq!(&link[..n], b"/memfd:restorer-sys-test (deleted)");
    // SAFETY: F_ADD_SEALS/F_GET_SEALS take integers.
    unsafe { fcntl(&fd, F_ADD_SEALS, F_SEAL_WRITE as usize) }.unwrap();
    // SAFETY: as above: F_ADD_SEALS/F_GET_SEALS take integers.
    assert_eq!(unsafe { fcntl(&fd, F_GET_SEALS, 0) }, Ok(F_SEAL_WRITE));
    assert_eq!(write(&fd, b"x"), Err(Errno::EPERM));
    close_fd(fd).unwrap();
    assert_eq!(
        memfd_create(c"bad-flags", MemfdFlags::from_bits_retain(0x8000_0000)),
        Err(Errno::EINVAL)
    );
}

#[test]
fn close_range_closes_and_marks_cloexec() {
    let d = TempDir::new("closerange");
    let p = d.file("f", b"x");
    let fd = open(&cpath(&p), OFlags::RDONLY, 0).unwrap();
    assert_eq!(fcntl_getfd(&fd), Ok(FdFlags::empty()));
    let raw = fd.as_raw_fd() as u32;
    // SAFETY: CLOEXEC only marks the fd.
    unsafe { close_range(raw, raw, CLOSE_RANGE_CLOEXEC) }.unwrap();
    assert_eq!(fcntl_getfd(&fd), Ok(FdFlags::CLOEXEC));
    // SAFETY: the fd is ours, and forgotten below.
    unsafe { close_range(raw, raw, 0) }.unwrap();
    let fd = fd.into_raw_fd();
    assert_eq!(fcntl_getfd(bad_fd(fd)), Err(Errno::EBADF));
    // SAFETY: invalid ranges and flags close nothing.
    assert_eq!(unsafe { close_range(5, 3, 0) }, Err(Errno::EINVAL));
    // SAFETY: as above.
    assert_eq!(unsafe { close_range(0, 0, 0x80) }, Err(Errno::EINVAL));

    // A whole range, in a child (the parent's other threads own fds too).
    let keep = open(&cpath(&p), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    in_child(|| {
        let Ok(a) = fcntl_dupfd(&keep, 300, false) else {
            return 2;
        };
        let Ok(b) = fcntl_dupfd(&keep, 301, false) else {
            return 3;
        };
        let (a, b) = (a.into_raw_fd(), b.into_raw_fd());
        // SAFETY: the child's copies of fds 300.. are its own; a and b were forgotten.
        ensure!(unsafe { close_range(300, u32::MAX, 0) }.is_ok());
        ensure!(fcntl_getfd(bad_fd(a)) == Err(Errno::EBADF));
        ensure!(fcntl_getfd(bad_fd(b)) == Err(Errno::EBADF));
        ensure!(fcntl_getfd(&keep).is_ok());
        // CLOSE_RANGE_UNSHARE gives the child its own table first.
        let k = keep.as_raw_fd() as u32;
        // SAFETY: closes the child's own copy of keep; the child exits after the check.
        ensure!(unsafe { close_range(k, k, CLOSE_RANGE_UNSHARE) }.is_ok());
        ensure!(fcntl_getfd(&keep) == Err(Errno::EBADF));
        0
    });
    assert_eq!(
        fcntl_getfd(&keep),
        Ok(FdFlags::CLOEXEC),
        "the child's close_range stays in the child"
    );
    close_fd(keep).unwrap();
}

#[test]
fn openat2_resolve_flags() {
    let d = TempDir::new("openat2");
    d.file("f", b"inside");
    std::os::unix::fs::symlink("f", d.join("link")).unwrap();
    std::os::unix::fs::symlink("/etc", d.join("escape")).unwrap();
    let dirfd = open(&d.c(), OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, 0).unwrap();
    let how = |resolve| OpenHow {
        flags: (OFlags::RDONLY | OFlags::CLOEXEC).bits() as u64,
        mode: 0,
        resolve,
    };

    let fd = openat2(&dirfd, c"f", &how(RESOLVE_BENEATH)).unwrap();
    let mut b = [0u8; 6];
    assert_eq!(read(&fd, &mut b), Ok(6));
    assert_eq!(&b, b"inside");
    close_fd(fd).unwrap();
    assert_eq!(openat2(&dirfd, c"../x", &how(RESOLVE_BENEATH)), Err(Errno::EXDEV));
    assert_eq!(
        openat2(&dirfd, c"/etc/hostname", &how(RESOLVE_BENEATH)),
        Err(Errno::EXDEV)
    );
    assert_eq!(
        openat2(&dirfd, c"escape/hostname", &how(RESOLVE_BENEATH)),
        Err(Errno::EXDEV)
    );
    assert_eq!(openat2(&dirfd, c"link", &how(RESOLVE_NO_SYMLINKS)), Err(Errno::ELOOP));
    close_fd(openat2(&dirfd, c"link", &how(0)).unwrap()).unwrap();
    // IN_ROOT: "/" is the dirfd.
    close_fd(openat2(&dirfd, c"/f", &how(RESOLVE_IN_ROOT)).unwrap()).unwrap();
    assert_eq!(
        openat2(&dirfd, c"/proc/self/exe", &how(RESOLVE_NO_MAGICLINKS | RESOLVE_IN_ROOT)),
        Err(Errno::ENOENT)
    );
    assert_eq!(openat2(&dirfd, c"missing", &how(0)), Err(Errno::ENOENT));
    // A mode without O_CREAT, or an unknown resolve bit, is EINVAL.
    assert_eq!(
        openat2(
            &dirfd,
            c"f",
            &OpenHow {
                flags: 0,
                mode: 0o644,
                resolve: 0
            }
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(openat2(&dirfd, c"f", &how(1 << 40)), Err(Errno::EINVAL));
    // Creating through openat2.
    let how_create = OpenHow {
        flags: (OFlags::RDWR | OFlags::CREAT | OFlags::EXCL | OFlags::CLOEXEC).bits() as u64,
        mode: 0o600,
        resolve: RESOLVE_BENEATH,
    };
    close_fd(openat2(&dirfd, c"new", &how_create).unwrap()).unwrap();
    assert!(d.join("new").exists());
    close_fd(dirfd).unwrap();
}

#[test]
fn ppoll_on_a_pipe() {
    let [r, w] = pipe2(OFlags::CLOEXEC).unwrap();
    let zero = Timespec::new(0, 0);
    let mut fds = [PollFd {
        fd: r.as_raw_fd(),
        events: POLLIN,
        revents: 0,
    }];
    assert_eq!(ppoll(&mut fds, Some(&zero), None), Ok(0));
    assert_eq!(fds[0].revents, 0);
    write(&w, b"x").unwrap();
    assert_eq!(
        ppoll(&mut fds, Some(&Timespec::from_millis(1000)), Some(&SigSet::EMPTY)),
        Ok(1)
    );
    assert_eq!(fds[0].revents, POLLIN);
    let mut wfd = [PollFd {
        fd: w.as_raw_fd(),
        events: POLLOUT,
        revents: 0,
    }];
    assert_eq!(ppoll(&mut wfd, Some(&zero), None), Ok(1));
    assert_eq!(wfd[0].revents, POLLOUT);
    close_fd(w).unwrap();
    assert_eq!(ppoll(&mut fds, Some(&zero), None), Ok(1));
    assert_ne!(fds[0].revents & POLLHUP, 0);
    let mut bad = [PollFd {
        fd: i32::MAX,
        events: POLLIN,
        revents: 0,
    }];
    assert_eq!(ppoll(&mut bad, Some(&zero), None), Ok(1));
    assert_eq!(bad[0].revents, POLLNVAL);
    assert_eq!(ppoll(&mut fds, Some(&Timespec::new(0, -1)), None), Err(Errno::EINVAL));
    close_fd(r).unwrap();
}

#[test]
fn vmsplice_user_pages_into_a_pipe() {
    let [r, w] = pipe2(OFlags::CLOEXEC).unwrap();
    let data = *b"spliced into the pipe";
    // SAFETY: the iovec covers a live local buffer, copied (no SPLICE_F_GIFT).
    assert_eq!(vmsplice(&w, &[IoSlice::new(&data)], 0), Ok(data.len()));
    let mut b = [0u8; 32];
    assert_eq!(read(&r, &mut b), Ok(data.len()));
    assert_eq!(&b[..data.len()], &data);
    // SAFETY: as above; the kernel refuses a non-pipe fd.
    let d = TempDir::new("vmsplice");
    let f = open(&cpath(&d.file("f", b"")), OFlags::RDWR | OFlags::CLOEXEC, 0).unwrap();
    assert_eq!(vmsplice(&f, &[IoSlice::new(&data)], 0), Err(Errno::EBADF));
    close_fd(f).unwrap();
    close_fd(r).unwrap();
    close_fd(w).unwrap();
}

#[test]
fn cachestat_sees_cached_pages() {
    let d = TempDir::new("cachestat");
    let p = d.file("f", &pattern(64 * 1024));
    let fd = open(&cpath(&p), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    assert_eq!(read(&fd, &mut buf), Ok(64 * 1024));
    let mut cs = Cachestat::default();
    match cachestat(&fd, &CachestatRange { off: 0, len: 0 }, &mut cs, 0) {
        Ok(()) => {
            assert!(cs.nr_cache >= 16, "{cs:?}");
            assert!(cs.nr_cache <= 16 + 1, "{cs:?}");
            assert_eq!(
                cachestat(&fd, &CachestatRange::default(), &mut cs, 1),
                Err(Errno::EINVAL)
            );
        }
        Err(Errno::ENOSYS) => assert!(kernel_version() < (6, 5), "ENOSYS on {:?}", kernel_version()),
        Err(e) => panic!("cachestat: {e:?}"),
    }
    close_fd(fd).unwrap();
}

#[test]
fn o_direct_is_reported_by_f_getfl() {
    let d = TempDir::new("direct");
    match open(
        &d.cjoin("f"),
        OFlags::RDWR | OFlags::CREAT | OFlags::DIRECT | OFlags::CLOEXEC,
        0o600,
    ) {
        Ok(fd) => {
            assert_ne!(fcntl_getfl(&fd).unwrap() & OFlags::DIRECT, OFlags::empty());
            close_fd(fd).unwrap();
        }
        // Filesystems without direct I/O refuse the flag.
        Err(e) => assert_eq!(e, Errno::EINVAL),
    }
}

#[test]
fn ioctl_requests_and_errors() {
    let d = TempDir::new("ioctl");
    let fd = open(&cpath(&d.file("f", b"x")), OFlags::RDONLY, 0).unwrap();
    let mut termios = [0u8; 64];
    assert_eq!(
        // SAFETY: TCGETS writes a struct termios (60 bytes), which fits.
        unsafe { ioctl(&fd, TCGETS, termios.as_mut_ptr() as usize) },
        Err(Errno::ENOTTY)
    );
    assert_eq!(fcntl_getfd(&fd), Ok(FdFlags::empty()));
    // SAFETY: FIOCLEX takes no argument.
    unsafe { ioctl(&fd, FIOCLEX, 0) }.unwrap();
    assert_eq!(fcntl_getfd(&fd), Ok(FdFlags::CLOEXEC));
    // SAFETY: an invalid fd is refused before the argument is looked at.
    assert_eq!(unsafe { ioctl(bad_fd(-1), FIOCLEX, 0) }, Err(Errno::EBADF));
    close_fd(fd).unwrap();
    // The encoding helpers match the kernel's numbers.
    assert_eq!(iowr(0xAA, 0x3F, 24), 0xc018_aa3f);
    assert_eq!(ior(0xAA, 0x01, 16), 0x8010_aa01);
    assert_eq!(iow(0x94, 9, 8), 0x4008_9409);
    assert_eq!(io(0x94, 1), 0x9401);
}
