//! rseq: CRIU's `restore_rseq` (the last of each thread's common step, after its TLS)
//! and `unregister_libc_rseq` (the task, before the old VMAs are unmapped: CRIU's own C
//! library may have an area registered in memory that is about to go, and the kernel
//! would fault writing it).

use criu_abi::raw::rst_rseq_param;
use pie_sys::thread::{rseq, Rseq, RSEQ_FLAG_UNREGISTER};

use crate::log::Hex;
use crate::{bail, error::Result, pr_debug};

/// Register the thread's dumped rseq area (`thread_restore_args::rseq`), if it had one.
pub fn restore(p: &rst_rseq_param) -> Result {
    if p.rseq_abi_pointer == 0 {
        pr_debug!("rseq: nothing to restore");
        return Ok(());
    }
    pr_debug!(
        "rseq: rseq_abi_pointer = ",
        Hex(p.rseq_abi_pointer),
        " signature = ",
        Hex(p.signature as u64)
    );
    // SAFETY: the area lies in the restored task's memory, which CRIU has put back and
    // which lives as long as the thread.
    let r = unsafe {
        rseq(
            p.rseq_abi_pointer as usize as *mut Rseq,
            p.rseq_abi_size,
            0,
            p.signature,
        )
    };
    if let Err(e) = r {
        bail!(
            "failed sys_rseq(",
            Hex(p.rseq_abi_pointer),
            ", ",
            Hex(p.rseq_abi_size as u64),
            ", ",
            Hex(0),
            ", ",
            Hex(p.signature as u64),
            ") = ",
            e
        );
    }
    Ok(())
}

/// Unregister the area CRIU's C library registered (`ta->libc_rseq`), if any; it cannot
/// fail while that area is registered, and CRIU ignores the result.
pub fn unregister_libc(p: &rst_rseq_param) {
    if p.rseq_abi_pointer == 0 {
        return;
    }
    // SAFETY: unregistering makes the kernel stop using the area; it reads and writes
    // nothing of it after this call.
    let _ = unsafe {
        rseq(
            p.rseq_abi_pointer as usize as *mut Rseq,
            p.rseq_abi_size,
            RSEQ_FLAG_UNREGISTER,
            p.signature,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_child::in_child_code as in_child;
    use pie_sys::errno::Errno;
    use pie_sys::thread::{arch_prctl_get, RSEQ_ORIG_SIZE};

    const ARCH_GET_FS: i32 = 0x1003;
    use pie_sys::thread::RSEQ_SIG as SIG;

    extern "C" {
        // glibc 2.35+: where its rseq area lies from the thread pointer, and its size.
        static __rseq_offset: isize;
        static __rseq_size: u32;
    }

    /// glibc's registration of the calling thread (its signature is RSEQ_SIG too).
    fn libc_rseq() -> rst_rseq_param {
        // SAFETY: plain reads of glibc's read-only exported variables.
        let (off, size) = unsafe { (__rseq_offset, __rseq_size) };
        if size == 0 {
            return rst_rseq_param::default();
        }
        let tp = arch_prctl_get(ARCH_GET_FS).unwrap();
        rst_rseq_param {
            rseq_abi_pointer: (tp as i64 + off as i64) as u64,
            rseq_abi_size: size.max(RSEQ_ORIG_SIZE),
            signature: SIG,
        }
    }

    static mut AREA: Rseq = Rseq {
        cpu_id_start: 0,
        cpu_id: u32::MAX - 1,
        rseq_cs: 0,
        flags: 0,
        node_id: 0,
        mm_cid: 0,
    };

    #[test]
    fn unregisters_libc_then_registers_the_dumped_area() {
        in_child(|| {
            let area = &raw mut AREA;
            let p = rst_rseq_param {
                rseq_abi_pointer: area as u64,
                rseq_abi_size: RSEQ_ORIG_SIZE,
                signature: SIG,
            };
            unregister_libc(&libc_rseq());
            if restore(&p).is_err() {
                return 1;
            }
            // The kernel fills cpu_id on the way back to user space (u32::MAX - 1 is
            // RSEQ_CPU_ID_REGISTRATION_FAILED, what it was before).
            // SAFETY: a volatile read of the registered area, which the kernel writes.
            let cpu = unsafe { core::ptr::read_volatile(&raw const (*area).cpu_id) };
            if cpu >= u32::MAX - 1 {
                return 2;
            }
            // Registering the same area again is EBUSY: the restore fails.
            if restore(&p).is_ok() {
                return 3;
            }
            // SAFETY: unregisters the test's own area.
            if unsafe { rseq(area, RSEQ_ORIG_SIZE, RSEQ_FLAG_UNREGISTER, SIG) }.is_err() {
                return 4;
            }
            0
        });
    }

    #[test]
    fn nothing_registered_without_a_pointer() {
        assert_eq!(restore(&rst_rseq_param::default()), Ok(()));
        unregister_libc(&rst_rseq_param::default());
        // glibc's own registration is untouched: registering it again says EBUSY.
        let l = libc_rseq();
        if l.rseq_abi_pointer != 0 {
            // SAFETY: the area is glibc's for this thread; the call only checks it.
            let r = unsafe { rseq(l.rseq_abi_pointer as usize as *mut Rseq, l.rseq_abi_size, 0, SIG) };
            assert_eq!(r, Err(Errno::EBUSY));
        }
    }
}
