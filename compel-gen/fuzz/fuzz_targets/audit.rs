//! The audit and both of its renderings.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = compel_gen::audit::audit(data) {
        let _ = report.to_string();
        let _ = report.to_json();
    }
});
