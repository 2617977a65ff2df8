//! aio and io_uring: a read through each, which checks the shared structure layouts.

use core::ptr::null_mut;
use std::sync::atomic::AtomicU32;

use super::*;
use crate::aio::*;
use crate::fd::{AsFd, OwnedFd};
use crate::fs::{open, IoVec, OFlags};
use crate::io_uring::*;
use crate::mm::{mmap, munmap, MapFlags, ProtFlags};
use crate::time::Timespec;

#[test]
fn native_aio_pread() {
    let d = TempDir::new("aio");
    let data = pattern(8192);
    let fd = open(&cpath(&d.file("f", &data)), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    let ctx = io_setup(8).unwrap();
    assert_ne!(ctx, 0);
    let mut buf = vec![0u8; 3000];
    let mut cb = Iocb {
        aio_data: 0x77,
        aio_lio_opcode: IOCB_CMD_PREAD,
        aio_fildes: fd.as_raw_fd() as u32,
        aio_buf: buf.as_mut_ptr() as u64,
        aio_nbytes: buf.len() as u64,
        aio_offset: 1000,
        ..Iocb::default()
    };
    let list = [&mut cb as *mut Iocb];
    // SAFETY: the iocb and buffer live until the completion is reaped below.
    assert_eq!(unsafe { io_submit(ctx, &list) }, Ok(1));
    let mut ev = [IoEvent::default(); 2];
    assert_eq!(io_getevents(ctx, 1, &mut ev, Some(&Timespec::new(5, 0))), Ok(1));
    assert_eq!(ev[0].data, 0x77);
    assert_eq!(ev[0].obj, &cb as *const Iocb as u64);
    assert_eq!(ev[0].res, 3000);
    assert_eq!(buf, &data[1000..4000]);

    // A vectored read.
    let (mut a, mut b) = (vec![0u8; 100], vec![0u8; 200]);
    let iov = [IoVec::from_mut(&mut a), IoVec::from_mut(&mut b)];
    let mut cbv = Iocb {
        aio_data: 0x78,
        aio_lio_opcode: IOCB_CMD_PREADV,
        aio_fildes: fd.as_raw_fd() as u32,
        aio_buf: iov.as_ptr() as u64,
        aio_nbytes: 2,
        aio_offset: 0,
        ..Iocb::default()
    };
    // SAFETY: the iocb, iovecs and buffers live until the completion is reaped.
    assert_eq!(unsafe { io_submit(ctx, &[&mut cbv as *mut Iocb]) }, Ok(1));
    assert_eq!(io_getevents(ctx, 1, &mut ev, Some(&Timespec::new(5, 0))), Ok(1));
    assert_eq!((ev[0].data, ev[0].res), (0x78, 300));
    assert_eq!((&a[..], &b[..]), (&data[..100], &data[100..300]));

    // A bad fd is refused at submission; nothing is pending after.
    let mut bad = Iocb {
        aio_fildes: u32::MAX,
        aio_lio_opcode: IOCB_CMD_PREAD,
        ..Iocb::default()
    };
    // SAFETY: refused at submission.
    assert_eq!(unsafe { io_submit(ctx, &[&mut bad as *mut Iocb]) }, Err(Errno::EBADF));
    assert_eq!(io_getevents(ctx, 0, &mut ev, Some(&Timespec::new(0, 0))), Ok(0));
    io_destroy(ctx).unwrap();
    assert_eq!(io_destroy(ctx), Err(Errno::EINVAL));
    assert_eq!(
        io_getevents(ctx, 0, &mut ev, Some(&Timespec::new(0, 0))),
        Err(Errno::EINVAL)
    );
    assert_eq!(io_setup(0), Err(Errno::EINVAL));
    close_fd(fd).unwrap();
}

/// A mapped ring: the pieces of the SQ and CQ rings the test uses.
struct Ring {
    fd: OwnedFd,
    p: IoUringParams,
    sq: *mut u8,
    sq_len: usize,
    cq: *mut u8,
    cq_len: usize,
    sqes: *mut IoUringSqe,
    sqes_len: usize,
}

impl Ring {
    fn new(entries: u32) -> Ring {
        let mut p = IoUringParams::default();
        let fd = io_uring_setup(entries, &mut p).unwrap();
        assert!(p.sq_entries >= entries && p.cq_entries >= p.sq_entries, "{p:?}");
        let mut sq_len = p.sq_off.array as usize + p.sq_entries as usize * 4;
        let mut cq_len = p.cq_off.cqes as usize + p.cq_entries as usize * core::mem::size_of::<IoUringCqe>();
        let single = p.features & IORING_FEAT_SINGLE_MMAP != 0;
        if single {
            sq_len = sq_len.max(cq_len);
            cq_len = sq_len;
        }
        let map = |len, off| {
            // SAFETY: a fresh shared mapping of the ring fd (no MAP_FIXED).
            unsafe {
                mmap(
                    null_mut(),
                    len,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::SHARED | MapFlags::POPULATE,
                    Some(fd.as_fd()),
                    off,
                )
            }
            .unwrap()
        };
        let sq = map(sq_len, IORING_OFF_SQ_RING);
        let cq = if single { sq } else { map(cq_len, IORING_OFF_CQ_RING) };
        let sqes_len = p.sq_entries as usize * core::mem::size_of::<IoUringSqe>();
        let sqes = map(sqes_len, IORING_OFF_SQES) as *mut IoUringSqe;
        Ring {
            fd,
            p,
            sq,
            sq_len,
            cq,
            cq_len,
            sqes,
            sqes_len,
        }
    }

    fn word(base: *mut u8, off: u32) -> &'static AtomicU32 {
        // SAFETY: the offset comes from the kernel and lies inside the live mapping, which
        // outlives every use in the test.
        unsafe { &*(base.add(off as usize) as *const AtomicU32) }
    }

    /// Queue one SQE, submit it and wait for its completion.
    fn run(&self, sqe: IoUringSqe) -> IoUringCqe {
        let o = &self.p.sq_off;
        let tail = Self::word(self.sq, o.tail);
        let mask = Self::word(self.sq, o.ring_mask).load(Ordering::Relaxed);
        let t = tail.load(Ordering::Relaxed);
        let idx = t & mask;
        // SAFETY: idx < sq_entries: inside the SQE array and the index array.
        unsafe {
            self.sqes.add(idx as usize).write(sqe);
            (self.sq.add(o.array as usize) as *mut u32).add(idx as usize).write(idx);
        }
        tail.store(t.wrapping_add(1), Ordering::Release);
        assert_eq!(
            // SAFETY: the SQE's buffers are live until this returns with the completion.
            unsafe { io_uring_enter(&self.fd, 1, 1, IoringEnterFlags::GETEVENTS, None) },
            Ok(1)
        );
        let c = &self.p.cq_off;
        let head = Self::word(self.cq, c.head);
        let h = head.load(Ordering::Relaxed);
        assert_ne!(
            Self::word(self.cq, c.tail).load(Ordering::Acquire),
            h,
            "a completion is there"
        );
        let cmask = Self::word(self.cq, c.ring_mask).load(Ordering::Relaxed);
        // SAFETY: the entry at head & mask, published by the kernel's tail.
        let cqe = unsafe {
            (self.cq.add(c.cqes as usize) as *const IoUringCqe)
                .add((h & cmask) as usize)
                .read()
        };
        head.store(h.wrapping_add(1), Ordering::Release);
        cqe
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: our mappings; nothing uses them any more.
        unsafe {
            let _ = munmap(self.sqes as *mut u8, self.sqes_len);
            if self.cq != self.sq {
                let _ = munmap(self.cq, self.cq_len);
            }
            let _ = munmap(self.sq, self.sq_len);
        }
    }
}

