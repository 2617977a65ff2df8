//! Running bindgen on `restorer.h` with the restorer's own flags.

use std::fs;
use std::path::Path;

/// What the bindings are generated from: CRIU's restorer ABI header, and the two headers
/// restorer.c adds that complete the TCP-socket and AIO-ring entries it points to.
pub const HEADER: &str = "#include \"restorer.h\"\n#include \"sk-inet.h\"\n#include \"aio.h\"\n";

/// The structures the restorer is handed, everything they reference, and the signal
/// frame CRIU builds in each thread's memory zone (the restorer sigreturns through it).
const TYPES: &str = "task_restore_args|thread_restore_args|restore_vma_io|rt_sigframe";

/// Macros the restorer needs besides the structures: VMA kinds and flags, the restore
/// stages, log levels, the comm length and the restorer's stack and argument sizes.
const VARS: &str = "VMA_.*|TASK_COMM_LEN|CR_STATE_.*|LOG_.*|RESTORE_.*";

pub fn bindings(root: &Path, cflags: &[String]) -> Result<bindgen::Bindings, String> {
    clang_sys::load().map_err(|e| {
        format!("libclang not found ({e}): install it (Debian: apt-get install libclang-dev) or set LIBCLANG_PATH")
    })?;
    let header = root.join("criu/include/restorer.h");
    bindgen::Builder::default()
        .header_contents("criu-abi.h", HEADER)
        .clang_args(cflags)
        .use_core()
        // bindgen's own layout tests would only compare the bindings with themselves.
        .layout_tests(false)
        .allowlist_type(TYPES)
        .allowlist_var(VARS)
        .derive_default(true)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .map_err(|e| {
            format!(
                "bindgen failed on {} with flags {}: {e}",
                header.display(),
                cflags.join(" ")
            )
        })
}

pub fn write(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// Rust source recording where the bindings came from.
pub fn build_info(root: &Path, cflags: &[String]) -> String {
    let flags: String = cflags.iter().map(|f| format!("    {f:?},\n")).collect();
    format!(
        "/// The CRIU tree the bindings were generated from.\n\
         pub const TREE: &str = {:?};\n\
         /// The restorer's preprocessor flags in that tree (include paths absolute).\n\
         pub const CFLAGS: &[&str] = &[\n{flags}];\n\
         /// The header bindgen read, in the tree's include paths.\n\
         pub const HEADER: &str = {HEADER:?};\n",
        root.display().to_string()
    )
}
