//! Fresh destination memory, the page cache and the process's memory figures.

use std::fs;

use pie_mapping::Mapping;

/// Fresh destination memory: a private anonymous mapping, unmapped on drop (so each
/// round starts from untouched memory, as a restored task's VMAs do).
pub fn region(len: usize) -> Mapping {
    Mapping::anon(len).expect("mmap destination")
}

/// Drop clean page-cache pages (root only). Returns whether it worked.
pub fn drop_caches() -> bool {
    // Dirty pages cannot be dropped: write them back first.
    pie_sys::fs::sync();
    fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// `Cached:` of /proc/meminfo, in bytes.
pub fn page_cache_bytes() -> u64 {
    meminfo_field("/proc/meminfo", "Cached:")
}

/// Reset the peak RSS counter of this process (clear_refs 5).
pub fn reset_peak_rss() -> bool {
    fs::write("/proc/self/clear_refs", "5\n").is_ok()
}

/// Peak RSS of this process since the last reset, in bytes.
pub fn peak_rss_bytes() -> u64 {
    meminfo_field("/proc/self/status", "VmHWM:")
}

fn meminfo_field(path: &str, key: &str) -> u64 {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
