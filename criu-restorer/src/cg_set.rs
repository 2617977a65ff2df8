//! A thread's cgroup set, as CRIU's `send_cg_set`/`recv_cg_set_restore_ack`: the thread
//! asks CRIU's cgroupd (over `cgroupd_sk`, a unix socket with credentials passing) to
//! move it into set `cg_set`, then waits for the echo that says it is done.
//!
//! The socket is shared by every thread of every restored task, so one request and its
//! answer happen under `task_entries.cgroupd_sync_lock`.

use core::mem::size_of;

use criu_abi::raw::thread_restore_args;
use pie_sys::fd::{BorrowedFd, RawFd};
use pie_sys::io_slice::IoVec;
use pie_sys::net::{self, cmsg_len, cmsg_space, CmsgHdr, MsgFlags, MsgHdr, Ucred, SCM_CREDENTIALS, SOL_SOCKET};
use pie_sys::{fs, process};

use crate::error::{Failed, Result};
use crate::lock::Mutex;
use crate::{bail, pr_err, pr_info};

/// `CMSG_SPACE(sizeof(struct ucred))`: one credentials message.
const CMSG_SPACE: usize = cmsg_space(size_of::<Ucred>());

/// A control buffer, aligned for its `cmsghdr`.
#[repr(C, align(8))]
struct Control([u8; CMSG_SPACE]);

/// Move the calling thread into its cgroup set, if it has one (`cg_set != -1`), and close
/// its `cgroupd_sk` copy; `lock` is `task_entries.cgroupd_sync_lock`.
pub fn restore(args: &thread_restore_args, lock: Mutex<'_>) -> Result {
    if args.cg_set == -1 {
        return Ok(());
    }
    // SAFETY: CRIU hands each thread the cgroupd socket in `cgroupd_sk`, open until the
    // close below.
    let sk = unsafe { BorrowedFd::borrow_raw(args.cgroupd_sk) };

    lock.lock();
    pr_info!("Restore cg_set in thread cg_set: ", args.cg_set);
    let ret = send(sk, args.cg_set).and_then(|()| recv_ack(sk));
    lock.unlock();
    close(args.cgroupd_sk);
    ret
}

fn close(fd: RawFd) {
    // SAFETY: the socket is this thread's copy, used by nothing after this step.
    let _ = unsafe { fs::close(fd) };
}

/// The request: a null word (the call address of CRIU's userns helper protocol, unused
/// by cgroupd) and the set, with this thread's id as `SCM_CREDENTIALS` pid (cgroupd
/// ignores uid and gid).
fn send(sk: BorrowedFd<'_>, cg_set: i32) -> Result {
    let mut dummy = 0usize;
    let mut set = cg_set;
    let mut iov = [
        IoVec {
            base: (&mut dummy as *mut usize).cast(),
            len: size_of::<usize>(),
        },
        IoVec {
            base: (&mut set as *mut i32).cast(),
            len: size_of::<i32>(),
        },
    ];
    let mut control = Control([0; CMSG_SPACE]);
    let hdr = CmsgHdr {
        len: cmsg_len(size_of::<Ucred>()),
        level: SOL_SOCKET,
        ty: SCM_CREDENTIALS,
    };
    let cred = Ucred {
        pid: process::gettid(),
        uid: 0,
        gid: 0,
    };
    // SAFETY: `control` holds a cmsghdr at 0 (8-aligned) and its ucred right after the
    // aligned header, within CMSG_SPACE bytes.
    unsafe {
        control.0.as_mut_ptr().cast::<CmsgHdr>().write(hdr);
        control
            .0
            .as_mut_ptr()
            .add(cmsg_len(0))
            .cast::<Ucred>()
            .write_unaligned(cred);
    }
    let msg = MsgHdr {
        iov: iov.as_mut_ptr(),
        iovlen: iov.len(),
        control: control.0.as_mut_ptr(),
        controllen: CMSG_SPACE,
        ..MsgHdr::zeroed()
    };
    // SAFETY: the iovecs and the control buffer are locals that outlive the call.
    if let Err(e) = unsafe { net::sendmsg(sk, &msg, MsgFlags::empty()) } {
        bail!("Unable to send packet to cgroupd ", e);
    }
    Ok(())
}