#[test]
fn io_uring_readv_read_and_read_fixed() {
    let d = TempDir::new("uring");
    let data = pattern(16384);
    let fd = open(&cpath(&d.file("f", &data)), OFlags::RDONLY | OFlags::CLOEXEC, 0).unwrap();
    let ring = Ring::new(4);

    // READV into two buffers.
    let (mut a, mut b) = (vec![0u8; 2000], vec![0u8; 2000]);
    let iov = [IoVec::from_mut(&mut a), IoVec::from_mut(&mut b)];
    let cqe = ring.run(IoUringSqe {
        opcode: IORING_OP_READV,
        fd: fd.as_raw_fd(),
        off: 100,
        addr: iov.as_ptr() as u64,
        len: 2,
        user_data: 0xabc,
        ..IoUringSqe::default()
    });
    assert_eq!((cqe.user_data, cqe.res), (0xabc, 4000));
    assert_eq!(a, &data[100..2100]);
    assert_eq!(b, &data[2100..4100]);

    // READ into one buffer.
    let mut c = vec![0u8; 512];
    let cqe = ring.run(IoUringSqe {
        opcode: IORING_OP_READ,
        fd: fd.as_raw_fd(),
        off: 8000,
        addr: c.as_mut_ptr() as u64,
        len: 512,
        user_data: 2,
        ..IoUringSqe::default()
    });
    assert_eq!((cqe.user_data, cqe.res), (2, 512));
    assert_eq!(c, &data[8000..8512]);

    // READ_FIXED into a registered buffer.
    let mut fixed = vec![0u8; 4096];
    let reg = [IoVec::from_mut(&mut fixed)];
    // SAFETY: one iovec; the buffer stays alive until unregistered below.
    unsafe { io_uring_register(&ring.fd, IORING_REGISTER_BUFFERS, reg.as_ptr() as *mut _, 1) }.unwrap();
    let cqe = ring.run(IoUringSqe {
        opcode: IORING_OP_READ_FIXED,
        fd: fd.as_raw_fd(),
        off: 4096,
        addr: fixed.as_mut_ptr() as u64,
        len: 4096,
        buf_index: 0,
        user_data: 3,
        ..IoUringSqe::default()
    });
    assert_eq!((cqe.user_data, cqe.res), (3, 4096));
    assert_eq!(fixed, &data[4096..8192]);
    // A buffer index that was never registered.
    let cqe = ring.run(IoUringSqe {
        opcode: IORING_OP_READ_FIXED,
        fd: fd.as_raw_fd(),
        addr: fixed.as_mut_ptr() as u64,
        len: 16,
        buf_index: 5,
        user_data: 4,
        ..IoUringSqe::default()
    });
    assert_eq!((cqe.user_data, cqe.res), (4, -Errno::EFAULT.raw_os_error()));
    // SAFETY: UNREGISTER_BUFFERS takes no argument.
    unsafe { io_uring_register(&ring.fd, IORING_UNREGISTER_BUFFERS, null_mut(), 0) }.unwrap();

    // Errors travel in the CQE.
    let cqe = ring.run(IoUringSqe {
        opcode: IORING_OP_READ,
        fd: -1,
        addr: c.as_mut_ptr() as u64,
        len: 1,
        user_data: 5,
        ..IoUringSqe::default()
    });
    assert_eq!((cqe.user_data, cqe.res), (5, -Errno::EBADF.raw_os_error()));
    close_fd(fd).unwrap();
}

