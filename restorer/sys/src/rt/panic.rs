//! The blob's panic handler: no formatting, no unwinding, just end the task.

/// Exit code of a task whose restorer code panicked (distinct from CRIU's own codes).
pub const PANIC_EXIT_CODE: usize = 0x7e;

#[cfg(feature = "panic-exit")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    // Touching `_info` would pull core's formatting machinery into the blob.
    crate::process::exit_group(PANIC_EXIT_CODE as i32)
}