/// The answer: cgroupd echoes the request once the thread is moved. Only its credentials
/// are read, and they must name this thread.
fn recv_ack(sk: BorrowedFd<'_>) -> Result {
    let mut control = Control([0; CMSG_SPACE]);
    let mut msg = MsgHdr {
        control: control.0.as_mut_ptr(),
        controllen: CMSG_SPACE,
        ..MsgHdr::zeroed()
    };
    // SAFETY: the only buffer is `control`, a local of the length given.
    if let Err(e) = unsafe { net::recvmsg(sk, &mut msg, MsgFlags::empty()) } {
        bail!("Unable to receive from cgroupd ", e);
    }
    if msg.controllen != CMSG_SPACE {
        bail!("The message from cgroupd is truncated");
    }
    // SAFETY: a full-length control message: its ucred follows the aligned header.
    let cred = unsafe { control.0.as_ptr().add(cmsg_len(0)).cast::<Ucred>().read_unaligned() };
    if cred.pid != process::gettid() {
        pr_err!("cred pid ", cred.pid, " != gettid");
        return Err(Failed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use criu_abi::raw::mutex_t;
    use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};

    fn passcred(fd: &OwnedFd) {
        let on: i32 = 1;
        // SAFETY: SO_PASSCRED reads one int.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PASSCRED,
                (&on as *const i32).cast(),
                4,
            )
        };
        assert_eq!(r, 0);
    }

    /// A cgroupd stand-in: receives one request, checks it, answers with `reply_pid` as
    /// the credentials' pid. Returns the set it was asked for.
    fn cgroupd(sk: OwnedFd, reply_pid: Option<i32>) -> std::thread::JoinHandle<(i32, i32)> {
        std::thread::spawn(move || {
            let mut data = [0u8; 12];
            let mut control = Control([0; CMSG_SPACE]);
            let mut iov = [IoVec {
                base: data.as_mut_ptr(),
                len: data.len(),
            }];
            let mut msg = MsgHdr {
                iov: iov.as_mut_ptr(),
                iovlen: 1,
                control: control.0.as_mut_ptr(),
                controllen: CMSG_SPACE,
                ..MsgHdr::zeroed()
            };
            // SAFETY: local buffers of the lengths given.
            let n = unsafe { net::recvmsg(&sk, &mut msg, MsgFlags::empty()) }.unwrap();
            assert_eq!(n, 12);
            assert_eq!(&data[..8], &[0; 8]);
            let set = i32::from_ne_bytes(data[8..].try_into().unwrap());
            // SAFETY: the kernel wrote one credentials message.
            let cred = unsafe { control.0.as_ptr().add(cmsg_len(0)).cast::<Ucred>().read_unaligned() };
            if let Some(pid) = reply_pid {
                // SAFETY: as above; the reply is the request with its pid replaced.
                unsafe {
                    control
                        .0
                        .as_mut_ptr()
                        .add(cmsg_len(0))
                        .cast::<Ucred>()
                        .write_unaligned(Ucred { pid, ..cred });
                    net::sendmsg(&sk, &msg, MsgFlags::empty()).unwrap();
                }
            }
            (set, cred.pid)
        })
    }

    fn pair() -> (OwnedFd, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: socketpair writes two fds.
        let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, fds.as_mut_ptr()) };
        assert_eq!(r, 0);
        // SAFETY: both fds are new and ours.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        passcred(&a);
        passcred(&b);
        (a, b)
    }

    fn inode(fd: i32) -> Option<u64> {
        // SAFETY: fstat writes one stat into `st`.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        (unsafe { libc::fstat(fd, &mut st) } == 0).then_some(st.st_ino)
    }

    /// Whether `fd` no longer refers to the socket `witness` (a dup of it) names; other
    /// tests' threads may have reused the number since.
    fn closed(fd: i32, witness: &OwnedFd) -> bool {
        inode(fd) != inode(witness.as_raw_fd())
    }

    fn args(cg_set: i32, sk: i32) -> thread_restore_args {
        thread_restore_args {
            cg_set,
            cgroupd_sk: sk,
            ..Default::default()
        }
    }

    #[test]
    fn request_and_ack_under_the_lock() {
        let (ours, theirs) = pair();
        let witness = ours.try_clone().unwrap();
        let d = cgroupd(theirs, Some(process::gettid()));
        let mut m = mutex_t::default();
        let args = args(5, ours.into_raw_fd());
        // SAFETY: `m` outlives the borrow.
        restore(&args, unsafe { Mutex::from_raw(&mut m) }).unwrap();
        assert_eq!(d.join().unwrap(), (5, process::gettid()));
        assert!(closed(args.cgroupd_sk, &witness), "the socket is closed");
        // SAFETY: the mutex word is one u32.
        let word = unsafe { *(&m as *const mutex_t).cast::<u32>() };
        assert_eq!(word, 0, "unlocked");
    }

    #[test]
    fn wrong_pid_or_no_answer_fails() {
        let mut m = mutex_t::default();
        for reply in [Some(1), None] {
            let (ours, theirs) = pair();
            let witness = ours.try_clone().unwrap();
            let d = cgroupd(theirs, reply);
            let args = args(3, ours.into_raw_fd());
            // The answerless daemon closes its end on return: recvmsg sees EOF.
            // SAFETY: `m` outlives the borrow.
            assert!(restore(&args, unsafe { Mutex::from_raw(&mut m) }).is_err());
            d.join().unwrap();
            assert!(closed(args.cgroupd_sk, &witness));
        }
    }

    #[test]
    fn no_set_no_traffic() {
        let (ours, _theirs) = pair();
        let witness = ours.try_clone().unwrap();
        let mut m = mutex_t::default();
        // SAFETY: `m` outlives the borrow.
        restore(&args(-1, ours.as_raw_fd()), unsafe { Mutex::from_raw(&mut m) }).unwrap();
        assert!(!closed(ours.as_raw_fd(), &witness), "left open when unused");
    }
}
