//! mount: error mapping on the host, real mounts only in a child's own mount namespace.

use super::*;
use crate::at_flags::AtFlags;
use crate::creds::CAP_SYS_ADMIN;
use crate::fs::{openat, write, OFlags, CWD};
use crate::mount::*;
use crate::path::{newfstatat, Stat};
use crate::process::unshare;
use crate::thread::CloneFlags;

fn dev_of(p: &CString) -> u64 {
    let mut st = Stat::zeroed();
    newfstatat(CWD, p, &mut st, AtFlags::empty()).unwrap();
    st.st_dev
}

#[test]
fn mount_api_errors_map_to_errno() {
    assert_eq!(fsopen(c"restorer-bogus-fs", FSOPEN_CLOEXEC), Err(Errno::ENODEV));
    assert_eq!(fsopen(c"tmpfs", 0x80), Err(Errno::EINVAL));
    let d = TempDir::new("mnterr");
    assert_eq!(
        mount(
            Some(c"none"),
            c"/nonexistent-restorer-sys/x",
            Some(c"tmpfs"),
            MountFlags::empty(),
            None
        ),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        umount2(&d.c(), UnmountFlags::empty()),
        Err(Errno::EINVAL),
        "not a mount point"
    );
    assert_eq!(
        umount2(c"/nonexistent-restorer-sys", UnmountFlags::empty()),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        umount2(&d.c(), UnmountFlags::from_bits_retain(0x100)),
        Err(Errno::EINVAL),
        "unknown flag"
    );
    assert_eq!(open_tree(CWD, c"/nonexistent-restorer-sys", 0), Err(Errno::ENOENT));
    assert_eq!(open_tree(CWD, &d.c(), 0x4000_0000), Err(Errno::EINVAL));
    assert_eq!(
        move_mount(bad_fd(-1), c"", CWD, &d.c(), 0xffff_0000),
        Err(Errno::EINVAL)
    );
    assert_eq!(fsmount(bad_fd(-1), 0, 0), Err(Errno::EBADF));
    assert_eq!(
        fsconfig_cmd(bad_fd(-1), FSCONFIG_SET_FLAG),
        Err(Errno::EINVAL),
        "not a value-less command"
    );
    assert_eq!(
        fsconfig_cmd(bad_fd(-1), FSCONFIG_CMD_CREATE),
        Err(Errno::EINVAL),
        "negative fd"
    );
    assert_eq!(fsconfig_cmd(bad_fd(0x7fff), FSCONFIG_CMD_CREATE), Err(Errno::EBADF));
    let [r, w] = crate::fs::pipe2(crate::fs::OFlags::CLOEXEC).unwrap();
    assert_eq!(
        fsconfig_cmd(&r, FSCONFIG_CMD_CREATE),
        Err(Errno::EINVAL),
        "not a context"
    );
    close_fd(r).unwrap();
    close_fd(w).unwrap();
}