#[test]
fn io_uring_probe_and_errors() {
    let ring = Ring::new(2);
    let mut probe = IoUringProbe::zeroed();
    // SAFETY: a zeroed probe with IO_URING_PROBE_OPS slots.
    unsafe {
        io_uring_register(
            &ring.fd,
            IORING_REGISTER_PROBE,
            &mut probe as *mut IoUringProbe as *mut _,
            IO_URING_PROBE_OPS as u32,
        )
    }
    .unwrap();
    assert!(probe.last_op >= IORING_OP_LINKAT, "last op {}", probe.last_op);
    for op in [IORING_OP_NOP, IORING_OP_READV, IORING_OP_READ_FIXED, IORING_OP_READ] {
        assert!(probe.supports(op), "op {op}");
    }
    let cqe = ring.run(IoUringSqe {
        opcode: IORING_OP_NOP,
        user_data: 9,
        ..IoUringSqe::default()
    });
    assert_eq!((cqe.user_data, cqe.res), (9, 0));
    let mut p = IoUringParams::default();
    // Refused: no entries.
    assert_eq!(io_uring_setup(0, &mut p), Err(Errno::EINVAL));
    let mut p = IoUringParams {
        flags: 1 << 31,
        ..IoUringParams::default()
    };
    // Refused: unknown flag.
    assert_eq!(io_uring_setup(2, &mut p), Err(Errno::EINVAL));
    let [r, w] = crate::fs::pipe2(OFlags::CLOEXEC).unwrap();
    assert_eq!(
        // SAFETY: not a ring: refused.
        unsafe { io_uring_enter(&r, 0, 0, IoringEnterFlags::empty(), None) },
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        // SAFETY: an unknown register opcode is refused.
        unsafe { io_uring_register(&ring.fd, 9999, null_mut(), 0) },
        Err(Errno::EINVAL)
    );
    close_fd(r).unwrap();
    close_fd(w).unwrap();
}
