//! CRIU 4.0-4.1.1's protocol ([`Protocol::Late`]): the VMA remap skipped the shadow
//! stacks, so at the end each thread makes its own anew at `vma_start`, fills it from the
//! premapped copy and unmaps the copy with the spare page CRIU premapped past it.

use criu_abi::raw::rst_shstk_info;
use pie_sys::mm;

use super::cpu::{finalize, map_at, switch_ssp, Wrss};
use super::layout::{fill, Layout};
use super::protocol::Protocol;
use crate::bail;
use crate::error::Result;
use crate::log::Hex;

/// Map the thread's shadow-stack VMA, move onto it, write the dumped entries and the two
/// tokens, move to the dumped pointer, unmap the copy and the spare page, lock.
///
/// Inlined into its caller, which (up to the entry point) must never return once the
/// VMA is mapped.
#[inline(always)]
pub fn restore(s: &rst_shstk_info) -> Result {
    // CRIU trusts its own layout; a bad one would fault in the loop below.
    let Some(l) = Layout::of(s, Protocol::Late) else {
        return super::bad_layout(s);
    };
    map_at(l.start, l.size())?;
    // SAFETY: the fresh VMA has its restore token in the top slot; the caller's frames
    // never return (see the module `shstk`).
    unsafe { switch_ssp(l.top - 8) };
    // SAFETY: CRIU premapped the VMA's contents at `copy`, 8-aligned (checked), mapped
    // until the munmap below, after the last read.
    let copy = unsafe { core::slice::from_raw_parts(l.copy as *const u64, (l.size() / 8) as usize) };
    // SAFETY: the switch to the restorer enabled wrss for the leader, whose threads
    // inherit it; `fill` writes only inside the fresh VMA, top down, from the frame that
    // switched there (so above no live return address).
    let token = fill(&l, copy, &mut unsafe { Wrss::new() });
    // SAFETY: `fill` left a restore token naming the sigreturn token's slot at `token`.
    unsafe { switch_ssp(token) };
    let (at, len) = Protocol::Late.copy_unmap(l.copy, l.size());
    // SAFETY: the copy and the spare page are CRIU's premapped memory for this shadow
    // stack, no longer read (the temporary shadow stack there is left behind).
    if unsafe { mm::munmap(at as *mut u8, len as usize) }.is_err() {
        bail!("Failed to unmap premmaped shadow stack at ", Hex(at));
    }
    finalize()
}
