//! Which functions start a stack, how big that stack is, and the margin kept free on it.
//!
//! Facts from CRIU 4.1.1 (`criu/include/restorer.h`, `criu/cr-restore.c`,
//! `compel/src/lib/infect.c`):
//! - `__export_restore_task` runs on the leader's `restore_mem_zone` stack, and each
//!   thread's `__export_restore_thread` on its own zone's (`RESTORE_STACK_SIZE`, 32 KiB;
//!   the first stack pointer is 16 bytes below its top). The zones are one anonymous
//!   mapping right above the blob's own copy, each `{ redzone[128]; stack[32 KiB];
//!   rt_sigframe[] }`, with no guard page: past a zone's stack and its 128-byte pad lies
//!   the previous thread's signal frame (the registers its sigreturn restores), and below
//!   the first zone the blob's code and data.
//! - `__export_unmap` runs by ptrace with the stack pointer the task stopped at in
//!   `rst_sigreturn`, near the top of the same zone stack.
//! - A parasite's head runs on compel's parasite stack (`PARASITE_STACK_SIZE`, 16 KiB);
//!   other `__export_*` functions are entered from it.
//!
//! The margin, taken off every stack:
//! - [`RED_ZONE`]: a leaf function may use 128 bytes below its stack pointer without
//!   moving it (System V red zone), invisible in its prologue;
//! - [`SIGNAL_FRAME`]: the restorer unblocks SIGCHLD and installs a handler (no
//!   alternate stack), so the kernel may push a signal frame on any of these stacks: it
//!   skips the red zone, then writes the XSAVE area (up to ~2.9 KiB with AVX-512, PKRU
//!   and APX; AMX tile data only for a process that asked for it with
//!   `ARCH_REQ_XCOMP_PERM`, which neither CRIU nor the restorer does), `rt_sigframe`
//!   (440 bytes) and up to 64 + 16 bytes of alignment: 4 KiB covers it;
//! - the deepest function that may run as a signal handler (any function whose address
//!   the code takes and that is not a thread's entry), with its own red zone. Handlers
//!   do not nest: a handler runs with its signal blocked, and the restorer keeps the
//!   others blocked.
//!
//! The kernel needs nothing else from a user stack: system calls run on the kernel's.

use rustc_demangle::try_demangle;

/// System V red zone below the stack pointer.
pub const RED_ZONE: u64 = 128;
/// What the kernel pushes to deliver one signal, red zone excluded (see above).
pub const SIGNAL_FRAME: u64 = 4096;

/// CRIU's `RESTORE_STACK_SIZE`.
pub const RESTORE_STACK_SIZE: u64 = 32 << 10;
/// compel's `PARASITE_STACK_SIZE`.
pub const PARASITE_STACK_SIZE: u64 = 16 << 10;

/// A stack a root runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// Bytes a root may use, from its first stack pointer down to where the stack ends.
    pub usable: u64,
    /// What the stack is and what lies below it, for messages.
    pub what: String,
}

/// How a root is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootName {
    /// A symbol, exactly.
    Symbol(String),
    /// A Rust function by its demangled path without the hash, e.g.
    /// `page_engine::parallel::worker_entry`.
    RustPath(String),
}

impl RootName {
    pub fn matches(&self, symbol: &[u8]) -> bool {
        match self {
            RootName::Symbol(s) => s.as_bytes() == symbol,
            RootName::RustPath(p) => std::str::from_utf8(symbol)
                .ok()
                .and_then(|s| try_demangle(s).ok())
                .is_some_and(|d| format!("{d:#}") == *p),
        }
    }
}

/// A function that starts a stack: the entry of a blob, or a thread's entry reached
/// through a function pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub name: RootName,
    pub stack: Stack,
}

impl Root {
    pub fn new(name: RootName, usable: u64, what: impl Into<String>) -> Self {
        Root {
            name,
            stack: Stack {
                usable,
                what: what.into(),
            },
        }
    }
}

fn zone_stack(what: &str) -> Stack {
    Stack {
        usable: RESTORE_STACK_SIZE - 16,
        what: format!(
            "{what}: a restore_mem_zone's stack, 32 KiB less the 16 bytes above the first stack pointer; \
             no guard page: below it lie the previous thread's signal frame or the blob itself"
        ),
    }
}

fn parasite_stack() -> Stack {
    Stack {
        usable: PARASITE_STACK_SIZE,
        what: "compel's parasite stack (PARASITE_STACK_SIZE, 16 KiB)".into(),
    }
}

/// The stack CRIU runs the export `name` on, for any `__export_*` symbol but the
/// `_compat` ones: those are 32-bit code (or traps), which the check does not decode.
pub fn criu_stack(name: &[u8]) -> Option<Stack> {
    if name.ends_with(b"_compat") {
        return None;
    }
    match name {
        b"__export_restore_task" => Some(zone_stack("the task's leader")),
        b"__export_restore_thread" => Some(zone_stack("each other thread")),
        b"__export_unmap" => Some(zone_stack("run by ptrace where a thread stopped")),
        _ if name.starts_with(b"__export_") => Some(parasite_stack()),
        _ => None,
    }
}

/// The margin kept free on every stack, given the deepest possible signal handler's own
/// use (`handler`: bytes below its entry stack pointer, its return address included).
pub fn margin(handler: u64) -> u64 {
    let handler = if handler == 0 {
        0
    } else {
        handler.saturating_add(RED_ZONE)
    };
    RED_ZONE.saturating_add(SIGNAL_FRAME).saturating_add(handler)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criu_entries_and_their_stacks() {
        assert_eq!(criu_stack(b"__export_restore_task").unwrap().usable, 32752);
        assert_eq!(criu_stack(b"__export_restore_thread").unwrap().usable, 32752);
        assert_eq!(criu_stack(b"__export_unmap").unwrap().usable, 32752);
        assert_eq!(criu_stack(b"__export_unmap_compat"), None);
        assert_eq!(criu_stack(b"__export_parasite_head_start").unwrap().usable, 16384);
        assert_eq!(criu_stack(b"__export_blob_getpid").unwrap().usable, 16384);
        assert_eq!(criu_stack(b"restore_task"), None);
        assert_eq!(margin(0), 128 + 4096);
        assert_eq!(margin(100), 128 + 4096 + 100 + 128);
    }

    #[test]
    fn roots_by_rust_path() {
        let r = RootName::RustPath("page_engine::parallel::worker_entry".into());
        assert!(r.matches(b"_ZN11page_engine8parallel12worker_entry17h6225bcd5f60ba619E"));
        assert!(!r.matches(b"_ZN11page_engine8parallel12worker_exit17h6225bcd5f60ba619E"));
        assert!(!r.matches(b"worker_entry"));
        assert!(!r.matches(b"\xff"));
        assert!(RootName::Symbol("f".into()).matches(b"f"));
    }
}
