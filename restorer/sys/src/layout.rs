//! The kernel structs this module writes by hand (for field names and accessors of our
//! own) have the size and alignment of the types `linux-raw-sys` generates from the
//! kernel's UAPI headers.

macro_rules! same_layout {
    ($($ours:ty => $theirs:ty),* $(,)?) => {$(
        const _: () = assert!(core::mem::size_of::<$ours>() == core::mem::size_of::<$theirs>());
        const _: () = assert!(core::mem::align_of::<$ours>() == core::mem::align_of::<$theirs>());
    )*};
}

use linux_raw_sys::{general as g, io_uring as u, net as n, prctl as p};

same_layout!(
    super::creds::CapUserHeader => g::__user_cap_header_struct,
    super::creds::CapUserData => g::__user_cap_data_struct,
    super::fs::OpenHow => g::open_how,
    super::fs::PollFd => g::pollfd,
    super::fs::CachestatRange => g::cachestat_range,
    super::fs::Cachestat => g::cachestat,
    super::io_slice::IoVec => g::iovec,
    super::io_uring::IoSqringOffsets => u::io_sqring_offsets,
    super::io_uring::IoCqringOffsets => u::io_cqring_offsets,
    super::io_uring::IoUringParams => u::io_uring_params,
    super::io_uring::IoUringSqe => u::io_uring_sqe,
    super::io_uring::IoUringCqe => u::io_uring_cqe,
    super::io_uring::IoUringProbeOp => u::io_uring_probe_op,
    super::net::MsgHdr => n::msghdr,
    super::net::CmsgHdr => n::cmsghdr,
    super::net::Ucred => n::ucred,
    super::notify::UffdioApi => g::uffdio_api,
    super::notify::UffdioRange => g::uffdio_range,
    super::notify::UffdioRegister => g::uffdio_register,
    super::notify::UffdioCopy => g::uffdio_copy,
    super::notify::UffdioZeropage => g::uffdio_zeropage,
    super::path::Stat => g::stat,
    super::path::StatxTimestamp => g::statx_timestamp,
    super::path::Statx => g::statx,
    super::process::Rusage => g::rusage,
    super::process::PrctlMmMap => p::prctl_mm_map,
    super::process::SockFilter => linux_raw_sys::ptrace::sock_filter,
    super::process::SockFprog => linux_raw_sys::ptrace::sock_fprog,
    super::sched::Rlimit => g::rlimit,
    super::signal::KernelSigaction => g::kernel_sigaction,
    super::signal::StackT => g::stack_t,
    super::sigtypes::SigInfo => g::siginfo,
    super::thread::CloneArgs => g::clone_args,
    super::thread::RobustListHead => g::robust_list_head,
    super::thread::UserDesc => g::user_desc,
    super::time::Itimerspec => g::__kernel_itimerspec,
    super::time::Itimerval => g::__kernel_old_itimerval,
    super::time::Sigevent => g::sigevent,
    super::timespec::Timespec => g::__kernel_timespec,
    super::timespec::Timeval => g::__kernel_old_timeval,
);

// The kernel packs `struct uffd_msg`; ours is 8-aligned for its u64 fields, same size.
const _: () = assert!(core::mem::size_of::<super::notify::UffdMsg>() == core::mem::size_of::<g::uffd_msg>());
