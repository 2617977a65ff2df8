//! TCP sockets restored in repair mode: CRIU's `rst_tcp_socks_all`, right after the
//! CR_STATE_RESTORE_SIGCHLD stage and before seccomp and creds (leaving repair mode
//! needs CAP_NET_ADMIN). Failures are logged and ignored, as CRIU's.

use criu_abi::raw::rst_tcp_sock;
use pie_sys::fd::BorrowedFd;
use pie_sys::net::{setsockopt_int, SOL_SOCKET, SOL_TCP, SO_REUSEADDR, TCP_REPAIR};

use crate::{pr_debug, pr_err};

/// Take every socket of `socks` (`ta->tcp_socks`, `ta->tcp_socks_n`) out of repair mode
/// and give it back its dumped SO_REUSEADDR.
pub fn repair_off_all(socks: &[rst_tcp_sock]) {
    for s in socks {
        repair_off(s);
    }
}

fn repair_off(s: &rst_tcp_sock) {
    let reuse = s.reuseaddr as i32;
    pr_debug!("pie: Turning repair off for ", s.sk, " (reuse ", reuse, ")");
    // SAFETY: CRIU restored this socket into the task and closes none while the
    // restorer runs.
    let sk = unsafe { BorrowedFd::borrow_raw(s.sk) };
    if let Err(e) = setsockopt_int(sk, SOL_TCP, TCP_REPAIR, 0) {
        // CRIU's pr_perror in the restorer: the errno printed positive.
        pr_err!(
            "Failed to turn off repair mode on socket ",
            s.sk,
            ": errno ",
            e.raw_os_error()
        );
    }
    if let Err(e) = setsockopt_int(sk, SOL_SOCKET, SO_REUSEADDR, reuse) {
        pr_err!("Failed to restore of SO_REUSEADDR on socket (", e, ")");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pie_sys::errno::Errno;
    use pie_sys::net::{
        accept4, connect, getsockname, getsockopt_int, listen, socket, SockAddr, AF_INET, SOCK_DGRAM, SOCK_STREAM,
    };

    /// `TCP_REPAIR_QUEUE`: settable only in repair mode (EPERM otherwise).
    const TCP_REPAIR_QUEUE: i32 = 20;

    fn in_repair(fd: &pie_sys::fd::OwnedFd) -> bool {
        match setsockopt_int(fd, SOL_TCP, TCP_REPAIR_QUEUE, 0) {
            Ok(()) => true,
            Err(Errno::EPERM) => false,
            Err(e) => panic!("TCP_REPAIR_QUEUE: {e:?}"),
        }
    }

    #[test]
    fn turns_repair_off_and_restores_reuseaddr() {
        let l = socket(AF_INET, SOCK_STREAM, 0).unwrap();
        pie_sys::net::bind(&l, &SockAddr::inet([127, 0, 0, 1], 0)).unwrap();
        listen(&l, 1).unwrap();
        let mut addr = SockAddr::inet([0; 4], 0);
        getsockname(&l, &mut addr).unwrap();
        let c = socket(AF_INET, SOCK_STREAM, 0).unwrap();
        connect(&c, &addr).unwrap();
        let a = accept4(&l, None, 0).unwrap();

        for (sk, reuse) in [(&c, true), (&a, false)] {
            setsockopt_int(sk, SOL_TCP, TCP_REPAIR, 1).unwrap();
            setsockopt_int(sk, SOL_SOCKET, SO_REUSEADDR, !reuse as i32).unwrap();
            assert!(in_repair(sk));
        }
        repair_off_all(&[
            rst_tcp_sock {
                sk: c.as_raw_fd(),
                reuseaddr: true,
            },
            rst_tcp_sock {
                sk: a.as_raw_fd(),
                reuseaddr: false,
            },
        ]);
        assert!(!in_repair(&c));
        assert!(!in_repair(&a));
        assert_eq!(getsockopt_int(&c, SOL_SOCKET, SO_REUSEADDR).unwrap(), 1);
        assert_eq!(getsockopt_int(&a, SOL_SOCKET, SO_REUSEADDR).unwrap(), 0);
    }

    #[test]
    fn a_failed_repair_off_still_sets_reuseaddr() {
        // TCP_REPAIR on a UDP socket fails; CRIU logs it and goes on.
        let u = socket(AF_INET, SOCK_DGRAM, 0).unwrap();
        repair_off_all(&[rst_tcp_sock {
            sk: u.as_raw_fd(),
            reuseaddr: true,
        }]);
        assert_eq!(getsockopt_int(&u, SOL_SOCKET, SO_REUSEADDR).unwrap(), 1);
    }
}
