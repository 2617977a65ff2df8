//! AIO rings: CRIU's `restore_aio_ring`, once every VMA is in place and protected.
//!
//! The dumped ring's bytes were restored into an anonymous mapping at the ring's address.
//! A new ring of the same size is made with io_setup; the kernel's hidden tail is moved
//! to the dumped tail by submitting writes to /dev/null (which complete at once), the
//! head is set as they go, the dumped completions are copied over the new ring's, and the
//! new ring is moved onto the dumped one's address (replacing the anonymous copy).

use core::ptr::{addr_of, addr_of_mut};

use criu_abi::raw::rst_aio_ring;
use pie_sys::aio::{io_setup, io_submit, AioContext, AioRing, IoEvent, Iocb, IOCB_CMD_PWRITE};
use pie_sys::fs::{close, open};
use pie_sys::mm::{mmap, mremap, munmap, MapFlags, MremapFlags, ProtFlags};
use pie_sys::oflags::OFlags;

use crate::log::Hex;
use crate::{bail, error::Result};

const HEADER: usize = core::mem::size_of::<AioRing>();

/// Bring back the ring described by `raio` (one of `ta->rings`, `ta->rings_n`) at its
/// address. Any failure fails the restore.
pub fn restore(raio: &rst_aio_ring) -> Result {
    let ring = raio.addr as *const AioRing;
    // SAFETY: CRIU premapped the dumped ring's VMA at raio.addr (raio.len bytes,
    // readable and writable) and restored its pages; it starts with the header.
    let (head, tail, nr) = unsafe { ((*ring).head, (*ring).tail, (*ring).nr) };

    let ctx = match io_setup(raio.nr_req) {
        Ok(ctx) => ctx,
        Err(e) => bail!("Ring setup failed with ", e),
    };
    let new = ctx as *mut AioRing;
    // As CRIU computes it (an int from the unsigned length).
    let expect = ((raio.len as usize).wrapping_sub(HEADER) / core::mem::size_of::<IoEvent>()) as i32 as u32;
    // SAFETY: io_setup mapped the new ring at ctx; the kernel may write it (volatile).
    let new_nr = unsafe { addr_of!((*new).nr).read_volatile() };
    if tail >= nr || head >= nr || nr != expect || new_nr != nr {
        bail!(
            "wrong aio: tail=",
            Hex(tail as u64),
            " head=",
            Hex(head as u64),
            " req=",
            Hex(raio.nr_req as u64),
            " old_nr=",
            Hex(nr as u64),
            " new_nr=",
            Hex(new_nr as u64),
            " expect=",
            Hex(expect as u64)
        );
    }

    if tail != 0 || head != 0 {
        move_tail(ctx, head, tail, nr)?;
    }

    let len = raio.len as usize;
    // SAFETY: both rings are len bytes (checked above: same nr, and len matches it) and
    // distinct mappings; only the completions are copied, the new header stays.
    unsafe {
        core::ptr::copy_nonoverlapping(
            (raio.addr as *const u8).add(HEADER),
            (ctx as *mut u8).add(HEADER),
            len - HEADER,
        )
    };

    // A ring of the wrong size cannot be moved (the kernel fixes an AIO ring's size), so
    // a wrong nr_req fails here rather than leaving a wrong ring in place. This also
    // unmaps the anonymous copy.
    // SAFETY: the new ring is ours, and the target is the task's dumped ring VMA, which
    // nothing else uses.
    let moved = unsafe {
        mremap(
            ctx as *mut u8,
            len,
            len,
            MremapFlags::FIXED | MremapFlags::MAYMOVE,
            raio.addr as *mut u8,
        )
    };
    match moved {
        Ok(p) if p as u64 == raio.addr => Ok(()),
        Ok(p) => bail!("Ring remap failed with ", p as i64),
        Err(e) => bail!("Ring remap failed with ", e),
    }
}

