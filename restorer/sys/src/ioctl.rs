//! ioctl request numbers: the `_IOC` encoding and a few generic requests.

// A few generic ioctls.
/// `FIONREAD`: bytes readable now (an `int` out-argument).
pub const FIONREAD: u32 = linux_raw_sys::ioctl::FIONREAD;
/// `FIONBIO`: set or clear non-blocking mode (an `int` in-argument).
pub const FIONBIO: u32 = linux_raw_sys::ioctl::FIONBIO;
/// `FIOCLEX`: set close-on-exec (no argument).
pub const FIOCLEX: u32 = linux_raw_sys::ioctl::FIOCLEX;
/// `TCGETS`: terminal attributes; `ENOTTY` on anything that is not a terminal.
pub const TCGETS: u32 = linux_raw_sys::ioctl::TCGETS;

// ioctl number encoding (`<asm-generic/ioctl.h>`).
pub const IOC_NONE: u32 = 0;
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`: compose an ioctl request number.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | (ty << 8) | nr
}
/// `_IO(type, nr)`.
pub const fn io(ty: u32, nr: u32) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}
/// `_IOR(type, nr, size)`: the kernel writes `size` bytes to the argument.
pub const fn ior(ty: u32, nr: u32, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}
/// `_IOW(type, nr, size)`: the kernel reads `size` bytes from the argument.
pub const fn iow(ty: u32, nr: u32, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}
/// `_IOWR(type, nr, size)`: the kernel reads and writes `size` bytes of the argument.
pub const fn iowr(ty: u32, nr: u32, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}
