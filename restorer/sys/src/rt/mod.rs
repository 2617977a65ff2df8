//! What a freestanding blob needs from a runtime: mem builtins and a panic handler.

pub mod mem;
pub mod panic;
