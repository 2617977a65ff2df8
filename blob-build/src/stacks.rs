//! The stack check's roots that this workspace's blobs add to CRIU's entry points: the
//! engine's worker entries, which start threads on stacks the engine maps, and the
//! engine's C entry point where CRIU's own restorer calls it (the drop-in object).

use compel_gen::stack::{Root, RootName, RESTORE_STACK_SIZE};

/// `page_engine::thread::STACK_SIZE`: a worker's mapped stack.
pub const WORKER_STACK_SIZE: u64 = 128 << 10;
/// The guard page at its foot (`PROT_NONE`): not usable, an overflow faults there.
pub const WORKER_GUARD: u64 = 4 << 10;

/// The engine's thread entries (`page_engine::thread::spawn`'s `entry`).
const WORKER_ENTRIES: [&str; 2] = ["page_engine::parallel::worker_entry", "page_engine::uring::job_entry"];

/// The roots to add to CRIU's for a blob built from this workspace.
pub fn roots() -> Vec<Root> {
    let mut roots: Vec<Root> = WORKER_ENTRIES
        .iter()
        .map(|p| {
            Root::new(
                RootName::RustPath((*p).into()),
                WORKER_STACK_SIZE - WORKER_GUARD,
                "an engine worker's mapped stack, 128 KiB less its guard page",
            )
        })
        .collect();
    // CRIU's C restorer calls the drop-in engine from its own `__export_restore_task`,
    // on the same 32 KiB zone stack: half of it is left to the C code around the call.
    roots.push(Root::new(
        RootName::Symbol("pie_restore_vma_ios".into()),
        RESTORE_STACK_SIZE / 2,
        "half of CRIU's 32 KiB zone stack, called from CRIU's own restorer",
    ));
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's own figures, read from its source, so the two cannot drift apart.
    #[test]
    fn worker_stack_is_the_engines() {
        let src =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../restorer/engine/src/thread.rs")).unwrap();
        assert!(
            src.contains("pub const STACK_SIZE: usize = 128 * 1024;"),
            "thread.rs changed its STACK_SIZE"
        );
        assert!(
            src.contains("mm::mprotect(stack.base, PAGE_SIZE, mm::ProtFlags::NONE)"),
            "thread.rs changed its guard page"
        );
        for p in WORKER_ENTRIES {
            let f = p.rsplit("::").next().unwrap();
            let module = p.split("::").nth(1).unwrap();
            let m = std::fs::read_to_string(format!(
                "{}/../restorer/engine/src/{module}.rs",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            assert!(m.contains(&format!("extern \"C\" fn {f}(")), "{p} is gone");
        }
        assert_eq!(roots().len(), 3);
    }
}
