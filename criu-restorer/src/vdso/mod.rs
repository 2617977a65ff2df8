//! The vDSO phases of the restore (CRIU's `criu/pie/parasite-vdso.c`, `util-vdso.c`,
//! `arch/x86/vdso-pie.c` and the vDSO steps of `restorer.c`):
//!
//! - before the old VMAs go: [`park::before_unmap`] moves the runtime vDSO/vvar pair
//!   into the area CRIU reserved at the bootstrap region's end when the kernel cannot
//!   map a vDSO on request;
//! - after: [`park::after_unmap`] maps a fresh vDSO there with `ARCH_MAP_VDSO_64` when
//!   it can;
//! - after the pages are restored: [`proxy::proxify`] puts the runtime pair where the
//!   dumped one was if they are alike, or patches the dumped vDSO's entry points into
//!   jumps to the runtime one (a proxy) if not.
//!
//! [`elf`] reads a vDSO's symbols; [`trampoline`] writes the jumps.

use core::ffi::CStr;

use criu_abi::raw::{vdso_maps, vdso_symbol, VmaEntry};

pub mod elf;
pub mod park;
pub mod proxy;
pub mod trampoline;

/// No vDSO / no vvar (`VDSO_BAD_ADDR`, `VVAR_BAD_ADDR`, `asm-generic/vdso.h`); a symbol
/// the vDSO lacks has this offset.
pub const VDSO_BAD_ADDR: u64 = u64::MAX;
/// See [`VDSO_BAD_ADDR`].
pub const VVAR_BAD_ADDR: u64 = u64::MAX;
/// Size unknown: no vvar (`VVAR_BAD_SIZE`).
pub const VVAR_BAD_SIZE: u64 = u64::MAX;

/// The symbols CRIU manages on x86 (`ARCH_VDSO_SYMBOLS`, `arch/x86/include/asm/vdso.h`),
/// in its order: index `i` here is `vdso_symtable.symbols[i]` in the args.
pub const SYMBOL_NAMES: [&CStr; 7] = [
    c"__vdso_clock_gettime",
    c"__vdso_getcpu",
    c"__vdso_gettimeofday",
    c"__vdso_time",
    c"__kernel_sigreturn",
    c"__kernel_rt_sigreturn",
    c"__vdso_clock_gettime64",
];

/// One symbol offset per [`SYMBOL_NAMES`] entry; the type of `vdso_symtable.symbols`,
/// so a tree with another count fails to build.
pub type SymbolTable = [vdso_symbol; SYMBOL_NAMES.len()];

/// Whether the kernel gave the restorer a vDSO (CRIU's `vdso_is_present`).
pub fn is_present(rt: &vdso_maps) -> bool {
    rt.vdso_start != VDSO_BAD_ADDR
}

/// Whether a VMA has all the `status` bits `bits` (CRIU's `vma_entry_is`).
fn vma_is(vma: &VmaEntry, bits: u32) -> bool {
    vma.status & bits == bits
}

/// A compat (32-bit) task's vDSO: this restorer has no 32-bit vDSO handling (CRIU maps
/// it with ARCH_MAP_VDSO_32 and reads it as ELF32), so such a restore fails here.
fn refuse_compat() -> crate::error::Result {
    crate::bail!(
        "vdso: ",
        "compatible (32-bit) vDSO is not supported by the Rust restorer"
    );
}

#[cfg(test)]
pub(crate) mod testing;
