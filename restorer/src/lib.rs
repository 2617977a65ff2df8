//! Restorer code for CRIU blobs: `#![no_std]`, no libc, position independent.
//!
//! Host builds (tests) use std; the blob build enables the `blob` feature, which adds the
//! mem builtins, the panic handler and the exported entry points.
#![cfg_attr(not(test), no_std)]

// The `std` feature (host tools such as the benches) lends std's fds to the wrappers.
#[cfg(all(feature = "std", not(test)))]
extern crate std;

pub mod engine;
pub mod sys;

#[cfg(feature = "blob")]
pub mod rt;

#[cfg(feature = "standalone")]
pub mod export;
