//! The restorer blob this crate's build script produces, and the job that hands it out.
//!
//! `build.rs` compiles the `page-engine` crate's standalone blob into `restorer.built-in.o`, audits it and
//! generates `restorer-blob.h`; this crate exposes their paths and writes them, with the
//! audit report, into a directory of the user's choice. [`install`] builds a restorer
//! against a user's CRIU tree and drops it into that tree's build.

pub mod artifacts;
pub mod compact;
pub mod install;
pub mod quickstart;
pub mod testbed;
pub mod timings;

/// `restorer.built-in.o`: the linked, audited blob object (in the build's `OUT_DIR`).
pub const BLOB_OBJECT: &str = env!("CRIU_PIE_BLOB_OBJECT");
/// `restorer-blob.h`: the blob's compel header, as `compel hgen` would write it.
pub const BLOB_HEADER: &str = env!("CRIU_PIE_BLOB_HEADER");
/// `pie-restore.o`: the page-restore engine alone, to link into CRIU's own restorer
/// (`restorer-obj-e` in `criu/pie/Makefile`); declared by `include/pie_restore.h`.
pub const ENGINE_OBJECT: &str = env!("CRIU_PIE_ENGINE_OBJECT");
/// The audit report of the blob (text).
pub const BLOB_AUDIT: &str = env!("CRIU_PIE_BLOB_AUDIT");
/// The header's symbol prefix, the one CRIU uses for its restorer.
pub const BLOB_PREFIX: &str = "restorer";
