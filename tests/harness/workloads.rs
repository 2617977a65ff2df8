//! The test workloads of tests/harness/*.c: compiling them, and checking the memory of
//! a process running one (every byte). Included by path from the tests of several
//! crates.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The pattern's seed in every workload.
pub const SEED: u64 = 0x5eed;
pub const PAGE: u64 = 4096;
pub const MIB: u64 = 1 << 20;

/// tests/harness of the workspace: the including crate's manifest directory is the root
/// or one below it.
fn harness_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("tests/harness"))
        .find(|d| d.join("pattern_workload.c").is_file())
        .expect("tests/harness/pattern_workload.c above the crate")
}

/// Compile tests/harness/NAME.c into `dir`.
pub fn compile(name: &str, dir: &Path) -> PathBuf {
    try_compile(name, dir).unwrap_or_else(|e| panic!("{e}"))
}

/// [`compile`], its failure as a value.
pub fn try_compile(name: &str, dir: &Path) -> Result<PathBuf, String> {
    let exe = dir.join(name);
    let src = harness_dir().join(format!("{name}.c"));
    let cc = cc::Build::new()
        .opt_level(2)
        // Not a build script: no `cargo:` lines on stdout (a benchmark prints its table there).
        .cargo_metadata(false)
        .target("x86_64-unknown-linux-gnu")
        .host("x86_64-unknown-linux-gnu")
        .try_get_compiler()
        .map_err(|e| format!("no C compiler: {e}"))?;
    let st = cc
        .to_command()
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .arg("-lpthread")
        .status()
        .map_err(|e| format!("compile {}: {e}", src.display()))?;
    if !st.success() {
        return Err(format!("compile {}: {st}", src.display()));
    }
    Ok(exe)
}

/// Every page of pattern_workload's three VMAs: the pattern where it wrote, zeros elsewhere.
pub fn verify_pattern_workload(pid: i32, base: u64) {
    check_pattern_workload(pid, base).unwrap_or_else(|e| panic!("{e}"))
}

/// [`verify_pattern_workload`], the first difference as a value.
pub fn check_pattern_workload(pid: i32, base: u64) -> Result<(), String> {
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).map_err(|e| format!("/proc/{pid}/mem: {e}"))?;
    let zero = vec![0u8; PAGE as usize];
    let check = |start: u64, pages: u64, written: &dyn Fn(u64) -> bool, what: &str| -> Result<(), String> {
        let mut buf = vec![0u8; (pages * PAGE) as usize];
        std::os::unix::fs::FileExt::read_exact_at(&mem, &mut buf, start)
            .map_err(|e| format!("{what}: read {start:#x} of {pid}: {e}"))?;
        for i in 0..pages {
            let page = &buf[(i * PAGE) as usize..((i + 1) * PAGE) as usize];
            let addr = start + i * PAGE;
            if written(i) {
                if let Some(bad) = criu_image::synth::check_pattern(SEED, addr, page) {
                    return Err(format!("{what}: page {i} ({addr:#x}) differs at byte {bad:?}"));
                }
            } else if page != zero.as_slice() {
                return Err(format!("{what}: hole page {i} ({addr:#x}) is not zero"));
            }
        }
        Ok(())
    };
    check(base, 96 * MIB / PAGE, &|i| i % 16 != 15, "VMA A")?;
    check(base + 96 * MIB, 16 * MIB / PAGE, &|i| i % 2 == 0, "VMA B")?;
    check(
        base + 112 * MIB,
        4 * MIB / PAGE,
        &|i| i < 2 * MIB / PAGE,
        "VMA C (file)",
    )
}

/// Every word of `len` bytes at `start` in process `pid` is the pattern.
pub fn verify_pattern(pid: i32, start: u64, len: u64, what: &str) {
    if let Err(e) = check_pattern_range(pid, start, len) {
        panic!("{what}: {e}");
    }
}

/// Whether every word of `len` bytes at `start` in process `pid` is the pattern: the
/// first difference (or unreadable range) as an error. Read in 4 MiB pieces, each
/// checked on all cores.
pub fn check_pattern_range(pid: i32, start: u64, len: u64) -> Result<(), String> {
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).map_err(|e| format!("/proc/{pid}/mem: {e}"))?;
    let mut buf = vec![0u8; (4 * MIB) as usize];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(buf.len() as u64) as usize;
        let addr = start + at;
        std::os::unix::fs::FileExt::read_exact_at(&mem, &mut buf[..n], addr)
            .map_err(|e| format!("read {n} bytes at {addr:#x} of {pid}: {e}"))?;
        if let Some(i) = criu_image::synth::check_pattern_parallel(SEED, addr, &buf[..n]) {
            let bad = addr + i as u64;
            let page = bad & !(PAGE - 1);
            return Err(format!("page at {page:#x} differs at byte {}", bad - page));
        }
        at += n as u64;
    }
    Ok(())
}

/// A `0x...` word of a workload's ready line.
pub fn hex(word: &str) -> u64 {
    u64::from_str_radix(word.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{word}: {e}"))
}
