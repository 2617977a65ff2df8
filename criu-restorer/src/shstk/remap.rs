//! CRIU 4.2's protocol ([`Protocol::Remap`]): the leader's VMA remap recreates each
//! shadow-stack VMA ([`recreate`]) and moves it into place like any premapped VMA, so at
//! the end each thread only writes its two tokens below its pointer and switches
//! ([`restore`]).

use criu_abi::raw::{rst_shstk_info, VmaEntry};
use pie_sys::mm;

use super::cpu::{finalize, map_anywhere, switch_ssp, wrss_enabled, Wrss};
use super::layout::{copy_into, tokens_below, Layout};
use super::protocol::Protocol;
use crate::bail;
use crate::error::Result;
use crate::log::Hex;
use crate::vmas::Vma;

/// CRIU 4.2's `shstk_vma_restore`, inside the VMA remap: make a shadow stack of the VMA's
/// size wherever the kernel finds room, write the premapped copy into it slot for slot,
/// unmap the copy. Returns the new shadow stack's address, which the remap then moves to
/// the VMA's place.
///
/// Unlike CRIU's, it first checks that this thread may write shadow stacks: CRIU would
/// die of #UD on `wrss` where the leader restored no shadow stack of its own.
pub fn recreate(v: &VmaEntry) -> Result<u64> {
    let (copy, size) = (v.premapped_at() as u64, v.size() as u64);
    if !wrss_enabled() {
        bail!(
            "Shadow stack VMA ",
            Hex(v.start),
            ": writes to shadow stacks are not enabled (the leader restores no shadow stack)"
        );
    }
    if !(copy | size).is_multiple_of(8) || size == 0 {
        bail!("Bad shadow stack copy at ", Hex(copy), " size ", Hex(size));
    }
    let new = map_anywhere(size)?;
    // SAFETY: CRIU premapped the VMA's contents at `copy` (8-aligned, checked), mapped
    // until the munmap below, after the last read.
    let data = unsafe { core::slice::from_raw_parts(copy as *const u64, (size / 8) as usize) };
    // SAFETY: wrss is enabled (checked above); the writes go to the fresh shadow stack at
    // `new`, `size` bytes, which no thread runs on.
    copy_into(new, data, &mut unsafe { Wrss::new() });
    let (at, len) = Protocol::Remap.copy_unmap(copy, size);
    // SAFETY: the copy is CRIU's premapped memory for this VMA, read in full above; the
    // page past it is the next premapped VMA's, which stays.
    if unsafe { mm::munmap(at as *mut u8, len as usize) }.is_err() {
        bail!("Failed to unmap premmaped shadow stack at ", Hex(at));
    }
    Ok(new)
}

/// The tokens below the dumped pointer on the thread's shadow stack (in place since the
/// remap), then the switch there and the lock.
///
/// Inlined into its caller, which (up to the entry point) must never return once it
/// switched.
#[inline(always)]
pub fn restore(s: &rst_shstk_info) -> Result {
    let Some(l) = Layout::of(s, Protocol::Remap) else {
        return super::bad_layout(s);
    };
    // SAFETY: wrss is enabled (the leader's switch to the restorer, inherited by its
    // threads); the two slots below the dumped pointer are in the VMA (checked) and hold
    // no live return address: the task's entries are above, this thread runs on another
    // shadow stack.
    let token = tokens_below(&l, &mut unsafe { Wrss::new() });
    // SAFETY: `tokens_below` left a restore token naming the sigreturn token's slot at
    // `token`; the caller's frames never return (see the module `shstk`).
    unsafe { switch_ssp(token) };
    finalize()
}
