//! mm: mappings, protections, remaps, advice, residency, brk, SysV shm, shadow stacks.

use core::ptr::null_mut;

use super::*;
use crate::fs::IoVec;
use crate::mm::*;
use crate::process::{getpid, pidfd_open};

const P: usize = PAGE_SIZE;

/// A fresh private anonymous read-write mapping of `pages` pages.
fn anon(pages: usize, extra: MapFlags) -> *mut u8 {
    // SAFETY: no MAP_FIXED: fresh memory.
    unsafe {
        mmap(
            null_mut(),
            pages * P,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::ANONYMOUS | extra,
            None,
            0,
        )
    }
    .unwrap()
}

/// Resident flags of `pages` pages at `addr`.
fn resident(addr: *const u8, pages: usize) -> Vec<bool> {
    let mut v = vec![0u8; pages];
    mincore(addr, pages * P, &mut v).unwrap();
    v.iter().map(|b| b & 1 != 0).collect()
}

#[test]
fn mmap_write_mincore_munmap() {
    let a = anon(4, MapFlags::empty());
    assert_eq!(a as usize % P, 0);
    assert_eq!(resident(a, 4), [false; 4], "fresh anonymous memory is not populated");
    // SAFETY: inside our mapping.
    unsafe {
        a.write(1);
        a.add(2 * P).write(2);
    }
    assert_eq!(resident(a, 4), [true, false, true, false]);
    let mut short = [0u8; 2];
    assert_eq!(mincore(a, 4 * P, &mut short), Err(Errno::EINVAL), "vector too short");
    let mut v = [0u8; 1];
    assert_eq!(mincore(a.wrapping_add(1), P, &mut v), Err(Errno::EINVAL), "unaligned");
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(a, 4 * P) }.unwrap();
    let mut v4 = [0u8; 4];
    assert_eq!(mincore(a, 4 * P, &mut v4), Err(Errno::ENOMEM), "unmapped");

    assert_eq!(
        // SAFETY: (error cases) no mapping is created or replaced.
        unsafe {
            mmap(
                null_mut(),
                0,
                ProtFlags::READ,
                MapFlags::PRIVATE | MapFlags::ANONYMOUS,
                None,
                0,
            )
        },
        Err(Errno::EINVAL)
    );
    assert_eq!(
        // SAFETY: as above: (error cases) no mapping is created or replaced.
        unsafe { mmap(null_mut(), P, ProtFlags::READ, MapFlags::PRIVATE, None, 0) },
        Err(Errno::EBADF)
    );
    assert_eq!(
        // SAFETY: as above: (error cases) no mapping is created or replaced.
        unsafe { mmap(null_mut(), P, ProtFlags::READ, MapFlags::ANONYMOUS, None, 0) },
        Err(Errno::EINVAL),
        "no map type"
    );
    // SAFETY: as above: (error cases) no mapping is created or replaced.
    assert_eq!(unsafe { munmap(a.wrapping_add(1), P) }, Err(Errno::EINVAL));
}

#[test]
fn mmap_flags_populate_noreplace_growsdown_stack() {
    let a = anon(4, MapFlags::POPULATE);
    assert_eq!(resident(a, 4), [true; 4], "MAP_POPULATE prefaults");
    // SAFETY: MAP_FIXED_NOREPLACE never replaces a mapping: it fails instead.
    let r = unsafe {
        mmap(
            a,
            P,
            ProtFlags::READ,
            MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED_NOREPLACE,
            None,
            0,
        )
    };
    assert_eq!(r, Err(Errno::EEXIST));
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(a.wrapping_add(3 * P), P) }.unwrap();
    // SAFETY: the page was just unmapped and is ours to refill.
    let b = unsafe {
        mmap(
            a.wrapping_add(3 * P),
            P,
            ProtFlags::READ,
            MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::FIXED_NOREPLACE,
            None,
            0,
        )
    };
    assert_eq!(b, Ok(a.wrapping_add(3 * P)));
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(a, 4 * P) }.unwrap();

    let s = anon(8, MapFlags::GROWSDOWN | MapFlags::STACK | MapFlags::NORESERVE);
    // SAFETY: inside our mapping.
    unsafe { s.add(8 * P - 1).write(7) };
    assert_eq!(maps_perms(s as usize + 4 * P).as_deref(), Some("rw-p"));
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(s, 8 * P) }.unwrap();
}