#[test]
fn mounts_in_a_private_mount_namespace() {
    let d = TempDir::new("mnt");
    std::fs::create_dir(d.join("mp")).unwrap();
    std::fs::create_dir(d.join("mp2")).unwrap();
    std::fs::create_dir(d.join("src")).unwrap();
    d.file("src/marker", b"bound");
    let (mp, mp2, src) = (d.cjoin("mp"), d.cjoin("mp2"), d.cjoin("src"));
    let file = d.cjoin("mp/file");
    let marker = d.cjoin("mp/marker");
    let host_dev = dev_of(&mp);
    if !have_cap(CAP_SYS_ADMIN) {
        in_child(|| {
            ensure!(unshare(CloneFlags::NEWNS) == Err(Errno::EPERM));
            0
        });
        return;
    }
    in_child(|| {
        let dev = |p: &CString| {
            let mut st = Stat::zeroed();
            newfstatat(CWD, p, &mut st, AtFlags::empty()).map(|_| (st.st_dev, st.st_mode))
        };
        // Our own namespace, with nothing propagating back to the host.
        ensure!(unshare(CloneFlags::NEWNS).is_ok());
        ensure!(mount(None, c"/", None, MountFlags::REC | MountFlags::PRIVATE, None).is_ok());
        ensure!(
            mount(
                Some(c"none"),
                &mp,
                Some(c"restorer-bogus-fs"),
                MountFlags::empty(),
                None
            ) == Err(Errno::ENODEV)
        );

        // mount(2) and umount2(2).
        ensure!(mount(
            Some(c"restorer-tmpfs"),
            &mp,
            Some(c"tmpfs"),
            MountFlags::NOSUID | MountFlags::NODEV,
            Some(c"size=1m,mode=0700")
        )
        .is_ok());
        let Ok((mdev, mode)) = dev(&mp) else { return 2 };
        ensure!(mdev != host_dev);
        ensure!(mode & 0o777 == 0o700);
        let Ok(fd) = openat(CWD, &file, OFlags::RDWR | OFlags::CREAT | OFlags::CLOEXEC, 0o600) else {
            return 3;
        };
        ensure!(write(&fd, b"on tmpfs") == Ok(8));
        ensure!(close_fd(fd).is_ok());
        ensure!(mount(None, &mp, None, MountFlags::REMOUNT | MountFlags::RDONLY, None).is_ok());
        ensure!(openat(CWD, &file, OFlags::RDWR | OFlags::CLOEXEC, 0) == Err(Errno::EROFS));
        ensure!(umount2(&mp, UnmountFlags::empty()).is_ok());
        ensure!(matches!(dev(&mp), Ok((d, _)) if d == host_dev));
        ensure!(umount2(&mp, UnmountFlags::empty()) == Err(Errno::EINVAL));

        // A bind mount.
        ensure!(dev(&marker) == Err(Errno::ENOENT));
        ensure!(mount(Some(&src), &mp, None, MountFlags::BIND, None).is_ok());
        ensure!(dev(&marker).is_ok());
        ensure!(umount2(&mp, UnmountFlags::DETACH).is_ok());
        ensure!(dev(&marker) == Err(Errno::ENOENT));

        // The fd-based API: fsopen, fsconfig, fsmount, move_mount, open_tree.
        let Ok(fsfd) = fsopen(c"tmpfs", FSOPEN_CLOEXEC) else {
            return 4;
        };
        ensure!(fsconfig_set_string(&fsfd, c"size", c"1m").is_ok());
        ensure!(fsconfig_set_string(&fsfd, c"restorer-bogus-key", c"1") == Err(Errno::EINVAL));
        ensure!(fsconfig_cmd(&fsfd, FSCONFIG_CMD_CREATE).is_ok());
        let Ok(mfd) = fsmount(&fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID) else {
            return 5;
        };
        ensure!(move_mount(&mfd, c"", CWD, &mp, MOVE_MOUNT_F_EMPTY_PATH).is_ok());
        let Ok((newdev, _)) = dev(&mp) else { return 6 };
        ensure!(newdev != host_dev);
        let Ok(tree) = open_tree(CWD, &mp, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC) else {
            return 7;
        };
        ensure!(move_mount(&tree, c"", CWD, &mp2, MOVE_MOUNT_F_EMPTY_PATH).is_ok());
        ensure!(matches!(dev(&mp2), Ok((d, _)) if d == newdev));
        ensure!(umount2(&mp2, UnmountFlags::DETACH).is_ok());
        ensure!(umount2(&mp, UnmountFlags::DETACH).is_ok());
        for fd in [fsfd, mfd, tree] {
            ensure!(close_fd(fd).is_ok());
        }
        0
    });
    // Nothing leaked into the host's namespace.
    assert_eq!(dev_of(&mp), host_dev);
    assert_eq!(dev_of(&mp2), host_dev);
    assert!(!d.join("mp/file").exists());
}