/// Move the kernel's tail of the new ring `ctx` to `tail` (a full turn first when the
/// dumped tail had wrapped below the head, so the kernel's count of completed events
/// comes out right), setting the head to `min(submitted, head)` after each submission.
fn move_tail(ctx: AioContext, head: u32, tail: u32, nr: u32) -> Result {
    let fd = match open(c"/dev/null", OFlags::WRONLY, 0) {
        Ok(fd) => fd.into_raw_fd(),
        Err(_) => bail!("Can't open /dev/null for aio"),
    };
    let count = if tail < head { nr + tail } else { tail } as usize;
    // At most nr - 1 requests can be in flight: no more are needed at once.
    let maxr = count.min(nr as usize - 1);

    // One request, submitted maxr times at a go: only the tail's move matters.
    let size = core::mem::size_of::<Iocb>() + maxr * core::mem::size_of::<*mut Iocb>();
    // SAFETY: a fresh private anonymous mapping, replacing nothing.
    let mem = match unsafe {
        mmap(
            core::ptr::null_mut(),
            size,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::ANONYMOUS,
            None,
            0,
        )
    } {
        Ok(m) => m,
        Err(e) => bail!("Can't mmap aio tmp buffer: ", e),
    };
    let buf = [0u8; 1];
    let iocb = mem as *mut Iocb;
    // SAFETY: the mapping holds the iocb and then maxr pointers (mmap aligns to pages,
    // and size_of::<Iocb>() keeps the pointers aligned); nothing else uses it.
    let iocbp = unsafe {
        iocb.write(Iocb {
            aio_fildes: fd as u32,
            aio_buf: buf.as_ptr() as u64,
            aio_nbytes: 1,
            // A write to /dev/null does nothing and completes synchronously.
            aio_lio_opcode: IOCB_CMD_PWRITE,
            ..Iocb::default()
        });
        let p = mem.add(core::mem::size_of::<Iocb>()) as *mut *mut Iocb;
        for k in 0..maxr {
            p.add(k).write(iocb);
        }
        core::slice::from_raw_parts(p, maxr)
    };

    let mut i = 0usize;
    loop {
        // CRIU passes count - i with maxr pointers: with count > maxr = nr - 1 no more
        // than nr - 1 requests can be taken at once, so capping the slice at maxr
        // submits the same requests without the kernel reading past the array.
        let want = (count - i).min(maxr);
        // SAFETY: the iocb and its one-byte buffer outlive the requests, which complete
        // within io_submit (a /dev/null write is synchronous).
        match unsafe { io_submit(ctx, &iocbp[..want]) } {
            Ok(n) => i += n,
            Err(e) => bail!("Can't submit aio iocbs: ret=", e),
        }
        // Setting the head is what io_getevents would do, faster; it frees slots for
        // the next submission (the kernel refills its available requests from it).
        // SAFETY: the ring header is shared with the kernel: a volatile store.
        unsafe { addr_of_mut!((*(ctx as *mut AioRing)).head).write_volatile(i.min(head as usize) as u32) };
        if i >= count {
            break;
        }
    }

    // SAFETY: the requests are complete; nothing refers to the buffer or the fd now.
    unsafe {
        let _ = munmap(mem, size);
        let _ = close(fd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child_code as in_child;
    use pie_sys::aio::{io_destroy, io_getevents};
    use pie_sys::time::Timespec;

    const NR_REQ: u32 = 16;

    /// Submit one /dev/null write per value of `data` to `ctx`.
    fn submit(ctx: AioContext, fd: i32, data: impl Iterator<Item = u64>) {
        static BUF: [u8; 1] = [0];
        let mut iocbs: Vec<Iocb> = data
            .map(|d| Iocb {
                aio_data: d,
                aio_fildes: fd as u32,
                aio_buf: BUF.as_ptr() as u64,
                aio_nbytes: 1,
                aio_lio_opcode: IOCB_CMD_PWRITE,
                ..Iocb::default()
            })
            .collect();
        let ptrs: Vec<*mut Iocb> = iocbs.iter_mut().map(|c| c as *mut Iocb).collect();
        // SAFETY: the iocbs and the static buffer outlive the synchronous writes.
        let n = unsafe { io_submit(ctx, &ptrs) }.unwrap();
        assert_eq!(n, ptrs.len());
    }

    fn reap(ctx: AioContext, max: usize) -> Vec<u64> {
        let mut ev = vec![IoEvent::default(); max];
        let n = io_getevents(ctx, 0, &mut ev, Some(&Timespec::new(0, 0))).unwrap();
        ev[..n].iter().map(|e| e.data).collect()
    }

    /// A "dumped" ring: made, driven with `before` reaped and `pending` unreaped
    /// completions, copied into an anonymous mapping, destroyed. Returns the copy.
    fn dumped_ring(fd: i32, reaped: u64, pending: u64) -> (rst_aio_ring, AioRing) {
        let ctx = io_setup(NR_REQ).unwrap();
        // SAFETY: ctx is the ring's address.
        let hdr = unsafe { *(ctx as *const AioRing) };
        let len = HEADER + hdr.nr as usize * core::mem::size_of::<IoEvent>();
        assert_eq!(len % 4096, 0);
        // Small batches, each reaped: the kernel hands out requests per CPU in batches,
        // so a large submission may be taken only in part.
        let mut done = 0;
        while done < reaped {
            let k = (reaped - done).min(8);
            submit(ctx, fd, done..done + k);
            assert_eq!(reap(ctx, k as usize).len(), k as usize);
            done += k;
        }
        submit(ctx, fd, 1000..1000 + pending);
        // SAFETY: a fresh anonymous mapping, then a copy of the whole ring into it.
        let copy = unsafe {
            let m = mmap(
                core::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::ANONYMOUS,
                None,
                0,
            )
            .unwrap();
            core::ptr::copy_nonoverlapping(ctx as *const u8, m, len);
            m
        };
        // SAFETY: as above.
        let hdr = unsafe { *(copy as *const AioRing) };
        io_destroy(ctx).unwrap();
        (
            rst_aio_ring {
                addr: copy as u64,
                len: len as u64,
                nr_req: NR_REQ,
            },
            hdr,
        )
    }

    /// Restore the ring and check: the same header, the dumped pending completions
    /// reaped from it in order, then a new request completes through it.
    fn restore_and_check(fd: i32, reaped: u64, pending: u64) -> i32 {
        let (raio, before) = dumped_ring(fd, reaped, pending);
        if restore(&raio).is_err() {
            return 1;
        }
        let ctx = raio.addr;
        // SAFETY: the restored ring lies at raio.addr.
        let after = unsafe { *(ctx as *const AioRing) };
        if (after.nr, after.head, after.tail) != (before.nr, before.head, before.tail) {
            return 2;
        }
        let got = reap(ctx, before.nr as usize);
        if got != (1000..1000 + pending).collect::<Vec<_>>() {
            return 3;
        }
        submit(ctx, fd, [77].into_iter());
        if reap(ctx, 4) != [77] {
            return 4;
        }
        if io_destroy(ctx).is_err() {
            return 5;
        }
        0
    }

    fn dev_null() -> i32 {
        open(c"/dev/null", OFlags::WRONLY, 0).unwrap().into_raw_fd()
    }

    #[test]
    fn restores_a_ring_with_pending_completions() {
        in_child(|| restore_and_check(dev_null(), 5, 3));
    }

    #[test]
    fn restores_a_ring_whose_tail_wrapped_below_its_head() {
        in_child(|| {
            let fd = dev_null();
            let io = io_setup(NR_REQ).unwrap();
            // SAFETY: ctx is the ring's address.
            let nr = unsafe { (*(io as *const AioRing)).nr } as u64;
            io_destroy(io).unwrap();
            // head at nr - 2, tail wrapped to 1.
            restore_and_check(fd, nr - 2, 3)
        });
    }

    #[test]
    fn restores_an_empty_ring() {
        in_child(|| restore_and_check(dev_null(), 0, 0));
    }

    #[test]
    fn a_ring_of_another_size_is_refused() {
        in_child(|| {
            let (mut raio, _) = dumped_ring(dev_null(), 1, 1);
            raio.nr_req = NR_REQ * 8;
            if restore(&raio).is_ok() {
                return 1;
            }
            0
        });
    }
}