#[test]
fn mprotect_changes_permissions() {
    let a = anon(2, MapFlags::empty());
    // SAFETY: inside our mapping.
    unsafe { a.write(9) };
    assert_eq!(maps_perms(a as usize).as_deref(), Some("rw-p"));
    // SAFETY: our mapping; only read afterwards.
    unsafe { mprotect(a, P, ProtFlags::READ) }.unwrap();
    assert_eq!(maps_perms(a as usize).as_deref(), Some("r--p"));
    assert_eq!(maps_perms(a as usize + P).as_deref(), Some("rw-p"));
    // SAFETY: reading a readable page.
    assert_eq!(unsafe { a.read() }, 9);
    // SAFETY: our mapping; not accessed until restored.
    unsafe { mprotect(a, 2 * P, ProtFlags::NONE) }.unwrap();
    assert_eq!(maps_perms(a as usize).as_deref(), Some("---p"));
    assert_eq!(
        // SAFETY: error cases change nothing.
        unsafe { mprotect(a.wrapping_add(1), P, ProtFlags::READ) },
        Err(Errno::EINVAL)
    );
    assert_eq!(
        // SAFETY: as above: error cases change nothing.
        unsafe { mprotect(a, P, ProtFlags::from_bits_retain(0x7000)) },
        Err(Errno::EINVAL)
    );
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(a, 2 * P) }.unwrap();
    // SAFETY: the range is unmapped: nothing to change.
    assert_eq!(unsafe { mprotect(a, P, ProtFlags::READ) }, Err(Errno::ENOMEM));
}

#[test]
fn mremap_grows_moves_and_shrinks() {
    let a = anon(1, MapFlags::empty());
    // SAFETY: inside our mapping.
    unsafe { core::ptr::copy_nonoverlapping(b"remap me".as_ptr(), a, 8) };
    // SAFETY: our mapping; only `b` is used afterwards.
    let b = unsafe { mremap(a, P, 4 * P, MremapFlags::MAYMOVE, null_mut()) }.unwrap();
    // SAFETY: inside the remapped range.
    let got = unsafe { core::slice::from_raw_parts(b, 8) };
    assert_eq!(got, b"remap me");
    // SAFETY: inside the remapped range (the new pages are zero-fill).
    unsafe { b.add(3 * P).write(5) };
    // SAFETY: our mapping; the tail is not used afterwards.
    let c = unsafe { mremap(b, 4 * P, P, MremapFlags::empty(), null_mut()) }.unwrap();
    assert_eq!(c, b, "shrinking stays in place");
    assert_eq!(
        // SAFETY: MREMAP_FIXED without MAYMOVE is refused before anything is touched.
        unsafe { mremap(c, P, P, MremapFlags::FIXED, c.wrapping_add(64 * P)) },
        Err(Errno::EINVAL)
    );
    assert_eq!(
        // SAFETY: unaligned addresses are refused.
        unsafe { mremap(c.wrapping_add(1), P, P, MremapFlags::empty(), null_mut()) },
        Err(Errno::EINVAL)
    );
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(c, P) }.unwrap();
}

