//! Building a PIE blob object from a `no_std` crate of this workspace.
//!
//! Three steps, each its own function, shared by the root build script (the blob it ships)
//! and `criu-pie install` (the restorer it builds against a user's CRIU tree):
//! [`compile`] the crate as one fat-LTO'd PIE object with a nested cargo, [`link`] it with
//! `ld -r` and a linker script as CRIU links its blobs, and [`audit_clean`] /
//! [`audit_and_header`] it with compel-gen, whose stack check also gets the roots only
//! this workspace's code knows of ([`stacks`]). Errors are messages, ready to print.

mod audit;
mod compile;
mod link;
mod run;
pub mod stacks;

pub use audit::{audit_and_header, audit_clean};
pub use compile::{compile, TARGET};
pub use link::link;
