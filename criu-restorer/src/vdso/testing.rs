//! Test helpers: the host's own vDSO as CRIU describes it to the restorer, forked
//! children that may move it, and calls into vDSO code at a given address.

use std::fs;

use criu_abi::raw::{vdso_maps, VmaEntry};

use super::{elf, VDSO_BAD_ADDR, VVAR_BAD_ADDR, VVAR_BAD_SIZE};

/// `[vdso]`, `[vvar]`, `[vvar_vclock]` ranges of this process.
pub struct Host {
    pub vdso: (u64, u64),
    pub vvar: Option<(u64, u64)>,
    pub vclock: Option<(u64, u64)>,
}

/// Where `name` is mapped in `maps` (a `/proc/PID/maps` text).
pub fn range(maps: &str, name: &str) -> Option<(u64, u64)> {
    let line = maps.lines().find(|l| l.split_whitespace().nth(5) == Some(name))?;
    let (a, b) = line.split_whitespace().next()?.split_once('-')?;
    Some((u64::from_str_radix(a, 16).ok()?, u64::from_str_radix(b, 16).ok()?))
}

pub fn host() -> Host {
    let maps = fs::read_to_string("/proc/self/maps").unwrap();
    let h = Host {
        vdso: range(&maps, "[vdso]").expect("no [vdso] in /proc/self/maps"),
        vvar: range(&maps, "[vvar]"),
        vclock: range(&maps, "[vvar_vclock]"),
    };
    // SAFETY: getauxval reads the process's auxiliary vector.
    let ehdr = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) };
    assert_eq!(ehdr, h.vdso.0, "AT_SYSINFO_EHDR is not the [vdso] start");
    h
}

/// The host vDSO's bytes.
pub fn host_image() -> &'static [u8] {
    let (s, e) = host().vdso;
    // SAFETY: the vDSO stays mapped, readable, for the life of the test process (only
    // forked children move it).
    unsafe { std::slice::from_raw_parts(s as *const u8, (e - s) as usize) }
}

/// The runtime vDSO/vvar pair as CRIU's `vdso_fill_self_symtable` fills `vdso_maps_rt`.
pub fn runtime() -> vdso_maps {
    let h = host();
    let mut rt = vdso_maps {
        vdso_start: h.vdso.0,
        vvar_start: VVAR_BAD_ADDR,
        ..Default::default()
    };
    rt.sym.vdso_size = h.vdso.1 - h.vdso.0;
    rt.sym.vvar_size = VVAR_BAD_SIZE;
    if let Some((s, e)) = h.vvar {
        rt.vvar_start = s;
        rt.sym.vvar_size = e - s;
    }
    if let Some((s, e)) = h.vclock {
        rt.sym.vvar_vclock_size = e - s;
        rt.sym.vvar_size += e - s;
    }
    rt.sym.vdso_before_vvar = rt.vdso_start < rt.vvar_start;
    rt.sym.symbols = elf::symbols(host_image()).unwrap();
    assert_ne!(rt.vdso_start, VDSO_BAD_ADDR);
    rt
}

pub fn vma(start: u64, end: u64, status: u32) -> VmaEntry {
    VmaEntry {
        start,
        end,
        status,
        ..Default::default()
    }
}

/// Run `f` in a forked child (it may move the vDSO or unmap things) and return its exit
/// code, or 100 + the signal that killed it. The child must not allocate or free (another
/// test thread may hold the allocator's lock at the fork): `f` captures only plain data. `maps`: the child's
/// `/proc/self/maps` as `f` left it, sent back through a pipe.
pub fn in_child(f: impl FnOnce() -> i32) -> (i32, String) {
    let mut p = [0; 2];
    // SAFETY: pipe writes two fds into the array.
    assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
    // SAFETY: the child runs only `f`, syscalls and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let code = f();
        let mut buf = [0u8; 16384];
        // SAFETY: plain syscalls on a stack buffer and fds of this child.
        unsafe {
            let fd = libc::open(c"/proc/self/maps".as_ptr(), libc::O_RDONLY);
            loop {
                let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
                if n <= 0 {
                    break;
                }
                libc::write(p[1], buf.as_ptr().cast(), n as usize);
            }
            libc::_exit(code)
        }
    }
    // SAFETY: closing the write end this process owns.
    unsafe { libc::close(p[1]) };
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: reading into a local buffer from the pipe's read end.
        let n = unsafe { libc::read(p[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    // SAFETY: closing the read end this process owns.
    unsafe { libc::close(p[0]) };
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        100 + libc::WTERMSIG(status)
    };
    (code, String::from_utf8_lossy(&out).into_owned())
}

/// Call the vDSO's `clock_gettime(CLOCK_MONOTONIC)` at `addr` and check the value lies
/// between two raw syscalls' values: 0 if so, else 1.
pub fn check_clock_gettime(addr: u64) -> i32 {
    type F = unsafe extern "C" fn(libc::clockid_t, *mut libc::timespec) -> libc::c_int;
    let ns = |t: libc::timespec| t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128;
    let raw = || {
        let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: the syscall writes one timespec.
        unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut t) };
        t
    };
    // SAFETY: the callers pass the address of a clock_gettime entry (or a jump to one).
    let f: F = unsafe { std::mem::transmute::<usize, F>(addr as usize) };
    let before = raw();
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec.
    let r = unsafe { f(libc::CLOCK_MONOTONIC, &mut t) };
    let after = raw();
    if r == 0 && ns(before) <= ns(t) && ns(t) <= ns(after) {
        0
    } else {
        1
    }
}

/// Whether any page of `addr..addr + len` is mapped (mincore fails with ENOMEM on a hole).
pub fn mapped(addr: u64, len: u64) -> bool {
    let mut v = [0u8; 64];
    // SAFETY: mincore writes one byte a page into `v`; callers ask about at most 64.
    unsafe { libc::mincore(addr as *mut _, len as usize, v.as_mut_ptr()) == 0 }
}

/// An anonymous private mapping of `len` bytes (hint-free), `prot`.
pub fn anon(len: u64, prot: i32) -> u64 {
    // SAFETY: a fresh mapping, harmless.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len as usize,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p as u64
}