#[test]
fn madvise_advice_including_populate() {
    let a = anon(4, MapFlags::empty());
    // POPULATE_WRITE on fresh anonymous memory faults it in writable.
    // SAFETY: (madvise calls) advice on our own mapping, whose contents we no longer need
    // where it is DONTNEED.
    unsafe { madvise(a, 4 * P, MadviseAdvice::POPULATE_WRITE) }.unwrap();
    assert_eq!(resident(a, 4), [true; 4]);
    // SAFETY: inside our mapping.
    unsafe { a.write(42) };
    // SAFETY: as above: (madvise calls) advice on our own mapping.
    unsafe { madvise(a, P, MadviseAdvice::DONTNEED) }.unwrap();
    assert!(!resident(a, 1)[0]);
    // SAFETY: reading our mapping; DONTNEED'd private anonymous memory reads as zero.
    assert_eq!(unsafe { a.read() }, 0);
    // SAFETY: as above: (madvise calls) advice on our own mapping.
    unsafe { madvise(a, 4 * P, MadviseAdvice::POPULATE_READ) }.unwrap();
    for advice in [
        MadviseAdvice::NORMAL,
        MadviseAdvice::RANDOM,
        MadviseAdvice::SEQUENTIAL,
        MadviseAdvice::WILLNEED,
        MadviseAdvice::COLD,
        MadviseAdvice::DONTFORK,
        MadviseAdvice::DOFORK,
        MadviseAdvice::DONTDUMP,
        MadviseAdvice::DODUMP,
    ] {
        // SAFETY: as above: (madvise calls) advice on our own mapping.
        unsafe { madvise(a, 4 * P, advice) }.unwrap_or_else(|e| panic!("advice {advice}: {e:?}"));
    }
    let thp = Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists();
    for advice in [MadviseAdvice::HUGEPAGE, MadviseAdvice::NOHUGEPAGE] {
        // SAFETY: as above: (madvise calls) advice on our own mapping.
        let r = unsafe { madvise(a, 4 * P, advice) };
        if thp {
            r.unwrap();
        } else {
            assert_eq!(r, Err(Errno::EINVAL));
        }
    }
    assert_eq!(
        // SAFETY: as above: (madvise calls) advice on our own mapping.
        unsafe { madvise(a, 4 * P, MadviseAdvice::from_raw(999)) },
        Err(Errno::EINVAL)
    );
    assert_eq!(
        // SAFETY: as above: (madvise calls) advice on our own mapping.
        unsafe { madvise(a.wrapping_add(1), P, MadviseAdvice::NORMAL) },
        Err(Errno::EINVAL)
    );
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(a, 4 * P) }.unwrap();
    // Populating an unmapped range fails with ENOMEM.
    assert_eq!(
        // SAFETY: advice on an unmapped range touches nothing.
        unsafe { madvise(a, P, MadviseAdvice::POPULATE_WRITE) },
        Err(Errno::ENOMEM)
    );
}

#[test]
fn process_madvise_on_our_own_pidfd() {
    let pidfd = pidfd_open(getpid(), 0).unwrap();
    let a = anon(4, MapFlags::POPULATE);
    let iov = [IoVec { base: a, len: 4 * P }];
    assert_eq!(
        // SAFETY: non-destructive advice on our own mapping.
        unsafe { process_madvise(&pidfd, &iov, MadviseAdvice::COLD, 0) },
        Ok(4 * P)
    );
    assert_eq!(
        // SAFETY: as above: non-destructive advice on our own mapping.
        unsafe { process_madvise(&pidfd, &iov, MadviseAdvice::WILLNEED, 0) },
        Ok(4 * P)
    );
    // Unknown advice and unknown flags are refused.
    assert_eq!(
        // SAFETY: refused advice changes nothing.
        unsafe { process_madvise(&pidfd, &iov, MadviseAdvice::from_raw(999), 0) },
        Err(Errno::EINVAL)
    );
    assert_eq!(
        // SAFETY: as above: non-destructive advice on our own mapping.
        unsafe { process_madvise(&pidfd, &iov, MadviseAdvice::COLD, 1) },
        Err(Errno::EINVAL)
    );
    assert_eq!(
        // SAFETY: as above: non-destructive advice on our own mapping.
        unsafe { process_madvise(bad_fd(-1), &iov, MadviseAdvice::COLD, 0) },
        Err(Errno::EBADF)
    );
    // SAFETY: our mapping, no longer used.
    unsafe { munmap(a, 4 * P) }.unwrap();
    close_fd(pidfd).unwrap();
}

