//! compel-gen: audit relocatable objects meant to become CRIU PIE blobs, and emit the
//! C header `compel hgen` would emit for them (byte for byte, on x86-64).
//!
//! - [`elf`]: a validated view of an x86-64 ELF64 relocatable object;
//! - [`hgen`]: the compel header ([`hgen::generate`], [`hgen::default_prefix`]);
//! - [`audit`]: every problem in one report ([`audit::audit`]), the stack check
//!   ([`stack`]) among them.
//!
//! Nothing here touches the file system; the `compel-gen` binary does.

pub mod audit;
pub mod elf;
mod error;
pub mod hgen;
mod hints;
pub mod layout;
mod locate;
mod prefix;
pub mod relocs;
mod report;
mod resolve;
mod rules;
pub mod stack;

pub use error::{Error, ErrorKind};
