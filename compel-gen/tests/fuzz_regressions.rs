//! Replays every file under tests/fuzz-regressions/ (hand-made malformed objects and any
//! crash input the fuzzers found) through the parser, the audit and hgen: each must end
//! in a one-line error, never a panic.

use std::path::Path;

#[test]
fn every_regression_input_is_refused_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz-regressions exists") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let _ = compel_gen::elf::Elf::parse(&data);
        let audit = compel_gen::audit::audit(&data);
        let hgen = compel_gen::hgen::generate(&data, "fuzz.o", "fuzz");
        // These are all malformed or unsupported: hgen must refuse them.
        let e = hgen.expect_err(&format!("{name}: hgen accepted a malformed object"));
        let msg = e.to_string();
        assert!(
            !msg.is_empty() && !msg.contains('\n'),
            "{name}: error is not one line: {msg:?}"
        );
        if let Ok(report) = audit {
            assert!(!report.is_clean(), "{name}: audit found nothing wrong");
        }
        n += 1;
    }
    assert!(n >= 10, "only {n} regression inputs");
}
