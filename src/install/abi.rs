//! The restorer's ABI guard, as `install` reports it.
//!
//! `criu-restorer`'s build refuses a tree whose bindings hold a field or `VMA_*` constant
//! its list (`criu-restorer/src/abi_known.rs`) does not account for, with one cargo
//! error line each, all starting with [`MARKER`]. `install` picks those lines out of the
//! nested cargo's output so that the user reads the refusal, not a build log.

/// What each of the guard's lines starts with (`MARKER` in
/// `criu-restorer/build/abi_guard.rs`; tests/install.rs checks they agree).
pub const MARKER: &str = "criu-restorer ABI guard:";

/// The guard's lines in a failed build's output, without cargo's prefix and the marker;
/// `None` when the build failed for another reason.
pub fn refusal(build_output: &str) -> Option<Vec<String>> {
    let lines: Vec<String> = build_output
        .lines()
        .filter_map(|l| {
            let rest = l.split_once(MARKER)?.1;
            Some(rest.strip_prefix(' ').unwrap_or(rest).trim_end().to_string())
        })
        .collect();
    (!lines.is_empty()).then_some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guards_lines_are_picked_out_of_cargos_output() {
        let out = "cargo rustc -p criu-restorer failed (exit status: 101):\n\
                   \x20  Compiling criu-abi v0.1.0\n\
                   error: criu-restorer@0.1.0: criu-restorer ABI guard: CRIU tree /t passes its restorer a field or constant the Rust restorer does not know:\n\
                   error: criu-restorer@0.1.0: criu-restorer ABI guard:   VMA_AREA_LZ4\n\
                   error: build script logged errors\n";
        assert_eq!(
            refusal(out).unwrap(),
            [
                "CRIU tree /t passes its restorer a field or constant the Rust restorer does not know:",
                "  VMA_AREA_LZ4"
            ]
        );
        assert_eq!(refusal("error[E0308]: mismatched types\n"), None);
    }
}
