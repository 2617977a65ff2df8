//! path: directories, unlink, symlinks, umask, stat/statx, file handles.

use std::os::unix::fs::MetadataExt;

use super::*;
use crate::creds::CAP_DAC_READ_SEARCH;
use crate::fs::{open, read, AtFlags, OFlags, CWD};
use crate::path::*;

#[test]
fn mkdir_rmdir_unlink_and_their_errors() {
    let d = TempDir::new("dirs");
    let sub = d.cjoin("sub");
    mkdir(&sub, 0o755).unwrap();
    assert!(d.join("sub").is_dir());
    assert_eq!(mkdir(&sub, 0o755), Err(Errno::EEXIST));
    assert_eq!(mkdir(c"/nonexistent-restorer-sys/a/b", 0o755), Err(Errno::ENOENT));
    let f = d.file("sub/f", b"x");
    assert_eq!(rmdir(&sub), Err(Errno::ENOTEMPTY));
    assert_eq!(rmdir(&cpath(&f)), Err(Errno::ENOTDIR));
    assert_eq!(unlink(&sub), Err(Errno::EISDIR));
    unlink(&cpath(&f)).unwrap();
    assert_eq!(unlink(&cpath(&f)), Err(Errno::ENOENT));
    rmdir(&sub).unwrap();
    assert_eq!(rmdir(&sub), Err(Errno::ENOENT));

    let dirfd = open(&d.c(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, 0).unwrap();
    mkdirat(&dirfd, c"at", 0o700).unwrap();
    assert_eq!(
        d.join("at").metadata().unwrap().mode() & 0o777,
        0o700 & !current_umask()
    );
    assert_eq!(unlinkat(&dirfd, c"at", AtFlags::empty()), Err(Errno::EISDIR));
    unlinkat(&dirfd, c"at", AtFlags::REMOVEDIR).unwrap();
    assert_eq!(unlinkat(&dirfd, c"at", AtFlags::REMOVEDIR), Err(Errno::ENOENT));
    assert_eq!(
        unlinkat(&dirfd, c"x", AtFlags::from_bits_retain(0x7000_0000)),
        Err(Errno::EINVAL)
    );
    close_fd(dirfd).unwrap();
}

/// The process umask, read from /proc (reading it with umask(2) would change it).
fn current_umask() -> u32 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let l = s.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(l.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn umask_sets_and_returns_the_old_mask() {
    let d = TempDir::new("umask");
    let p = d.cjoin("f");
    let before = current_umask();
    in_child(|| {
        let old = umask(0o027);
        ensure!(old == before);
        ensure!(umask(0o027) == 0o027);
        let Ok(fd) = open(&p, OFlags::RDWR | OFlags::CREAT | OFlags::CLOEXEC, 0o666) else {
            return 2;
        };
        let mut st = Stat::zeroed();
        ensure!(fstat(&fd, &mut st).is_ok());
        ensure!(st.st_mode & 0o777 == 0o640);
        ensure!(umask(old) == 0o027);
        0
    });
    assert_eq!(current_umask(), before, "the child's umask stays in the child");
}

#[test]
fn readlinkat_and_symlinkat() {
    let mut buf = [0u8; 4096];
    let n = readlinkat(CWD, c"/proc/self/exe", &mut buf).unwrap();
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    assert_eq!(&buf[..n], exe.as_os_str().as_encoded_bytes());

    let d = TempDir::new("links");
    let dirfd = open(&d.c(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, 0).unwrap();
    symlinkat(c"some/target/name", &dirfd, c"l").unwrap();
    assert_eq!(symlinkat(c"x", &dirfd, c"l"), Err(Errno::EEXIST));
    let n = readlinkat(&dirfd, c"l", &mut buf).unwrap();
    assert_eq!(&buf[..n], b"some/target/name");
    let mut small = [0u8; 4];
    assert_eq!(readlinkat(&dirfd, c"l", &mut small), Ok(4), "truncated to the buffer");
    assert_eq!(&small, b"some");
    d.file("f", b"");
    assert_eq!(readlinkat(&dirfd, c"f", &mut buf), Err(Errno::EINVAL), "not a symlink");
    assert_eq!(readlinkat(&dirfd, c"missing", &mut buf), Err(Errno::ENOENT));
    close_fd(dirfd).unwrap();
}

#[test]
fn fstat_newfstatat_and_statx_agree() {
    let d = TempDir::new("stat");
    let p = d.file("f", &pattern(1234));
    std::os::unix::fs::symlink("f", d.join("l")).unwrap();
    let md = std::fs::metadata(&p).unwrap();
    let fd = open(&cpath(&p), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();

    let mut st = Stat::zeroed();
    fstat(&fd, &mut st).unwrap();
    assert_eq!(st.st_size, 1234);
    assert_eq!(st.st_mode & S_IFMT, S_IFREG);
    assert_eq!(st.st_mode, md.mode());
    assert_eq!((st.st_ino, st.st_dev, st.st_nlink), (md.ino(), md.dev(), 1));
    assert_eq!((st.st_uid, st.st_gid), (md.uid(), md.gid()));
    assert_eq!((st.st_mtime, st.st_mtime_nsec), (md.mtime(), md.mtime_nsec()));
    assert_eq!(st.st_blocks, md.blocks() as i64);

    let mut st2 = Stat::zeroed();
    newfstatat(CWD, &cpath(&p), &mut st2, AtFlags::empty()).unwrap();
    assert_eq!(st, st2);
    newfstatat(&fd, c"", &mut st2, AtFlags::EMPTY_PATH).unwrap();
    assert_eq!(st, st2);
    newfstatat(CWD, &d.cjoin("l"), &mut st2, AtFlags::SYMLINK_NOFOLLOW).unwrap();
    assert_eq!(st2.st_mode & S_IFMT, S_IFLNK);
    newfstatat(CWD, &d.cjoin("l"), &mut st2, AtFlags::empty()).unwrap();
    assert_eq!(st2.st_ino, st.st_ino, "followed");
    newfstatat(CWD, &d.c(), &mut st2, AtFlags::empty()).unwrap();
    assert_eq!(st2.st_mode & S_IFMT, S_IFDIR);
    assert_eq!(
        newfstatat(CWD, &d.cjoin("missing"), &mut st2, AtFlags::empty()),
        Err(Errno::ENOENT)
    );
    assert_eq!(fstat(bad_fd(-1), &mut st2), Err(Errno::EBADF));

    let mut sx = Statx::zeroed();
    statx(
        CWD,
        &cpath(&p),
        AtFlags::empty(),
        STATX_BASIC_STATS | STATX_MNT_ID,
        &mut sx,
    )
    .unwrap();
    assert_eq!(sx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
    assert_eq!(sx.stx_size, 1234);
    assert_eq!(sx.stx_ino, st.st_ino);
    assert_eq!(sx.stx_mode as u32, st.st_mode);
    assert_eq!(sx.stx_nlink, 1);
    assert_eq!((sx.stx_uid, sx.stx_gid), (st.st_uid, st.st_gid));
    assert_eq!(sx.stx_blocks as i64, st.st_blocks);
    assert_eq!(
        (sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec as i64),
        (st.st_mtime, st.st_mtime_nsec)
    );
    // st_dev in the kernel's new encoding.
    let dev = st.st_dev;
    let (major, minor) = (
        ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff),
        (dev & 0xff) | ((dev >> 12) & !0xff),
    );
    assert_eq!((sx.stx_dev_major as u64, sx.stx_dev_minor as u64), (major, minor));
    assert_ne!(sx.stx_mask & STATX_MNT_ID, 0);
    assert_ne!(sx.stx_mnt_id, 0);
    let mut sx2 = Statx::zeroed();
    statx(&fd, c"", AtFlags::EMPTY_PATH, STATX_BASIC_STATS, &mut sx2).unwrap();
    assert_eq!(sx2.stx_ino, sx.stx_ino);
    assert_eq!(
        statx(CWD, &cpath(&p), AtFlags::empty(), 0x8000_0000, &mut sx2),
        Err(Errno::EINVAL),
        "reserved mask bit"
    );
    assert_eq!(
        statx(CWD, &d.cjoin("missing"), AtFlags::empty(), STATX_BASIC_STATS, &mut sx2),
        Err(Errno::ENOENT)
    );
    close_fd(fd).unwrap();
}

#[test]
fn file_handles_round_trip() {
    let d = TempDir::new("handle");
    let p = d.file("f", b"by handle");
    let mut h = FileHandle::zeroed();
    let mount_id = name_to_handle_at(CWD, &cpath(&p), &mut h, AtFlags::empty()).unwrap();
    assert!(h.handle_bytes > 0 && h.handle_bytes as usize <= MAX_HANDLE_SZ);
    // The mount id is the one statx reports.
    let mut sx = Statx::zeroed();
    statx(CWD, &cpath(&p), AtFlags::empty(), STATX_MNT_ID, &mut sx).unwrap();
    assert_eq!(mount_id, sx.stx_mnt_id);
    assert_eq!(
        name_to_handle_at(CWD, &d.cjoin("missing"), &mut h.clone(), AtFlags::empty()),
        Err(Errno::ENOENT)
    );

    let dirfd = open(&d.c(), OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, 0).unwrap();
    match open_by_handle_at(&dirfd, &h, OFlags::RDONLY | OFlags::CLOEXEC) {
        Ok(fd) => {
            assert!(have_cap(CAP_DAC_READ_SEARCH));
            let mut b = [0u8; 16];
            assert_eq!(read(&fd, &mut b), Ok(9));
            assert_eq!(&b[..9], b"by handle");
            close_fd(fd).unwrap();
            let mut bad = h;
            bad.handle_bytes = MAX_HANDLE_SZ as u32 + 1;
            assert_eq!(open_by_handle_at(&dirfd, &bad, OFlags::RDONLY), Err(Errno::EINVAL));
        }
        Err(e) => {
            assert_eq!(e, Errno::EPERM);
            assert!(!have_cap(CAP_DAC_READ_SEARCH));
        }
    }
    close_fd(dirfd).unwrap();
}
