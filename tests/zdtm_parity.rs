//! zdtm's static suite with CRIU 4.1.1's stock restorer and with the Rust restorer,
//! alternating from one test to the next in one run (the binaries differ only by
//! `restorer.built-in.o`). Each test of tests/zdtm/stock-4.1.1.txt must pass with stock,
//! each of tests/zdtm/rust-restorer.txt with ours; the pass lists, the table and the
//! JSON go to target/zdtm/. The hugetlb tests get their huge pages and give them back.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zdtm::{hugepages, report, Binary, Config, Outcome, Report};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The tests of the committed list `list` that did not pass with binary `b`.
fn missing(rep: &Report, b: usize, list: &str) -> Vec<String> {
    let expected = zdtm::list::read_list(&fs::read_to_string(root().join(list)).unwrap());
    let mut out = Vec::new();
    for name in &expected {
        match rep.results.iter().find(|r| &r.name == name) {
            Some(r) if r.outcomes[b].is_pass() => {}
            Some(r) => out.push(format!("{name}: {}", report::progress_line(&rep.binaries, r))),
            None => out.push(format!("{name}: not in the suite")),
        }
    }
    out
}

#[test]
fn zdtm_static_suite_stock_and_rust_restorer_side_by_side() {
    let t = criu_pie::testbed::trees().unwrap_or_else(|e| panic!("{e}"));
    let out: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../zdtm");
    fs::create_dir_all(&out).unwrap();
    let before = hugepages::read().unwrap();
    let cfg = Config {
        static_dir: t.fixture.zdtm_static(),
        binaries: vec![
            Binary {
                name: "stock".into(),
                path: t.stock(),
            },
            Binary {
                name: "rust".into(),
                path: t.ours(),
            },
        ],
        tests: None,
        dump_args: vec![],
        restore_args: vec![],
        step_timeout: Duration::from_secs(60),
        workdir: out.join("work"),
        hugepages: 64,
        progress: true,
    };
    let rep = zdtm::run(&cfg).unwrap();
    assert_eq!(hugepages::read().unwrap(), before, "vm.nr_hugepages was not put back");

    let table = report::table(&rep);
    fs::write(out.join("parity-4.1.1.txt"), &table).unwrap();
    fs::write(
        out.join("parity-4.1.1.json"),
        serde_json::to_string_pretty(&report::json(&rep)).unwrap(),
    )
    .unwrap();
    for (b, file) in [(0, "stock-4.1.1.pass"), (1, "rust-restorer.pass")] {
        let passed: String = rep.passed(b).iter().map(|t| format!("{t}\n")).collect();
        fs::write(out.join(file), passed).unwrap();
        let (p, f, s) = report::counts(&rep, b);
        // Past the harness's capture: the figures belong in CI's log.
        let _ = writeln!(
            std::io::stderr(),
            "zdtm static, CRIU 4.1.1 with the {} restorer: {p} passed, {f} failed, {s} skipped of {}; list in {}",
            rep.binaries[b].name,
            rep.results.len(),
            out.join(file).display()
        );
    }
    let _ = writeln!(std::io::stderr(), "zdtm static, both restorers: {:.0} s", rep.secs);

    let stock = missing(&rep, 0, "tests/zdtm/stock-4.1.1.txt");
    let ours = missing(&rep, 1, "tests/zdtm/rust-restorer.txt");
    assert!(
        stock.is_empty() && ours.is_empty(),
        "tests of tests/zdtm/stock-4.1.1.txt that did not pass with stock:\n{}\n\n\
         tests of tests/zdtm/rust-restorer.txt that did not pass with the Rust restorer:\n{}\n\n{table}",
        stock.join("\n"),
        ours.join("\n")
    );
    for r in rep.results.iter().filter(|r| r.name.contains("hugetlb")) {
        for o in &r.outcomes {
            assert!(!matches!(o, Outcome::Fail { .. }), "{}: {o:?}", r.name);
        }
    }
}
