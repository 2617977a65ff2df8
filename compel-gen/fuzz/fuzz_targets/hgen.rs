//! Header generation.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = compel_gen::hgen::generate(data, "fuzz.built-in.o", "fuzz");
});
