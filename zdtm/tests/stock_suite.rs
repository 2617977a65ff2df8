//! zdtm's static suite with stock CRIU 4.1.1 from the fixture: every test, isolated, one
//! by one. The tests that pass go to target/zdtm/stock-4.1.1.pass (with the table and
//! JSON beside it); each test of the committed list tests/zdtm/stock-4.1.1.txt must
//! pass, and the hugetlb tests get their huge pages and give them back.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criu_src::CriuTree;
use zdtm::{hugepages, report, Binary, Config, Outcome};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn zdtm_static_suite_with_stock_criu_4_1_1() {
    let tree = CriuTree::fixture().unwrap_or_else(|e| panic!("{e}"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../zdtm");
    fs::create_dir_all(&out).unwrap();
    let before = hugepages::read().unwrap();
    let cfg = Config {
        static_dir: tree.zdtm_static(),
        binaries: vec![Binary {
            name: "stock".into(),
            path: tree.criu(),
        }],
        tests: None,
        dump_args: vec![],
        restore_args: vec![],
        step_timeout: Duration::from_secs(60),
        workdir: out.join("work-stock"),
        hugepages: 64,
        progress: true,
    };
    let rep = zdtm::run(&cfg).unwrap();
    assert_eq!(hugepages::read().unwrap(), before, "vm.nr_hugepages was not put back");

    let table = report::table(&rep);
    fs::write(out.join("stock-4.1.1.txt"), &table).unwrap();
    fs::write(
        out.join("stock-4.1.1.json"),
        serde_json::to_string_pretty(&report::json(&rep)).unwrap(),
    )
    .unwrap();
    let passed = rep.passed(0);
    fs::write(
        out.join("stock-4.1.1.pass"),
        passed.iter().map(|t| format!("{t}\n")).collect::<String>(),
    )
    .unwrap();
    let (p, f, s) = report::counts(&rep, 0);
    // Past the harness's capture: the figure belongs in CI's log.
    let _ = writeln!(
        std::io::stderr(),
        "zdtm static, stock CRIU 4.1.1: {p} passed, {f} failed, {s} skipped of {} ({:.0} s); list in {}",
        rep.results.len(),
        rep.secs,
        out.join("stock-4.1.1.pass").display()
    );

    let expected = zdtm::list::read_list(&fs::read_to_string(root().join("tests/zdtm/stock-4.1.1.txt")).unwrap());
    let mut missing = Vec::new();
    for name in &expected {
        match rep.results.iter().find(|r| &r.name == name) {
            Some(r) if r.outcomes[0].is_pass() => {}
            Some(r) => missing.push(format!("{name}: {}", report::progress_line(&rep.binaries, r))),
            None => missing.push(format!("{name}: not in the suite")),
        }
    }
    assert!(
        missing.is_empty(),
        "tests of tests/zdtm/stock-4.1.1.txt that did not pass:\n{}\n\n{table}",
        missing.join("\n")
    );
    for r in rep.results.iter().filter(|r| r.name.contains("hugetlb")) {
        assert!(
            !matches!(&r.outcomes[0], Outcome::Fail { .. }),
            "{}: {:?}",
            r.name,
            r.outcomes[0]
        );
    }
}