#[test]
fn brk_queries_and_moves_the_break() {
    // SAFETY: brk(0) only queries.
    let cur = unsafe { brk(0) };
    assert_ne!(cur, 0);
    in_child(|| {
        // SAFETY: the child owns its heap and never uses the allocator.
        let now = unsafe { brk(0) };
        // SAFETY: growing the break maps fresh memory.
        let grown = unsafe { brk(now + 4 * P) };
        ensure!(grown == now + 4 * P);
        // SAFETY: inside the new heap range.
        unsafe { (now as *mut u8).add(4 * P - 1).write(1) };
        // SAFETY: the range given back is not used again.
        ensure!(unsafe { brk(now) } == now);
        0
    });
}

#[test]
fn sysv_shared_memory() {
    let id = shmget(IPC_PRIVATE, P, IPC_CREAT | 0o600).unwrap();
    // SAFETY: no address: attached anywhere free.
    let a = unsafe { shmat(id, null_mut(), 0) }.unwrap();
    // SAFETY: inside the attachment.
    unsafe { a.write(77) };
    // SAFETY: a second attachment of the same segment shares the bytes.
    let b = unsafe { shmat(id, null_mut(), SHM_RDONLY) }.unwrap();
    assert_ne!(a, b);
    // SAFETY: inside the read-only attachment.
    assert_eq!(unsafe { b.read() }, 77);
    assert_eq!(maps_perms(b as usize).as_deref(), Some("r--s"));
    // SAFETY: IPC_RMID takes no buffer; the segment goes away at the last detach.
    unsafe { shmctl(id, IPC_RMID, null_mut()) }.unwrap();
    // SAFETY: our attachments, no longer used.
    unsafe { shmdt(a) }.unwrap();
    // SAFETY: as above: our attachments, no longer used.
    unsafe { shmdt(b) }.unwrap();
    // SAFETY: b is detached already: refused, nothing changes.
    assert_eq!(unsafe { shmdt(b) }, Err(Errno::EINVAL));
    // SAFETY: an invalid id attaches nothing.
    assert_eq!(unsafe { shmat(-1, null_mut(), 0) }, Err(Errno::EINVAL));
    assert_eq!(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0o600), Err(Errno::EINVAL));
}

#[test]
fn map_shadow_stack_depends_on_cpu_support() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let shstk = cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "user_shstk"));
    match map_shadow_stack(0, 4 * P, SHADOW_STACK_SET_TOKEN) {
        Ok(p) => {
            assert!(shstk, "mapped a shadow stack without user_shstk");
            // SAFETY: the fresh shadow stack is ours and unused.
            unsafe { munmap(p, 4 * P) }.unwrap();
        }
        Err(e) => {
            assert!(!shstk, "user_shstk present but {e:?}");
            // EOPNOTSUPP without CPU support, ENOSYS from a kernel built without
            // CONFIG_X86_USER_SHADOW_STACK.
            assert!(e == Errno::EOPNOTSUPP || e == Errno::ENOSYS, "{e:?}");
        }
    }
}

#[test]
fn anon_map_is_whole_zeroed_pages_unmapped_on_drop() {
    let m = AnonMap::new(P + 1).unwrap();
    assert_eq!(m.len(), 2 * P);
    assert_eq!(m.as_ptr() as usize % P, 0);
    // SAFETY: the mapping's own bytes, read while it lives.
    let bytes = unsafe { std::slice::from_raw_parts(m.as_ptr(), m.len()) };
    assert!(bytes.iter().all(|&b| b == 0));
    let at = m.as_ptr();
    drop(m);
    let mut v = [0u8; 1];
    assert_eq!(mincore(at, P, &mut v), Err(Errno::ENOMEM), "still mapped after drop");
    assert_eq!(AnonMap::new(0).unwrap().len(), P);
    assert_eq!(AnonMap::new(usize::MAX).err(), Some(Errno::ENOMEM));
}
